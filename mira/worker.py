"""The queue worker's runtime: warm the models, start the periodic chores, consume the queue.

`flask mira worker` is its command line (mira/cli/worker.py). Jobs run in this process (RQ's
SimpleWorker): the warm models and database connections serve every job, where a fork per job
cost 130–270 ms. A job killed with its worker is re-run by the sweeper.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from flask import Flask


class NotConfigured(RuntimeError):
    """The worker needs the RQ queue (REDIS_URL)."""


def _prepare_for_fork() -> None:
    """RQ forks a work horse per job. A pooled connection inherited by a horse is one socket
    shared by two processes (the sweeper thread uses it too): their statements interleave and
    a job's writes are lost. Each horse drops the inherited pool (without closing the parent's
    sockets); the mappers are configured once here instead of in every horse."""
    import os

    from sqlalchemy.orm import configure_mappers

    from mira.extensions import db

    configure_mappers()
    engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


def run(app: Flask, *, burst: bool, sweep: bool, say: Callable[[str], None] = print) -> None:
    """Consume Mira's queue until stopped (or, with `burst`, until it is empty)."""
    from rq import SimpleWorker as Worker

    from mira import queue

    if app.config["MIRA_QUEUE"] != "rq":
        raise NotConfigured("The worker needs REDIS_URL (MIRA_QUEUE=rq).")
    started = time.perf_counter()
    from jobs.runner import warm_up

    warm_up()
    _prepare_for_fork()
    say(json.dumps({"worker": "ready", "warmup_s": round(time.perf_counter() - started, 2)}))
    if not burst:
        from mira import background

        # Reminders fire and expired clients go from the workers' loop; jobs are swept too.
        background.start(app, sweep=sweep)
    from redis.exceptions import ConnectionError as RedisDown

    pause = 1.0
    while True:  # ride out Redis outages instead of exiting: jobs wait in the database
        try:
            Worker([queue.rq_queue()], connection=queue.redis_connection()).work(
                burst=burst, with_scheduler=True
            )
            return
        except RedisDown:
            app.logger.warning("Redis is unreachable; the worker retries in %.0f s", pause)
            time.sleep(pause)
            pause = min(pause * 2, 30.0)
