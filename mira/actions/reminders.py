"""Reminders that fire: when an action's scheduled time arrives, the network is told once.

`fire_due` is run by whatever keeps time in the deployment (mira/background.py: the worker's
loop in server mode, a thread of the embedded server; a scheduled event on Lambda). Each due
action is claimed by one conditional UPDATE, committed together with its `action.updated`
event: however many processes look, and after any restart, it fires exactly once. Actions whose
time passed while Mira was down fire at the next look, marked `late`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from mira.actions.models import Action
from mira.actions.services import OPEN_STATUSES, event_data
from mira.events import services as events
from mira.extensions import db
from mira.types import utcnow

log = logging.getLogger("mira.reminders")


def fire_due(now: datetime | None = None, limit: int = 200) -> list[uuid.UUID]:
    """Announce every open action whose time has come; returns the ids fired by this call."""
    now = now or utcnow()
    due = db.session.scalars(
        db.select(Action.id)
        .where(
            Action.fired_at.is_(None),
            Action.scheduled_time <= now,
            Action.status.in_(OPEN_STATUSES),
        )
        .order_by(Action.scheduled_time)
        .limit(limit)
    ).all()
    db.session.rollback()
    fired = []
    for action_id in due:
        claimed = db.session.execute(
            db.update(Action)
            .where(
                Action.id == action_id,
                Action.fired_at.is_(None),
                Action.status.in_(OPEN_STATUSES),
            )
            .values(fired_at=now, status="due")
        ).rowcount
        if claimed != 1:  # another process fired it, or a user closed it meanwhile
            db.session.rollback()
            continue
        action = db.session.get(Action, action_id, populate_existing=True)
        events.record(action.network_id, "action.updated", event_data(action))
        db.session.commit()
        lateness = (now - action.scheduled_time).total_seconds()
        log.info("action %s is due (%.0f s after its time)", action_id, lateness)
        fired.append(action_id)
    return fired
