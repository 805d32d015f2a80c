"""Jobs: the durable record of background work (the queue only carries ids)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy import inspect as sa_inspect

from mira import metrics, queue
from mira.errors import Conflict, not_found
from mira.events import services as events
from mira.extensions import db
from mira.jobs.models import Job
from mira.queries import in_network, page
from mira.types import utcnow

log = logging.getLogger("mira.jobs")


def get(network_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    return in_network(Job, network_id, job_id, "Job")


def recent(status: str | None, limit: int) -> list[Job]:
    """Jobs of every network, newest first (the admin's list)."""
    query = db.select(Job).order_by(Job.created_at.desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    return list(db.session.scalars(query))


def get_any(job_id: uuid.UUID) -> Job:
    """A job of any network, for admin commands (requests use `get`, scoped to a network)."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise not_found("Job")
    return job


def event_data(job: Job) -> dict[str, Any]:
    return _job_schema().dump(job)


@cache
def _job_schema():
    """One instance for every event (a schema is ~0.1 ms to build; dumping keeps no state)."""
    from mira.jobs.schemas import JobSchema

    return JobSchema()


def list_jobs(network_id: uuid.UUID, limit: int, offset: int, **filters):
    query = db.select(Job).where(Job.network_id == network_id)
    if filters.get("status"):
        query = query.where(Job.status == filters["status"])
    if filters.get("kind"):
        query = query.where(Job.kind == filters["kind"])
    return page(query.order_by(Job.created_at.desc(), Job.id), limit, offset)


def accepted(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "status": job.status,
        "status_url": f"/api/v1/{job.network_id}/jobs/{job.id}",
    }


def create(
    network_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    client_id: str | None = None,
    job_id: uuid.UUID | None = None,
    dedup: tuple[int, int] | None = None,
    dispatch: bool = True,
    also: tuple[Any, ...] = (),
) -> Job:
    """Commit the job row, then dispatch it: the database record exists before any message.
    Without `dispatch` the caller runs it (a voice command on Lambda, answered in its request);
    the sweeper would send it if it stayed queued. `also` are rows that commit with the job
    or not at all (an upload's idempotency key)."""
    values = {
        "id": job_id or uuid.uuid4(),
        "dedup_start_ms": dedup[0] if dedup else None,
        "dedup_end_ms": dedup[1] if dedup else None,
        "network_id": network_id,
        "kind": kind,
        "payload": payload,
        "client_id": client_id,
        "status": "queued",
        "progress": 0.0,
        "attempts": 0,
        "timings": {},
        "created_at": utcnow(),
    }
    # Plain INSERTs on the session's connection: every upload makes a job, and the ORM's unit of
    # work (add, flush, expire on commit) cost ~1.5 ms of CPU more per upload than the rows do.
    connection = db.session.connection()
    connection.execute(_insert(Job.__table__), values)
    for row in also:  # the rows naming the job, after it
        table = row.__table__
        connection.execute(
            _insert(table),
            {c.key: getattr(row, c.key) for c in table.columns if getattr(row, c.key) is not None},
        )
    job = Job(**values)  # what the row holds, for the answer: no round trip, no session
    events.record_before_commit(network_id, "job.updated", event_data(job))
    db.session.commit()
    if dispatch:
        _dispatch_or_leave_for_sweeper(job)
    return job


@cache
def _insert(table):
    """One INSERT statement per table, built once (building one costs as much as running it)."""
    return insert(table)


def dispatch(job: Job) -> None:
    """Send a committed job to the queue (the sweeper sends it if the queue is away)."""
    _dispatch_or_leave_for_sweeper(job)


def dispatch_soon(job: Job) -> None:
    """As `dispatch`, from the queue's sender thread a moment later (`queue.dispatch_soon`):
    the request that made the job answers without waiting for the queue."""
    _dispatch_or_leave_for_sweeper(job, soon=True)


def _dispatch_or_leave_for_sweeper(job: Job, delay_s: float = 0.0, *, soon: bool = False) -> None:
    """The job row is committed, so a queue outage loses nothing: the sweeper sends it later.
    The id comes from the identity map, never from a reload (the database may be gone); a job
    just created is not in the session and holds its id. `soon`: through the sender thread."""
    identity = sa_inspect(job).identity
    job_id = identity[0] if identity else job.id
    try:
        if soon:
            queue.dispatch_soon(job_id)
        else:
            queue.dispatch(job_id, delay_s=delay_s)
    except Exception:
        log.warning("could not dispatch job %s; the sweeper will retry", job_id, exc_info=True)


def retry(network_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = get(network_id, job_id)
    if job.status != "failed":
        raise Conflict(
            f"Only failed jobs can be retried (this one is {job.status})", "JOB_NOT_RETRYABLE"
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
    _dispatch_or_leave_for_sweeper(job)
    return job


# Used by the runner and the sweeper ----------------------------------------------------------

MAX_ATTEMPTS = 3
BACKOFF_S = (2.0, 8.0)  # before the 2nd and the 3rd attempt


class JobFailure(Exception):
    """A failure that another attempt cannot fix (bad audio, missing person…)."""

    def __init__(self, message: str, code: str = "JOB_FAILED"):
        super().__init__(message)
        self.code = code


def is_job_id(job_id: str) -> bool:
    try:
        uuid.UUID(str(job_id))
    except ValueError:
        return False
    return True


def is_known(job_id: str) -> bool:
    """Whether a queue message's job id names a job of this database."""
    if not is_job_id(job_id):
        return False
    return db.session.get(Job, uuid.UUID(str(job_id))) is not None


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


def set_stage(job: Job, stage: str, progress: float, timings: dict | None = None) -> None:
    """Progress and heartbeat in one write: a job whose heartbeat stops is re-run."""
    job.stage = stage
    job.progress = round(progress, 3)
    job.heartbeat_at = utcnow()
    if timings:
        job.timings = {**(job.timings or {}), **timings}
        metrics.job_stages(job.kind, timings)
    db.session.commit()


def _ran_for_s(job: Job) -> float | None:
    return (utcnow() - job.started_at).total_seconds() if job.started_at else None


def fail(job: Job, error: str, retry: bool = True) -> None:
    """Retry with backoff while attempts remain, then stay failed (retryable by hand)."""
    if retry and job.attempts < MAX_ATTEMPTS:
        delay = BACKOFF_S[min(job.attempts, len(BACKOFF_S)) - 1]
        job.status = "queued"
        job.error = error[:2000]
        job.not_before = utcnow() + timedelta(seconds=delay)
        events.record(job.network_id, "job.updated", event_data(job))
        db.session.commit()
        metrics.job_finished(job.kind, "retried", _ran_for_s(job))
        _dispatch_or_leave_for_sweeper(job, delay)
        return
    metrics.job_finished(job.kind, "failed", _ran_for_s(job))
    job.status = "failed"
    job.error = error[:2000]
    job.finished_at = utcnow()
    events.record(job.network_id, "job.updated", event_data(job))
    db.session.commit()


def succeed(job: Job, result: dict[str, Any] | None, status: str = "succeeded") -> None:
    metrics.job_finished(job.kind, status, _ran_for_s(job))
    job.status = status
    job.stage = "done"
    job.progress = 1.0
    job.error = None
    job.result = result or {}
    job.finished_at = utcnow()
    if status == "superseded":
        job.superseded_by = uuid.UUID(str(job.result["superseded_by"]))
    events.record(job.network_id, "job.updated", event_data(job))
    db.session.commit()


def sweep(queued_after_s: float, heartbeat_after_s: float) -> dict[str, int]:
    """Re-dispatch jobs whose message was lost or whose worker died.

    Queued jobs older than `queued_after_s` are dispatched again (claiming is atomic, so a
    duplicate message runs nothing); running jobs whose heartbeat is older than
    `heartbeat_after_s` go back to the queue, or fail once their attempts are used up.
    """
    now = utcnow()
    lost = db.session.scalars(
        db.select(Job).where(
            Job.status == "queued",
            db.func.coalesce(Job.not_before, Job.created_at)
            < now - timedelta(seconds=queued_after_s),
        )
    ).all()
    waiting = queue.waiting_job_ids()
    if waiting is not None:
        # Still in the queue behind a backlog: not lost, and a second message would only
        # lengthen the line.
        lost = [job for job in lost if str(job.id) not in waiting]
    for job in lost:
        job.not_before = now  # wait another period before dispatching it yet again
    dead = db.session.scalars(
        db.select(Job).where(
            Job.status == "running",
            Job.heartbeat_at < now - timedelta(seconds=heartbeat_after_s),
        )
    ).all()
    revived, failed = [], 0
    for job in dead:
        if job.attempts >= MAX_ATTEMPTS:
            job.status = "failed"
            job.error = "The worker running this job stopped (attempts exhausted)"
            job.finished_at = now
            failed += 1
        else:
            job.status = "queued"
            job.error = "The worker running this job stopped; retrying"
            revived.append(job)
        events.record(job.network_id, "job.updated", event_data(job))
    db.session.commit()
    for job in [*lost, *revived]:
        _dispatch_or_leave_for_sweeper(job)
    return {"requeued": len(lost), "revived": len(revived), "failed": failed}
