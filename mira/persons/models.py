from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from mira.extensions import db
from mira.types import UTCDateTime, created_at_column, updated_at_column, uuid_pk


class Person(db.Model):
    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("network_id", "index"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(128))
    # Shown by clients as "Person N" while the name is unknown.
    index: Mapped[int] = mapped_column(Integer)
    # Profile: float32[256] bytes, an aggregate of the voice samples.
    voice_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    voice_sample_count: Mapped[int] = mapped_column(Integer, default=0)
    last_heard_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    @property
    def is_enrolled(self) -> bool:
        return self.voice_sample_count > 0


class VoiceSample(db.Model):
    __tablename__ = "voice_samples"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    # "enrolled" (uploaded to enrol the person) or "learned" (a confidently identified
    # utterance); learned samples keep their interaction so a correction can move them.
    source: Mapped[str] = mapped_column(String(16), default="enrolled", server_default="enrolled")
    interaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    audio_key: Mapped[str | None] = mapped_column(String(512))
    description: Mapped[str | None] = mapped_column(Text)
    expected_text: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    speech_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = created_at_column()
