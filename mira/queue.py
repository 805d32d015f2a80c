"""The one dispatch seam: hand a job id to whatever runs jobs in this deployment.

Backends, chosen by `MIRA_QUEUE`:
- ``inline``: a thread pool inside the web process (the embedded default, no Redis needed);
- ``rq``: RQ on Redis, drained by `flask mira worker` processes;
- ``sync``: run before returning (tests and one-off CLI runs);
- ``zappa``: an asynchronous invocation of the same AWS Lambda function (Zappa's async task),
  which runs `mira.lambda_tasks.run_job`.

Only the job id travels; the job row in the database holds everything else.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)

RUNNER = "jobs.runner.run_job"
# A Lambda async task may sleep this long before its job (billed time); a longer delay is left
# to the sweeper, which re-dispatches queued jobs once their `not_before` is old enough.
ZAPPA_MAX_SLEEP_S = 15.0
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


RQ_ID_PREFIX = "mira_"


def rq_job_id(job_id: str) -> str:
    """An RQ message id that names the Mira job it carries (`mira_<job id>_<nonce>`: RQ allows
    letters, digits, `_` and `-`), so the sweeper tells from the ids alone which jobs have a
    message waiting. The nonce keeps two messages of one job (a retry scheduled while a sweep
    re-sends it) from sharing one RQ hash."""
    return f"{RQ_ID_PREFIX}{job_id}_{uuid.uuid4().hex[:12]}"


def mira_job_id_of(rq_id: str) -> str | None:
    if rq_id.startswith(RQ_ID_PREFIX):
        return rq_id[len(RQ_ID_PREFIX) :].rsplit("_", 1)[0]
    return None


def waiting_job_ids(app: Flask | None = None) -> set[str] | None:
    """Ids of the Mira jobs with a message in the RQ queue now: waiting, scheduled (a retry's
    backoff) or being started by a worker. None when the backend is not RQ or Redis cannot
    say: the sweeper then re-sends as it always did (a duplicate message runs nothing).

    Under a backlog every queued job is older than the sweep threshold, yet its message is
    still in line; re-sending all of them only lengthened the line (15 no-op runs for 200
    jobs). Messages of another kind (older ids, without the prefix) are read to find their job.
    """
    app = app or current_app
    if app.config["MIRA_QUEUE"] != "rq":
        return None
    try:
        from rq.job import Job as RqJob

        queue = rq_queue(app)
        rq_ids = [
            *queue.get_job_ids(),
            *queue.scheduled_job_registry.get_job_ids(),
            *queue.started_job_registry.get_job_ids(),
        ]
        found: set[str] = set()
        others: list[str] = []
        for rq_id in rq_ids:
            mira_id = mira_job_id_of(rq_id)
            if mira_id:
                found.add(mira_id)
            else:
                others.append(rq_id)
        if others:
            for message in RqJob.fetch_many(others, connection=queue.connection):
                if message is not None and message.args:
                    found.add(str(message.args[0]))
        return found
    except Exception:
        log.warning(
            "could not read the RQ queue; the sweeper re-sends every late job", exc_info=True
        )
        return None


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


def warm_up_inline(app: Flask) -> None:
    """Embedded mode: load the worker's models in the background as the server starts, so the
    first upload does not wait for them. Jobs queue behind the warm-up on the same thread."""
    if app.config["MIRA_QUEUE"] != "inline":
        return

    def warm() -> None:
        from jobs.runner import warm_up

        with app.app_context():
            try:
                warm_up()
            except Exception:  # a job would load the models itself
                log.exception("warming the models failed")

    _executor(app).submit(warm)


RQ_OPTIONS = {"result_ttl": 0, "failure_ttl": 86400}
RQ_JOB_TIMEOUT_S = 900


def _send_to_rq(app: Flask, job_ids: list[str]) -> None:
    """The messages of these jobs, with the queue's registration, in one pipeline (one round
    trip: RQ alone sends the registration and each message apart)."""
    from rq import Queue

    rq = rq_queue(app)
    messages = [
        Queue.prepare_data(
            RUNNER, (job_id,), timeout=RQ_JOB_TIMEOUT_S, job_id=rq_job_id(job_id), **RQ_OPTIONS
        )
        for job_id in job_ids
    ]
    with rq.connection.pipeline() as pipe:
        rq.enqueue_many(messages, pipeline=pipe)
        pipe.execute()


def dispatch_soon(job_id: uuid.UUID | str) -> None:
    """Send a committed job a moment from now, from this process's sender thread, with the jobs
    committed meanwhile (RQ; other backends send at once). For uploads: the answer waits for no
    Redis round trip, and under load one pipeline carries many messages (RQ's enqueue_many:
    ~0.29 ms of CPU per message in batches of 16, 0.51 ms one by one), CPU a web worker's
    requests share. The row is committed, so a message never sent (Redis away, the process
    killed first) is the sweeper's to send, as with `dispatch`."""
    app = current_app._get_current_object()
    if app.config["MIRA_QUEUE"] != "rq":
        dispatch(job_id)
        return
    with _senders_lock:
        sender = app.extensions.get(_SENDER)
        if sender is None:
            sender = app.extensions[_SENDER] = _RqSender(app)
    sender.add(str(job_id))


_SENDER = "mira_rq_sender"
_senders_lock = threading.Lock()


class _RqSender:
    """One thread per app and process: sends what is pending in one pipeline, then waits for
    more. At exit (a worker stopped by gunicorn, a CLI command) the rest is sent first."""

    def __init__(self, app: Flask):
        self.app = app
        self.pending: list[str] = []
        self.ready = threading.Condition()
        self.thread: threading.Thread | None = None
        atexit.register(self.flush)

    def add(self, job_id: str) -> None:
        with self.ready:
            self.pending.append(job_id)
            # Started on first use, and again in a forked child (the parent's thread is not
            # there).
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="mira-rq-sender", daemon=True)
                self.thread.start()
            self.ready.notify()

    def _take(self, wait: bool = True) -> list[str]:
        with self.ready:
            while wait and not self.pending:
                self.ready.wait()
            batch, self.pending = self.pending, []
            return batch

    def _send(self, batch: list[str]) -> None:
        try:
            _send_to_rq(self.app, batch)
        except Exception:
            log.warning(
                "could not send %d jobs to the queue; the sweeper will", len(batch), exc_info=True
            )

    def _run(self) -> None:
        while True:
            self._send(self._take())

    def flush(self) -> None:
        batch = self._take(wait=False)
        if batch:
            self._send(batch)


def dispatch(job_id: uuid.UUID | str, delay_s: float = 0.0) -> None:
    """Hand the (already committed) job to the configured backend, now or after `delay_s`."""
    app = current_app._get_current_object()
    backend = app.config["MIRA_QUEUE"]
    job_id = str(job_id)
    if backend == "rq":
        if delay_s > 0:
            rq_queue(app).enqueue_in(
                timedelta(seconds=delay_s),
                RUNNER,
                job_id,
                job_id=rq_job_id(job_id),
                job_timeout=RQ_JOB_TIMEOUT_S,
                **RQ_OPTIONS,
            )
        else:
            _send_to_rq(app, [job_id])
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
    elif backend == "zappa":
        _dispatch_zappa(app, job_id, delay_s)
    else:
        raise RuntimeError(f"Unknown MIRA_QUEUE backend: {backend}")


def zappa_setting(app: Flask, name: str, default: Any = None) -> Any:
    """A setting of the zappa backend: app config first, then the environment (Lambda's)."""
    value = app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return default if value in (None, "") else value


def _dispatch_zappa(app: Flask, job_id: str, delay_s: float) -> None:
    """Invoke this Lambda function again, asynchronously, with the job id.

    The sleep for a delay happens inside the invoked task, so the web request returns at once.
    Delays above `MIRA_ZAPPA_MAX_SLEEP_S` are not sent: the job row is already queued with its
    `not_before`, and the scheduled sweeper dispatches it. Lambda retries a failed async
    invocation; the runner's atomic claim makes a repeated message a no-op.
    """
    max_sleep = float(zappa_setting(app, "MIRA_ZAPPA_MAX_SLEEP_S", ZAPPA_MAX_SLEEP_S))
    if delay_s > max_sleep:
        log.info("job %s waits %.0f s: left for the sweeper", job_id, delay_s)
        return
    # Inside Lambda the target is the running function itself; a `flask mira …` command run
    # elsewhere against the deployed stack names it with MIRA_ZAPPA_FUNCTION.
    function_name = zappa_setting(app, "MIRA_ZAPPA_FUNCTION") or os.environ.get(
        "AWS_LAMBDA_FUNCTION_NAME"
    )
    if not function_name:
        raise RuntimeError(
            "MIRA_QUEUE=zappa needs AWS_LAMBDA_FUNCTION_NAME (set by Lambda) or MIRA_ZAPPA_FUNCTION"
        )
    # boto3 and Zappa's async module load on the first dispatch, never at web import time.
    from zappa.asynchronous import run

    from mira import lambda_tasks

    response = run(
        lambda_tasks.run_job,
        args=[job_id],
        kwargs={"delay_s": round(delay_s, 3)},
        remote_aws_lambda_function_name=function_name,
    )
    if not getattr(response, "sent", False):
        raise RuntimeError(f"Lambda did not accept the async invocation for job {job_id}")


def health() -> dict[str, Any]:
    backend = current_app.config["MIRA_QUEUE"]
    if backend == "rq":
        conn = redis_connection()
        conn.ping()
        return {"backend": "rq", "depth": rq_queue().count}
    return {"backend": backend}
