from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from mira.extensions import db
from mira.types import (
    JSONType,
    UTCDateTime,
    created_at_column,
    updated_at_column,
    utcnow,
    uuid_pk,
)

INTERACTION_TYPES = ("audio", "text", "system", "command")


class Interaction(db.Model):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_network_timestamp", "network_id", "timestamp"),
        Index("ix_interactions_network_person", "network_id", "person_id", "timestamp"),
        Index("ix_interactions_network_conversation", "network_id", "conversation_id", "timestamp"),
        # One job makes each speaker turn once, however often it runs.
        UniqueConstraint("job_id", "turn_index"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE")
    )
    text: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    # Deleting a conversation deletes its interactions (API.md).
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    client_id: Mapped[str | None] = mapped_column(String(128))
    interaction_type: Mapped[str] = mapped_column(String(16), default="text")
    duration_s: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[float | None] = mapped_column(Float)
    audio_quality: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    audio_key: Mapped[str | None] = mapped_column(String(512))
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    turn_index: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Offsets of this turn inside the uploaded audio (seconds).
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
