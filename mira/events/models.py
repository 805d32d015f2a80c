from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from mira.extensions import db
from mira.types import JSONType, created_at_column

# An ever-growing integer is the cursor clients follow, so events are the one table not keyed by
# UUID. SQLite only auto-increments INTEGER primary keys.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_network_id_seq", "network_id", "id"),)

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column()
