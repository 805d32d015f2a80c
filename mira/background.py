"""Timed chores of a long-running Mira process, on one daemon thread.

- reminders: due actions fire (every MIRA_REMINDER_POLL_S);
- clients: those gone for good are deleted (every CLIENTS_EVERY_S);
- jobs (workers only): lost or orphaned jobs are re-dispatched (every MIRA_SWEEP_EVERY_S);
- orphans (workers only): stored audio no row refers to, older than MIRA_ORPHAN_AUDIO_AGE_S,
  is deleted, and idempotency keys past MIRA_IDEMPOTENCY_HOURS are forgotten
  (every MIRA_ORPHAN_SWEEP_EVERY_S).

`flask mira worker` runs all three; the embedded server (jobs on threads of the web process)
runs the first two. On Lambda, scheduled events call the same functions (mira.lambda_tasks).
Several processes may run them at once: each chore is safe to run concurrently.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

log = logging.getLogger("mira.background")

CLIENTS_EVERY_S = 30.0


def fire_reminders(app: Flask) -> None:
    """Due reminders fire; memories whose time passed expire."""
    from mira.actions.reminders import fire_due
    from mira.memories.services import expire_due

    fire_due()
    expire_due()


def expire_clients(app: Flask) -> None:
    from mira.clients.services import expire_clients as expire

    expire()


def sweep_jobs(app: Flask) -> None:
    from mira.jobs import services

    services.sweep(app.config["MIRA_SWEEP_QUEUED_S"], app.config["MIRA_SWEEP_HEARTBEAT_S"])


def sweep_orphans(app: Flask) -> None:
    from mira.ops.orphans import sweep_orphan_audio

    sweep_orphan_audio(app.config["MIRA_ORPHAN_AUDIO_AGE_S"])


def start(app: Flask, *, sweep: bool = False) -> threading.Thread:
    chores = [
        (fire_reminders, app.config["MIRA_REMINDER_POLL_S"]),
        (expire_clients, CLIENTS_EVERY_S),
    ]
    if sweep:
        chores.append((sweep_jobs, app.config["MIRA_SWEEP_EVERY_S"]))
        chores.append((sweep_orphans, app.config["MIRA_ORPHAN_SWEEP_EVERY_S"]))
    thread = threading.Thread(target=_loop, args=(app, chores), name="mira-background", daemon=True)
    thread.start()
    return thread


def _loop(app: Flask, chores) -> None:
    from mira.extensions import db

    now = time.monotonic()
    waits = (sweep_jobs, sweep_orphans)  # a starting worker first serves the queue
    due_at = [now + (every if chore in waits else 0.0) for chore, every in chores]
    while True:
        now = time.monotonic()
        for i, (chore, every) in enumerate(chores):
            if now < due_at[i]:
                continue
            due_at[i] = now + every
            with app.app_context():
                try:
                    chore(app)
                except Exception:  # the database may be briefly away; next period
                    log.warning("%s failed", chore.__name__, exc_info=True)
                finally:
                    db.session.remove()
        time.sleep(max(0.05, min(due_at) - time.monotonic()))
