"""Events: a per-network feed that clients follow with a cursor (long-poll)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from mira.events.models import Event
from mira.extensions import db
from mira.realtime import outbox
from mira.types import utcnow

EVENT_TYPES = (
    "interaction.created",
    "interaction.updated",
    "interaction.deleted",
    "interaction.wake_candidate",
    "conversation.updated",
    "conversation.deleted",
    "person.created",
    "person.updated",
    "person.deleted",
    "action.created",
    "action.updated",
    "job.updated",
    "service.status",
    "memory.created",
    "memory.updated",
    "memory.deleted",
)


def record(network_id: uuid.UUID, type_: str, data: dict[str, Any]) -> Event:
    """Stage an event in the current transaction, so it commits with the change it reports;
    once it has, the realtime outbox pushes it to the network's sockets."""
    if type_ not in EVENT_TYPES:  # the documented enum (GET /events) is the whole list
        raise ValueError(f"Unknown event type {type_!r}: add it to EVENT_TYPES")
    event = Event(network_id=network_id, type=type_, data=data, created_at=utcnow())
    db.session.add(event)
    outbox.stage(db.session, event)
    return event


def newer_than(network_id: uuid.UUID, cursor: int, limit: int) -> list[Event]:
    """The network's events after `cursor`, oldest first."""
    return list(
        db.session.scalars(
            db.select(Event)
            .where(Event.network_id == network_id, Event.id > cursor)
            .order_by(Event.id)
            .limit(limit)
        )
    )


def events_after(
    network_id: uuid.UUID,
    cursor: int | None,
    wait_s: float,
    poll_s: float,
    limit: int = 100,
) -> tuple[list[Event], int]:
    """Events newer than `cursor`, waiting up to `wait_s` for one to appear.

    Without a cursor the caller gets the most recent events (oldest of them first) and the
    cursor to continue from, so a fresh client neither replays the whole feed nor waits.
    """
    if cursor is None:
        recent = list(
            db.session.scalars(
                db.select(Event)
                .where(Event.network_id == network_id)
                .order_by(Event.id.desc())
                .limit(limit)
            )
        )
        recent.reverse()
        return recent, (recent[-1].id if recent else 0)
    deadline = time.monotonic() + wait_s
    while True:
        events = newer_than(network_id, cursor, limit)
        if events:
            return events, events[-1].id
        if time.monotonic() >= deadline:
            return [], cursor
        # End the read transaction so the next poll sees rows committed meanwhile.
        db.session.rollback()
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
