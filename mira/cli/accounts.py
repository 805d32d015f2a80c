"""`flask mira …`: accounts, passwords and invitations."""

from __future__ import annotations

import click

from mira.cli.common import echo as _echo
from mira.cli.common import fail as _fail
from mira.cli.common import mira_cli
from mira.cli.common import parse_uuid as _parse_uuid
from mira.cli.common import user_by_email as _user_by_email
from mira.errors import MiraError


@mira_cli.command("create-user")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user(email: str, password: str) -> None:
    """Create a user (and their personal network)."""
    from mira.auth import services

    if len(password) < 8:
        raise click.BadParameter("password must be at least 8 characters")
    try:
        user = services.create_user(email, password)
    except MiraError as exc:
        _fail(exc)
    _echo({"id": user.id, "email": user.email, "default_network_id": user.default_network_id})


@mira_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(email: str, password: str) -> None:
    """Set a user's password (a reset); their sessions end."""
    from mira.auth import services

    user = _user_by_email(email)
    try:
        services.set_password(user, password)
    except MiraError as exc:
        _fail(exc)
    _echo({"id": user.id, "email": user.email, "password_set": True})


@mira_cli.command("users")
def users() -> None:
    """Every account, one JSON line each (no password hashes)."""
    from mira.auth import services

    for row in services.list_users(limit=100_000):
        _echo(row)


@mira_cli.command("invite")
@click.argument("network_id")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "member"]), default="member")
def invite(network_id: str, email: str, role: str) -> None:
    """Invite someone without an account to a network; prints the token to hand over."""
    from mira.networks import invitations

    try:
        _echo(invitations.invite(None, _parse_uuid(network_id), email, role))
    except MiraError as exc:
        _fail(exc)
