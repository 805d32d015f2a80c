"""The `flask mira` group and what its commands share: JSON output, errors, look-ups."""

from __future__ import annotations

import json
import uuid

import click
from flask.cli import AppGroup

from mira.errors import MiraError

mira_cli = AppGroup("mira", help="Mira administration.")


def echo(data) -> None:
    click.echo(json.dumps(data, default=str))


def fail(exc: MiraError) -> None:
    raise click.ClickException(exc.detail)


def user_by_email(email: str):
    from mira.auth.services import find_user

    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No user with email {email}")
    return user


def parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a UUID: {value}") from exc


def network(network_id: str):
    """The network with this id, or the command fails naming it."""
    from mira.networks.services import get_network

    try:
        return get_network(parse_uuid(network_id))
    except MiraError as exc:
        raise click.ClickException(f"No network {network_id}") from exc
