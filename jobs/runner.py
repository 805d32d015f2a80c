"""Run one job by id: the only function any queue backend calls."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app, has_app_context

log = logging.getLogger("mira.jobs")

# kind -> handler(job) ; handlers are imported lazily so the web process stays light.
HANDLERS: dict[str, str] = {}


def _handler(kind: str) -> Callable | None:
    import importlib

    target = HANDLERS.get(kind)
    if target is None:
        return None
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_job(job_id: str) -> None:
    if not has_app_context():
        from mira import create_app

        with create_app().app_context():
            return run_job(job_id)
    from mira.jobs import services

    job = services.claim(job_id)
    if job is None:
        return  # finished already, or claimed by another worker
    handler = _handler(job.kind)
    if handler is None:
        services.fail(job, f"No handler for jobs of kind '{job.kind}'", retry=False)
        return
    try:
        result = handler(job)
    except Exception as exc:
        log.exception("job %s (%s) failed", job.id, job.kind)
        services.fail(job, str(exc) or type(exc).__name__)
        return
    services.succeed(job, result)
    current_app.logger.debug("job %s done", job_id)
