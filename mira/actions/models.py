from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from mira.extensions import db
from mira.types import (
    JSONType,
    UTCDateTime,
    created_at_column,
    updated_at_column,
    uuid_pk,
)

ACTION_TYPES = ("remind", "schedule", "contact", "task")
# `due`: the scheduled time arrived and the network was told (set by mira.actions.reminders only).
ACTION_STATUSES = ("pending", "confirmed", "due", "dismissed", "completed")
SETTABLE_STATUSES = ("pending", "confirmed", "dismissed", "completed")


class Action(db.Model):
    __tablename__ = "actions"
    __table_args__ = (
        Index("ix_actions_network_status", "network_id", "status", "created_at"),
        Index("ix_actions_due", "fired_at", "scheduled_time"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE")
    )
    action_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    scheduled_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the scheduled time was announced (once); null until then.
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    interaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
