"""Jobs: the durable record of background work (the queue only carries ids)."""

from __future__ import annotations

import uuid
from typing import Any

from mira import queue
from mira.errors import MiraError, not_found
from mira.events import services as events
from mira.extensions import db
from mira.jobs.models import Job
from mira.types import utcnow


def get(network_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = db.session.scalar(db.select(Job).where(Job.network_id == network_id, Job.id == job_id))
    if job is None:
        raise not_found("Job")
    return job


def event_data(job: Job) -> dict[str, Any]:
    from mira.jobs.schemas import JobSchema

    return JobSchema().dump(job)


def list_jobs(network_id: uuid.UUID, limit: int, offset: int, **filters):
    query = db.select(Job).where(Job.network_id == network_id)
    if filters.get("status"):
        query = query.where(Job.status == filters["status"])
    if filters.get("kind"):
        query = query.where(Job.kind == filters["kind"])
    total = db.session.scalar(query.with_only_columns(db.func.count()).order_by(None))
    rows = db.session.scalars(
        query.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset)
    ).all()
    return rows, total


def accepted(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "status": job.status,
        "status_url": f"/api/v1/{job.network_id}/jobs/{job.id}",
    }


def create(network_id: uuid.UUID, kind: str, payload: dict[str, Any], client_id=None) -> Job:
    """Commit the job row, then dispatch it: the database record exists before any message."""
    job = Job(
        network_id=network_id,
        kind=kind,
        payload=payload,
        client_id=client_id,
        status="queued",
        progress=0.0,
        attempts=0,
        timings={},
    )
    db.session.add(job)
    db.session.flush()
    events.record(network_id, "job.updated", event_data(job))
    db.session.commit()
    queue.dispatch(job.id)
    return job


def retry(network_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = get(network_id, job_id)
    if job.status != "failed":
        raise MiraError(
            409, f"Only failed jobs can be retried (this one is {job.status})", "JOB_NOT_RETRYABLE"
        )
    job.status = "queued"
    job.error = None
    job.attempts = 0
    job.stage = None
    job.progress = 0.0
    job.started_at = None
    job.finished_at = None
    events.record(network_id, "job.updated", event_data(job))
    db.session.commit()
    queue.dispatch(job.id)
    return job


# Used by the runner ---------------------------------------------------------------------------


def claim(job_id: str) -> Job | None:
    """Mark a queued job running, unless it already finished or another worker holds it."""
    now = utcnow()
    claimed = db.session.execute(
        db.update(Job)
        .where(Job.id == uuid.UUID(job_id), Job.status == "queued")
        .values(status="running", started_at=now, heartbeat_at=now, attempts=Job.attempts + 1)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return None
    job = db.session.get(Job, uuid.UUID(job_id))
    events.record(job.network_id, "job.updated", event_data(job))
    db.session.commit()
    return job


def fail(job: Job, error: str, retry: bool = True) -> None:
    job.status = "failed"
    job.error = error[:2000]
    job.finished_at = utcnow()
    events.record(job.network_id, "job.updated", event_data(job))
    db.session.commit()


def succeed(job: Job, result: dict[str, Any] | None) -> None:
    job.status = "succeeded"
    job.stage = "done"
    job.progress = 1.0
    job.result = result or {}
    job.finished_at = utcnow()
    events.record(job.network_id, "job.updated", event_data(job))
    db.session.commit()
