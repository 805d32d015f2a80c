from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mira.extensions import db
from mira.persons.models import Person
from mira.types import (
    UTCDateTime,
    created_at_column,
    updated_at_column,
    utcnow,
    uuid_pk,
)

conversation_participants = Table(
    "conversation_participants",
    db.metadata,
    Column(
        "conversation_id",
        Uuid,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("person_id", Uuid, ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_conversation_participants_person_id", "person_id"),
)


class Conversation(db.Model):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_network_started", "network_id", "started_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE")
    )
    title: Mapped[str | None] = mapped_column(String(256))
    topic_summary: Mapped[str | None] = mapped_column(Text)
    context_summary: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    participants: Mapped[list[Person]] = relationship(
        secondary=conversation_participants, lazy="selectin"
    )
