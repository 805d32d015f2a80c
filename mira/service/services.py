"""Clients (microphones) of a network and the network's listening switch."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from mira import __version__
from mira.errors import MiraError
from mira.events import services as events
from mira.extensions import db
from mira.jobs.models import Job
from mira.networks.models import Network
from mira.service.models import Client
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


def get_client(network_id: uuid.UUID, client_id: str) -> Client:
    client = find_client(network_id, client_id)
    if client is None:
        raise MiraError(404, f"Client '{client_id}' is not registered", "CLIENT_NOT_REGISTERED")
    return client


def register_client(
    network_id: uuid.UUID, client_id: str, metadata: dict[str, Any], ip: str | None
) -> dict[str, Any]:
    """Register or refresh a client (idempotent: re-registering updates it)."""
    now = utcnow()
    client = find_client(network_id, client_id)
    if client is None:
        client = Client(
            network_id=network_id,
            client_id=client_id,
            ip=ip,
            meta=metadata,
            connected_at=now,
            last_seen=now,
        )
        db.session.add(client)
        message = f"Client '{client_id}' registered"
    else:
        client.ip = ip
        client.meta = {**(client.meta or {}), **metadata}
        client.last_seen = now
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


def create_client(
    network_id: uuid.UUID, client_id: str | None, metadata: dict[str, Any], ip: str | None
) -> dict[str, Any]:
    client_id = client_id or _next_client_id(network_id)
    if find_client(network_id, client_id) is not None:
        raise MiraError(409, f"Client id '{client_id}' is already in use", "CLIENT_EXISTS")
    now = utcnow()
    client = Client(
        network_id=network_id,
        client_id=client_id,
        ip=ip,
        meta=metadata,
        connected_at=now,
        last_seen=now,
    )
    db.session.add(client)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise MiraError(409, f"Client id '{client_id}' is already in use", "CLIENT_EXISTS") from exc
    return client_dict(client, _best_client_id(network_id))


def list_clients(network_id: uuid.UUID, limit: int, offset: int):
    query = db.select(Client).where(Client.network_id == network_id)
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Client.connected_at.desc(), Client.client_id).limit(limit).offset(offset)
    ).all()
    best = _best_client_id(network_id)
    return [client_dict(c, best) for c in rows], total


def rename_client(network_id: uuid.UUID, client_id: str, new_id: str) -> dict[str, Any]:
    client = get_client(network_id, client_id)
    if new_id != client_id and find_client(network_id, new_id) is not None:
        raise MiraError(409, f"Client id '{new_id}' is already in use", "CLIENT_EXISTS")
    client.client_id = new_id
    db.session.commit()
    return client_dict(client, _best_client_id(network_id))


def delete_client(network_id: uuid.UUID, client_id: str) -> None:
    db.session.execute(
        db.delete(Client).where(Client.network_id == network_id, Client.client_id == client_id)
    )
    db.session.commit()


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
