"""Health checks: liveness touches nothing; readiness checks each dependency."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from mira import __version__, queue
from mira.extensions import db


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def root() -> dict[str, Any]:
    return {
        "service": "mira",
        "status": "ok",
        "version": __version__,
        "api": ["/api/v1", "/api/v2"],
        "docs": "/docs",
    }


def liveness() -> dict[str, Any]:
    return {"status": "healthy", "timestamp": _now()}


def _timed(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"ok": True, **(check() or {})}
    except Exception as exc:  # a failing dependency is reported, never raised
        db.session.rollback()
        result = {"ok": False, "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _database() -> dict[str, Any]:
    db.session.execute(db.text("SELECT 1"))
    return {"backend": db.engine.dialect.name}


def _storage() -> dict[str, Any]:
    url = current_app.config["MIRA_STORAGE_URL"]
    if url.startswith("s3://"):
        return {"backend": "s3"}
    os.makedirs(url, exist_ok=True)
    if not os.access(url, os.W_OK):
        raise PermissionError(url)
    return {"backend": "local"}


def detailed() -> dict[str, Any]:
    checks = {
        "database": _timed(_database),
        "queue": _timed(queue.health),
        "storage": _timed(_storage),
    }
    healthy = all(c["ok"] for c in checks.values())
    return {
        "status": "healthy" if healthy else "degraded",
        "checks": checks,
        "version": __version__,
        "uptime_s": round(time.time() - current_app.config["MIRA_STARTED_AT"], 1),
    }
