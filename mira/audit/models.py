from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from mira.extensions import db
from mira.types import JSONType, created_at_column, uuid_pk

ACTOR_KINDS = ("user", "device", "cli", "system")


class AuditEntry(db.Model):
    """Who did what to whom, for admin and biometric actions.

    `network_id` is deliberately no foreign key: the record of a deleted network (or of a
    purge) must outlive the rows it speaks of.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_network_created", "network_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The actor as people know it when it acted (an email, a device key's name).
    actor_label: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column()
