"""Actions: commitments Mira noticed (reminders, events, messages, tasks)."""

from __future__ import annotations

import uuid
from typing import Any

from mira.actions.models import Action
from mira.errors import not_found
from mira.events import services as events
from mira.extensions import db
from mira.types import utcnow


def get(network_id: uuid.UUID, action_id: uuid.UUID) -> Action:
    action = db.session.scalar(
        db.select(Action).where(Action.network_id == network_id, Action.id == action_id)
    )
    if action is None:
        raise not_found("Action")
    return action


def event_data(action: Action) -> dict[str, Any]:
    from mira.actions.schemas import ActionSchema

    return ActionSchema().dump(action)


def list_actions(network_id: uuid.UUID, limit: int, offset: int, **filters):
    query = db.select(Action).where(Action.network_id == network_id)
    if filters.get("status"):
        query = query.where(Action.status == filters["status"])
    if filters.get("action_type"):
        query = query.where(Action.action_type == filters["action_type"])
    total = db.session.scalar(query.with_only_columns(db.func.count()).order_by(None))
    rows = db.session.scalars(
        query.order_by(Action.created_at.desc(), Action.id).limit(limit).offset(offset)
    ).all()
    return rows, total


def set_status(network_id: uuid.UUID, action_id: uuid.UUID, status: str) -> Action:
    action = get(network_id, action_id)
    action.status = status
    action.completed_time = utcnow() if status == "completed" else None
    db.session.flush()
    events.record(network_id, "action.updated", event_data(action))
    db.session.commit()
    return action
