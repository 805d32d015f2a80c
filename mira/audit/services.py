"""Writing and reading the audit log.

`record` stages a row in the caller's transaction, so the entry is committed together with
the change it describes, or not at all.
"""

from __future__ import annotations

import uuid
from typing import Any

import click
from flask import g, has_request_context

from mira.audit.models import AuditEntry
from mira.extensions import db
from mira.queries import page

ACTIONS = (
    "voice_sample.uploaded",
    "voice_sample.added",
    "voice_sample.removed",
    "voice_sample.moved",
    "person.deleted",
    "persons.merged",
    "member.added",
    "member.removed",
    "invitation.created",
    "invitation.revoked",
    "device_key.created",
    "device_key.revoked",
    "network.deleted",
    "network.exported",
    "network.imported",
    "data.purged",
)

Actor = tuple[str, uuid.UUID | None, str | None]


def current_actor() -> Actor:
    """(kind, id, label) of whoever acts: the request's caller, a CLI command, or the system."""
    if has_request_context():
        scope = g.get("scope")
        if scope is not None and scope.device_key is not None:
            return "device", scope.device_key.id, scope.device_key.name
        user = scope.user if scope is not None else g.get("user")
        if user is not None:
            return "user", user.id, user.email
    if click.get_current_context(silent=True) is not None:
        return "cli", None, None
    return "system", None, None


def _as_actor(actor: Any) -> Actor:
    if actor is None:
        return current_actor()
    if isinstance(actor, str):
        return actor, None, None
    if isinstance(actor, tuple):
        return actor
    email = getattr(actor, "email", None)
    if email is not None:  # a User
        return "user", actor.id, email
    return "system", None, str(actor)


def record(
    network_id: uuid.UUID | str | None,
    actor: Any,
    action: str,
    target: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Stage an audit entry (the caller commits).

    `actor` may be None (whoever is acting now), a User, a kind such as "cli" or "system", or a
    `(kind, id, label)` tuple.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}")
    kind, actor_id, label = _as_actor(actor)
    entry = AuditEntry(
        network_id=uuid.UUID(str(network_id)) if network_id is not None else None,
        actor_kind=kind,
        actor_id=actor_id,
        actor_label=label,
        action=action,
        target=str(target) if target is not None else None,
        details=_jsonable(details or {}),
    )
    db.session.add(entry)
    return entry


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def list_entries(network_id: uuid.UUID, limit: int, offset: int, action: str | None = None):
    query = db.select(AuditEntry).where(AuditEntry.network_id == network_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return page(query.order_by(AuditEntry.created_at.desc(), AuditEntry.id), limit, offset)
