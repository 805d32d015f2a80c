"""Clients (microphones) of a network and the network's listening switch."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from mira import __version__
from mira.clients.models import Client
from mira.errors import Conflict, MiraError, NotFound
from mira.events import services as events
from mira.extensions import db
from mira.jobs.models import Job
from mira.networks.models import Network
from mira.queries import page
from mira.types import utcnow


def _best_client_id(network_id: uuid.UUID) -> str | None:
    return db.session.scalar(
        db.select(Client.client_id)
        .where(Client.network_id == network_id, Client.stream_score.is_not(None))
        .order_by(Client.stream_score.desc(), Client.client_id)
        .limit(1)
    )


def client_dict(client: Client, best: str | None) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "ip": client.ip,
        "connected_at": client.connected_at,
        "last_seen": client.last_seen,
        "meta": client.meta or {},
        "stream": {"score": client.stream_score, "is_best": client.client_id == best},
    }


def find_client(network_id: uuid.UUID, client_id: str) -> Client | None:
    return db.session.scalar(
        db.select(Client).where(Client.network_id == network_id, Client.client_id == client_id)
    )


def latest_at_address(network_id: uuid.UUID, ip: str | None) -> str | None:
    """The id of the network's client last registered (or seen) from this address, if any."""
    return db.session.scalar(
        db.select(Client.client_id)
        .where(Client.network_id == network_id, Client.ip == ip)
        .order_by(Client.last_seen.desc(), Client.client_id)
        .limit(1)
    )


def get_client(network_id: uuid.UUID, client_id: str) -> Client:
    client = find_client(network_id, client_id)
    if client is None:
        raise NotFound(f"Client '{client_id}' is not registered", "CLIENT_NOT_REGISTERED")
    return client


def _settings() -> dict[str, float]:
    from flask import current_app

    cfg = current_app.config
    return {
        "ttl": cfg["MIRA_CLIENT_TTL_S"],
        "grace": cfg["MIRA_CLIENT_GRACE_S"],
        "lease": cfg["MIRA_SOCKET_LEASE_S"],
    }


def is_released(client: Client, now: datetime, lease_s: float) -> bool:
    """No socket holds a socket-era client: its last one closed, or none confirmed it within the
    lease (the process that held it died without closing)."""
    if client.released_at is not None:
        return True
    return client.socket_seen_at is not None and client.socket_seen_at < now - timedelta(
        seconds=lease_s
    )


def is_expired(client: Client, now: datetime) -> bool:
    """Gone for good: a socket client released for longer than the grace period, or a client
    registered over REST only and unseen for MIRA_CLIENT_TTL_S (0: never)."""
    cfg = _settings()
    if client.socket_seen_at is not None or client.released_at is not None:
        if not is_released(client, now, cfg["lease"]):
            return False
        released = client.released_at or client.socket_seen_at + timedelta(seconds=cfg["lease"])
        return released < now - timedelta(seconds=cfg["grace"])
    return bool(cfg["ttl"]) and client.last_seen < now - timedelta(seconds=cfg["ttl"])


def holds_its_name(client: Client, now: datetime) -> bool:
    """Another registration under this id is a conflict (409) only while this one is live."""
    return not is_expired(client, now) and not is_released(client, now, _settings()["lease"])


def _new_client(
    network_id: uuid.UUID, client_id: str, metadata: dict[str, Any], ip: str | None, now: datetime
) -> Client:
    client = Client(
        network_id=network_id,
        client_id=client_id,
        ip=ip,
        meta=metadata,
        connected_at=now,
        last_seen=now,
    )
    db.session.add(client)
    return client


def _refresh(client: Client, metadata: dict[str, Any], ip: str | None, now: datetime) -> None:
    """Registered again over REST: the app is back, whatever socket state it had."""
    client.ip = ip
    client.meta = {**(client.meta or {}), **metadata}
    client.last_seen = now
    client.socket_seen_at = None
    client.released_at = None


def register_client(
    network_id: uuid.UUID, client_id: str, metadata: dict[str, Any], ip: str | None
) -> dict[str, Any]:
    """Register or refresh a client (idempotent: re-registering updates it)."""
    now = utcnow()
    client = find_client(network_id, client_id)
    if client is None:
        client = _new_client(network_id, client_id, metadata, ip, now)
        message = f"Client '{client_id}' registered"
    else:
        _refresh(client, metadata, ip, now)
        message = f"Client '{client_id}' updated"
    try:
        db.session.commit()
    except IntegrityError:  # registered concurrently by the same client
        db.session.rollback()
        return register_client(network_id, client_id, metadata, ip)
    return {"message": message, "client": client_dict(client, _best_client_id(network_id))}


def deregister_client(network_id: uuid.UUID, client_id: str) -> dict[str, str]:
    client = get_client(network_id, client_id)
    db.session.delete(client)
    db.session.commit()
    return {"message": f"Client '{client_id}' deregistered"}


def _next_client_id(network_id: uuid.UUID) -> str:
    taken = set(
        db.session.scalars(db.select(Client.client_id).where(Client.network_id == network_id))
    )
    n = 1
    while f"client{n}" in taken:
        n += 1
    return f"client{n}"


def _conflict(client_id: str) -> MiraError:
    return Conflict(f"Client id '{client_id}' is already in use", "CLIENT_EXISTS")


def create_client(
    network_id: uuid.UUID, client_id: str | None, metadata: dict[str, Any], ip: str | None
) -> dict[str, Any]:
    """Add a client; 409 while another live app holds the id. A released or expired client of
    that id (an app that signed out, whose socket closed) is taken over."""
    client_id = client_id or _next_client_id(network_id)
    now = utcnow()
    client = find_client(network_id, client_id)
    if client is not None:
        if holds_its_name(client, now):
            raise _conflict(client_id)
        _refresh(client, metadata, ip, now)
        client.connected_at = now
    else:
        client = _new_client(network_id, client_id, metadata, ip, now)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise _conflict(client_id) from exc
    return client_dict(client, _best_client_id(network_id))


def list_clients(network_id: uuid.UUID, limit: int, offset: int):
    query = db.select(Client).where(Client.network_id == network_id)
    rows, total = page(query.order_by(Client.connected_at.desc(), Client.client_id), limit, offset)
    best = _best_client_id(network_id)
    return [client_dict(c, best) for c in rows], total


def client_ids_in_use(network_id: uuid.UUID) -> list[str]:
    """The apps' name check: ids another app could not take now (expired ones left out)."""
    now = utcnow()
    rows = db.session.scalars(
        db.select(Client).where(Client.network_id == network_id).order_by(Client.client_id)
    )
    return [c.client_id for c in rows if not is_expired(c, now)]


def rename_client(network_id: uuid.UUID, client_id: str, new_id: str) -> dict[str, Any]:
    client = get_client(network_id, client_id)
    if new_id != client_id:
        taken = find_client(network_id, new_id)
        if taken is not None:
            if holds_its_name(taken, utcnow()):
                raise _conflict(new_id)
            db.session.delete(taken)
            db.session.flush()
    client.client_id = new_id
    # The app that renamed itself drops its socket and keeps uploading under the new id
    # (the Mira apps do): the renamed client is held by REST registration from now on.
    client.socket_seen_at = None
    client.released_at = None
    client.last_seen = utcnow()
    db.session.commit()
    return client_dict(client, _best_client_id(network_id))


def delete_client(network_id: uuid.UUID, client_id: str) -> None:
    db.session.execute(
        db.delete(Client).where(Client.network_id == network_id, Client.client_id == client_id)
    )
    db.session.commit()


# Realtime sockets -----------------------------------------------------------------------------


def attach_socket(network_id: uuid.UUID, client_id: str, ip: str | None) -> Client:
    """A socket opened for this client: register it (the dadei apps register only this way) or
    take it back within its grace period."""
    now = utcnow()
    client = find_client(network_id, client_id)
    if client is None:
        client = _new_client(network_id, client_id, {"registered_by": "socket"}, ip, now)
    client.ip = ip
    client.last_seen = now
    client.socket_seen_at = now
    client.released_at = None
    try:
        db.session.commit()
    except IntegrityError:  # two sockets of one client opened at once
        db.session.rollback()
        return attach_socket(network_id, client_id, ip)
    return client


def release_socket(client_pk: uuid.UUID) -> None:
    """The client's last socket closed: its name is free at once, and the client goes after the
    grace period unless a socket comes back. By row, not by name: an app that renamed its
    client and then dropped the socket (the Mira apps do) releases the renamed one."""
    db.session.execute(db.update(Client).where(Client.id == client_pk).values(released_at=utcnow()))
    db.session.commit()


def confirm_sockets(held: list[uuid.UUID]) -> None:
    """One statement: these clients (rows) are still held by open sockets."""
    now = utcnow()
    db.session.execute(
        db.update(Client)
        .where(Client.id.in_(held))
        .values(socket_seen_at=now, last_seen=now, released_at=None)
    )
    db.session.commit()


def expire_clients() -> int:
    """Delete clients that are gone for good (see `is_expired`); returns how many."""
    now = utcnow()
    cfg = _settings()
    maybe_gone = [
        Client.released_at.is_not(None),
        Client.socket_seen_at < now - timedelta(seconds=cfg["lease"]),
    ]
    if cfg["ttl"]:
        maybe_gone.append(Client.last_seen < now - timedelta(seconds=cfg["ttl"]))
    candidates = db.session.scalars(db.select(Client).where(db.or_(*maybe_gone))).all()
    expired = [c for c in candidates if is_expired(c, now)]
    for client in expired:
        db.session.delete(client)
    db.session.commit()
    return len(expired)


def queue_counts(network_id: uuid.UUID) -> dict[str, int]:
    rows = db.session.execute(
        db.select(Job.status, db.func.count())
        .where(Job.network_id == network_id, Job.status.in_(("queued", "running", "failed")))
        .group_by(Job.status)
    ).all()
    counts = {"queued": 0, "running": 0, "failed": 0}
    counts.update(dict(rows))
    return counts


def service_info(network: Network) -> dict[str, Any]:
    clients = db.session.scalars(
        db.select(Client).where(Client.network_id == network.id).order_by(Client.client_id)
    ).all()
    return {
        "network_id": network.id,
        "name": network.name,
        "service_enabled": network.service_enabled,
        "connected_clients": {
            c.client_id: {
                "ip": c.ip,
                "connected_at": c.connected_at,
                "last_seen": c.last_seen,
                "metadata": c.meta or {},
            }
            for c in clients
        },
        "queue": queue_counts(network.id),
        "version": __version__,
    }


def set_enabled(network: Network, enabled: bool) -> dict[str, Any]:
    network.service_enabled = enabled
    events.record(network.id, "service.status", {"service_enabled": enabled})
    db.session.commit()
    word = "enabled" if enabled else "disabled"
    return {"message": f"Service {word}", "service_enabled": enabled}
