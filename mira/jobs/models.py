from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from mira.extensions import db
from mira.types import JSONType, UTCDateTime, created_at_column, uuid_pk

JOB_KINDS = ("analyze", "enroll", "inference", "voice")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "superseded")
JOB_STAGES = (
    "decode",
    "quality",
    "denoise",
    "vad",
    "speaker",
    "transcribe",
    "conversation",
    "assistant",
    "done",
)


class Job(db.Model):
    """The source of truth for background work; the queue only carries its id."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_network_created", "network_id", "created_at"),
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_network_dedup", "network_id", "dedup_start_ms"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    stage: Mapped[str | None] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    client_id: Mapped[str | None] = mapped_column(String(128))
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # When the utterance was heard (epoch ms): capture times, or the arrival ± half the
    # dedup window. Uploads of one network whose intervals overlap are the same utterance.
    dedup_start_ms: Mapped[int | None] = mapped_column(BigInteger)
    dedup_end_ms: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[float | None] = mapped_column(Float)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKey(db.Model):
    """An upload's `Idempotency-Key`, committed with the job it made.

    The unique constraint (network, scope, key) is what makes retries safe: two requests that
    race with one key both try to insert, the database lets one commit and the other gets an
    IntegrityError and answers with the first one's job. `scope` names the caller within the
    network (`upload:{client_id}`, `voice:{person_id}`), `digest` the body's SHA-256 so a key
    reused for different audio is refused rather than answered with someone else's job.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("network_id", "scope", "key", name="uq_idempotency_keys_scope_key"),
        Index("ix_idempotency_keys_created", "created_at"),
        Index("ix_idempotency_keys_job", "job_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(String(160))
    key: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("jobs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at_column()
