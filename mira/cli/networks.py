"""`flask mira …`: networks, their members and device keys."""

from __future__ import annotations

import click

from mira.cli.common import echo as _echo
from mira.cli.common import fail as _fail
from mira.cli.common import mira_cli
from mira.cli.common import network as _network
from mira.cli.common import user_by_email as _user_by_email
from mira.errors import MiraError


@mira_cli.command("create-network")
@click.argument("name")
@click.option("--owner", "owner_email", help="Email of the user who will own it.")
def create_network(name: str, owner_email: str | None) -> None:
    """Create a network, optionally owned by an existing user."""
    from mira.networks import services

    owner = _user_by_email(owner_email) if owner_email else None
    network = services.create_network(owner, name)
    _echo({"id": network.id, "name": network.name, "owner": owner_email})


@mira_cli.command("add-member")
@click.argument("network_id")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "member"]), default="member")
def add_member(network_id: str, email: str, role: str) -> None:
    """Add an existing user to a network (or change their role)."""
    from mira.networks import services

    nid = _network(network_id).id
    try:
        member = services.put_member(nid, _user_by_email(email), role, "cli")
    except MiraError as exc:
        _fail(exc)
    _echo({"network_id": nid, **{k: member[k] for k in ("user_id", "email", "role")}})


@mira_cli.command("create-device-key")
@click.argument("network_id")
@click.option("--name", default="device", show_default=True)
def create_device_key(network_id: str, name: str) -> None:
    """Create a device key for a network; the key is printed once."""
    from mira.auth import services

    nid = _network(network_id).id
    created = services.create_device_key(nid, name, None)
    _echo({"id": created["id"], "name": created["name"], "key": created["key"], "network_id": nid})


@mira_cli.command("list-networks")
def list_networks() -> None:
    """Every network with its owners and member count, one JSON object per line."""
    from mira.networks import services

    for row in services.overview():
        _echo(row)
