from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from mira.extensions import db
from mira.types import JSONType, UTCDateTime, created_at_column, utcnow, uuid_pk


class Client(db.Model):
    """A microphone app registered to a network; also carries its stream-quality state."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("network_id", "client_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Realtime: the last time a socket confirmed it holds this client (null: never held by one),
    # and when its last socket closed (null while held). See mira/clients/services.py.
    socket_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stream_score: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    location: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    rssi: Mapped[float | None] = mapped_column(Float)
    stream_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_column()
