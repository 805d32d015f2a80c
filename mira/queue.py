"""The one dispatch seam: hand a job id to whatever runs jobs in this deployment.

Backends, chosen by `MIRA_QUEUE`:
- ``inline``: a thread pool inside the web process (the embedded default, no Redis needed);
- ``rq``: RQ on Redis, drained by `flask mira worker` processes;
- ``sync``: run before returning (tests and one-off CLI runs).

Only the job id travels; the job row in the database holds everything else.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)

RUNNER = "jobs.runner.run_job"
_executors: dict[int, ThreadPoolExecutor] = {}
_executors_lock = threading.Lock()


def redis_connection(app: Flask | None = None):
    from redis import Redis

    app = app or current_app
    cache = app.extensions.setdefault("mira_redis", {})
    if "conn" not in cache:
        cache["conn"] = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
        )
    return cache["conn"]


def rq_queue(app: Flask | None = None):
    from rq import Queue

    app = app or current_app
    return Queue(app.config["MIRA_QUEUE_NAME"], connection=redis_connection(app))


def _executor(app: Flask) -> ThreadPoolExecutor:
    with _executors_lock:
        key = id(app)
        if key not in _executors:
            _executors[key] = ThreadPoolExecutor(
                max_workers=app.config["MIRA_INLINE_WORKERS"], thread_name_prefix="mira-job"
            )
        return _executors[key]


def _run_in_context(app: Flask, job_id: str) -> None:
    from jobs.runner import run_job

    with app.app_context():
        try:
            run_job(job_id)
        except Exception:  # the runner records failures; this only guards the thread
            log.exception("job %s crashed in the inline worker", job_id)


def dispatch(job_id: uuid.UUID | str, delay_s: float = 0.0) -> None:
    """Hand the (already committed) job to the configured backend, now or after `delay_s`."""
    app = current_app._get_current_object()
    backend = app.config["MIRA_QUEUE"]
    job_id = str(job_id)
    if backend == "rq":
        options = {"job_timeout": 900, "result_ttl": 0, "failure_ttl": 86400}
        if delay_s > 0:
            rq_queue(app).enqueue_in(timedelta(seconds=delay_s), RUNNER, job_id, **options)
        else:
            rq_queue(app).enqueue(RUNNER, job_id, **options)
    elif backend == "inline":
        if delay_s > 0:
            timer = threading.Timer(delay_s, _executor(app).submit, (_run_in_context, app, job_id))
            timer.daemon = True
            timer.start()
        else:
            _executor(app).submit(_run_in_context, app, job_id)
    elif backend == "sync":
        from jobs.runner import run_job

        run_job(job_id)
    else:
        raise RuntimeError(f"Unknown MIRA_QUEUE backend: {backend}")


def health() -> dict[str, Any]:
    backend = current_app.config["MIRA_QUEUE"]
    if backend == "rq":
        conn = redis_connection()
        conn.ping()
        return {"backend": "rq", "depth": rq_queue().count}
    return {"backend": backend}
