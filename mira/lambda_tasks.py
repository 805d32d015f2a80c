"""What AWS Lambda runs besides HTTP requests, by dotted path through Zappa's handler.

- `run_job`: the async task of the `zappa` queue backend (`zappa.asynchronous.run`);
- `sweep`, `purge`: scheduled events (`events` in zappa_settings.json);
- `migrate`: a one-off command, `zappa invoke production mira.lambda_tasks.migrate`.

Nothing here is imported by `import wsgi`, and each function imports what it needs when called.
Zappa's handler calls an event function with (event, context), and calls it again with fewer
arguments when a TypeError escapes; `_lambda_entry` turns a TypeError raised inside into a
RuntimeError, so a bug can never make a chore run three times.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, has_app_context

log = logging.getLogger("mira.lambda")

PURGE_MODULE = "mira.ops.purge"


@contextmanager
def _app_context() -> Iterator[Flask]:
    """The app the handler built for HTTP (`wsgi.app`): one engine and pool per container."""
    if has_app_context():
        yield current_app._get_current_object()
        return
    import wsgi

    with wsgi.app.app_context():
        yield wsgi.app


def _lambda_entry(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def entry(event: dict | None = None, context: Any = None) -> Any:
        try:
            return func(event or {}, context)
        except TypeError as exc:
            raise RuntimeError(f"{func.__name__} failed: {exc}") from exc

    return entry


def run_job(job_id: str, delay_s: float = 0.0) -> None:
    """Run one job in this invocation, after a short delay (retry backoff) if one was asked.

    Lambda retries an async invocation that raised (twice by default); the runner claims a job
    atomically, so a repeated or duplicated message runs nothing.
    """
    from jobs.runner import run_job as run
    from mira.queue import ZAPPA_MAX_SLEEP_S, zappa_setting

    with _app_context() as app:
        if delay_s > 0:
            time.sleep(
                min(delay_s, float(zappa_setting(app, "MIRA_ZAPPA_MAX_SLEEP_S", ZAPPA_MAX_SLEEP_S)))
            )
        run(job_id)


@_lambda_entry
def sweep(event: dict, context: Any) -> dict[str, int]:
    """Scheduled: re-dispatch lost jobs and revive jobs whose invocation died (timeouts)."""
    from mira.jobs import services

    with _app_context() as app:
        result = services.sweep(
            app.config["MIRA_SWEEP_QUEUED_S"], app.config["MIRA_SWEEP_HEARTBEAT_S"]
        )
    log.info("sweep: %s", result)
    return result


@_lambda_entry
def tick(event: dict, context: Any) -> dict[str, int]:
    """Scheduled every minute: reminders whose time has come fire (exactly once; late when
    Mira was away), and clients gone for good are deleted. A minute is Lambda's finest
    schedule, so a reminder fires up to a minute after its time there."""
    from mira.actions.reminders import fire_due
    from mira.clients.services import expire_clients
    from mira.memories.services import expire_due

    with _app_context():
        result = {
            "fired": len(fire_due()),
            "memories_expired": expire_due(),
            "clients_expired": expire_clients(),
        }
    log.info("tick: %s", result)
    return result


@_lambda_entry
def sweep_audio(event: dict, context: Any) -> dict[str, Any]:
    """Scheduled hourly: stored audio no row refers to (an upload whose process died between the
    blob and the commit), older than MIRA_ORPHAN_AUDIO_AGE_S, and idempotency keys past their
    time. Workers run the same sweep on a timer; Lambda has no long-lived process for it."""
    from mira.ops.orphans import sweep_orphan_audio

    with _app_context() as app:
        result = sweep_orphan_audio(app.config["MIRA_ORPHAN_AUDIO_AGE_S"])
    log.info("sweep_audio: %s", result)
    return result


def _retention_days(event: dict) -> int | None:
    """Days of data to keep: the scheduled event's `kwargs.days`, else MIRA_RETENTION_DAYS."""
    value = (event.get("kwargs") or {}).get("days")
    if value in (None, ""):
        value = os.environ.get("MIRA_RETENTION_DAYS")
    if value in (None, ""):
        return None
    days = int(value)
    if days < 1:
        raise ValueError(f"retention must be at least one day, not {days}")
    return days


@_lambda_entry
def purge(event: dict, context: Any) -> dict[str, Any]:
    """Scheduled daily: delete data older than the retention period.

    Without a configured retention nothing is deleted (no default decides to drop user data).
    A build without the purge module logs that the purge is unavailable instead of failing
    every day.
    """
    days = _retention_days(event)
    if days is None:
        log.warning(
            "purge skipped: no retention configured (event kwargs.days or MIRA_RETENTION_DAYS)"
        )
        return {"purged": False, "reason": "no retention configured"}
    try:
        from mira.ops.purge import purge_older_than
    except ModuleNotFoundError as exc:
        if exc.name not in ("mira.ops", PURGE_MODULE):
            raise
        log.error("purge unavailable: %s is not part of this build", PURGE_MODULE)
        return {"purged": False, "reason": f"{PURGE_MODULE} unavailable"}
    with _app_context():
        result = purge_older_than(days)
    log.info("purge (%s days): %s", days, result)
    return result


@_lambda_entry
def migrate(event: dict, context: Any) -> dict[str, Any]:
    """One-off: apply the database migrations (`zappa invoke <stage> mira.lambda_tasks.migrate`).

    Builds its own app with Flask-Migrate loaded; the HTTP app never loads Alembic.
    """
    from alembic.migration import MigrationContext
    from flask_migrate import upgrade

    from mira.app import create_app
    from mira.extensions import db

    app = create_app({"MIRA_MIGRATE_COMMANDS": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
        db.session.remove()
        db.engine.dispose()
    log.info("migrated to %s", revision)
    return {"migrated": True, "revision": revision}
