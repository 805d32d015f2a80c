from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from mira.extensions import db
from mira.types import JSONType, UTCDateTime, created_at_column, updated_at_column, uuid_pk

MEMORY_TYPES = ("plan", "commitment", "fact", "preference")
# proposed → confirmed | dismissed; → expired when its time has passed; → superseded when a later
# statement changes it; cancelled by a person.
MEMORY_STATUSES = ("proposed", "confirmed", "dismissed", "expired", "superseded", "cancelled")
OPEN_STATUSES = ("proposed", "confirmed")
SETTABLE_STATUSES = ("proposed", "confirmed", "dismissed", "cancelled")


class Memory(db.Model):
    """Something Mira keeps from what it heard: a plan, a commitment, a fact, a preference."""

    __tablename__ = "memories"
    __table_args__ = (
        Index("ix_memories_network_created", "network_id", "created_at"),
        Index("ix_memories_expiry", "status", "expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE")
    )
    source_conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    source_interaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    memory_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    canonical_text: Mapped[str] = mapped_column(Text)
    action_kind: Mapped[str | None] = mapped_column(String(16))
    participant_person_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    proposed_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confidence: Mapped[float] = mapped_column(Float, default=0.8)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    transition_history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("memories.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
