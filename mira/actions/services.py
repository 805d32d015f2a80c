"""Actions: commitments Mira noticed (reminders, events, messages, tasks)."""

from __future__ import annotations

import uuid
from typing import Any

from mira.actions.models import Action
from mira.events import services as events
from mira.extensions import db
from mira.queries import in_network, page
from mira.types import utcnow


def get(network_id: uuid.UUID, action_id: uuid.UUID) -> Action:
    return in_network(Action, network_id, action_id, "Action")


def event_data(action: Action) -> dict[str, Any]:
    from mira.actions.schemas import ActionSchema

    return ActionSchema().dump(action)


def list_actions(network_id: uuid.UUID, limit: int, offset: int, **filters):
    query = db.select(Action).where(Action.network_id == network_id)
    if filters.get("status"):
        query = query.where(Action.status == filters["status"])
    if filters.get("action_type"):
        query = query.where(Action.action_type == filters["action_type"])
    return page(query.order_by(Action.created_at.desc(), Action.id), limit, offset)


def set_status(network_id: uuid.UUID, action_id: uuid.UUID, status: str) -> Action:
    action = get(network_id, action_id)
    action.status = status
    action.completed_time = utcnow() if status == "completed" else None
    db.session.flush()
    events.record(network_id, "action.updated", event_data(action))
    db.session.commit()
    return action


OPEN_STATUSES = ("pending", "confirmed")
SAME_TIME_S = 60


def _subject(action_type: str, details: dict[str, Any]) -> str:
    """What the action is about, normalised for duplicate checks."""
    key = {"remind": "description", "task": "description", "schedule": "name", "contact": "name"}
    text = str(details.get(key.get(action_type, "description")) or "")
    if action_type == "contact":
        text += f"|{details.get('method') or ''}"
    return " ".join(text.lower().split())


def is_duplicate(network_id: uuid.UUID, candidate) -> bool:
    """An open action of the same type, about the same thing, at the same time (±1 min)."""
    subject = _subject(candidate.action_type, candidate.details)
    rows = db.session.scalars(
        db.select(Action).where(
            Action.network_id == network_id,
            Action.action_type == candidate.action_type,
            Action.status.in_(OPEN_STATUSES),
        )
    ).all()
    for action in rows:
        if _subject(action.action_type, action.details or {}) != subject:
            continue
        if action.scheduled_time is None and candidate.scheduled_time is None:
            return True
        if action.scheduled_time is not None and candidate.scheduled_time is not None:
            delta = abs((action.scheduled_time - candidate.scheduled_time).total_seconds())
            if delta <= SAME_TIME_S:
                return True
    return False


def create_extracted(interaction, extracted) -> list[Action]:
    """Store the new commitments found in `interaction` (duplicates of open ones skipped) and
    record their events; the caller commits."""
    created = []
    for candidate in extracted:
        if is_duplicate(interaction.network_id, candidate):
            continue
        action = Action(
            id=uuid.uuid4(),
            network_id=interaction.network_id,
            action_type=candidate.action_type,
            status="pending",
            details=candidate.details,
            scheduled_time=candidate.scheduled_time,
            person_id=interaction.person_id,
            interaction_id=interaction.id,
            conversation_id=interaction.conversation_id,
        )
        db.session.add(action)
        db.session.flush()
        events.record(interaction.network_id, "action.created", event_data(action))
        created.append(action)
    return created
