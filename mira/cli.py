"""`flask mira …`: admin chores. Each command prints JSON a script can parse."""

from __future__ import annotations

import json
import uuid

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from mira.errors import MiraError

mira_cli = AppGroup("mira", help="Mira administration.")


def _echo(data) -> None:
    click.echo(json.dumps(data, default=str))


def _fail(exc: MiraError) -> None:
    raise click.ClickException(exc.detail)


def _user_by_email(email: str):
    from mira.auth.models import User
    from mira.extensions import db

    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}")
    return user


def _network_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a UUID: {value}") from exc


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
    """Add an existing user to a network."""
    from mira.extensions import db
    from mira.networks.models import Membership, Network

    nid = _network_id(network_id)
    if db.session.get(Network, nid) is None:
        raise click.ClickException(f"No network {network_id}")
    user = _user_by_email(email)
    existing = db.session.get(Membership, (nid, user.id))
    if existing is not None:
        existing.role = role
    else:
        db.session.add(Membership(network_id=nid, user_id=user.id, role=role))
    if user.default_network_id is None:
        user.default_network_id = nid
    db.session.commit()
    _echo({"network_id": nid, "user_id": user.id, "email": user.email, "role": role})


@mira_cli.command("create-device-key")
@click.argument("network_id")
@click.option("--name", default="device", show_default=True)
def create_device_key(network_id: str, name: str) -> None:
    """Create a device key for a network; the key is printed once."""
    from mira.auth import services
    from mira.extensions import db
    from mira.networks.models import Network

    nid = _network_id(network_id)
    if db.session.get(Network, nid) is None:
        raise click.ClickException(f"No network {network_id}")
    created = services.create_device_key(nid, name, None)
    _echo({"id": created["id"], "name": created["name"], "key": created["key"], "network_id": nid})


@mira_cli.command("list-networks")
def list_networks() -> None:
    """Every network with its owners and member count, one JSON object per line."""
    from mira.auth.models import User
    from mira.extensions import db
    from mira.networks.models import Membership, Network

    networks = db.session.scalars(db.select(Network).order_by(Network.created_at)).all()
    for network in networks:
        members = db.session.execute(
            db.select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.network_id == network.id)
        ).all()
        _echo(
            {
                "id": network.id,
                "name": network.name,
                "service_enabled": network.service_enabled,
                "owners": sorted(email for email, role in members if role == "owner"),
                "members": len(members),
            }
        )


@mira_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker for Mira's queue (needs REDIS_URL)."""
    from rq import Worker

    from mira import queue

    if current_app.config["MIRA_QUEUE"] != "rq":
        raise click.ClickException("The worker needs REDIS_URL (MIRA_QUEUE=rq).")
    Worker([queue.rq_queue()], connection=queue.redis_connection()).work(burst=burst)


def register_cli(app: Flask) -> None:
    app.cli.add_command(mira_cli)
