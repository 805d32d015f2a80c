"""`flask mira …`: jobs and the periodic chores (tick, sweep, list, retry)."""

from __future__ import annotations

import click
from flask import current_app

from mira.cli.common import echo as _echo
from mira.cli.common import fail as _fail
from mira.cli.common import mira_cli
from mira.cli.common import parse_uuid as _parse_uuid
from mira.errors import MiraError


@mira_cli.command("tick")
def tick() -> None:
    """Fire reminders whose time has come and delete clients gone for good (for a cron where no
    worker runs; workers and the embedded server do this by themselves)."""
    from mira.actions.reminders import fire_due
    from mira.clients.services import expire_clients
    from mira.memories.services import expire_due

    _echo(
        {
            "fired": [str(i) for i in fire_due()],
            "memories_expired": expire_due(),
            "clients_expired": expire_clients(),
        }
    )


@mira_cli.command("sweep")
@click.option("--queued-after", type=float, help="Seconds a queued job may wait.")
@click.option("--heartbeat-after", type=float, help="Seconds without heartbeat = dead worker.")
def sweep(queued_after: float | None, heartbeat_after: float | None) -> None:
    """Re-dispatch lost jobs and revive jobs of dead workers."""
    from mira.jobs import services

    cfg = current_app.config
    _echo(
        services.sweep(
            queued_after if queued_after is not None else cfg["MIRA_SWEEP_QUEUED_S"],
            heartbeat_after if heartbeat_after is not None else cfg["MIRA_SWEEP_HEARTBEAT_S"],
        )
    )


@mira_cli.command("sweep-audio")
@click.option(
    "--older-than", type=float, help="Seconds a blob must be old (MIRA_ORPHAN_AUDIO_AGE_S)."
)
def sweep_audio(older_than: float | None) -> None:
    """Delete stored audio no row refers to (an upload killed before its job committed) and
    forget expired idempotency keys; workers do this every MIRA_ORPHAN_SWEEP_EVERY_S."""
    from mira.ops.orphans import sweep_orphan_audio

    age = older_than if older_than is not None else current_app.config["MIRA_ORPHAN_AUDIO_AGE_S"]
    _echo(sweep_orphan_audio(age))


@mira_cli.command("jobs")
@click.option("--failed", "status", flag_value="failed", help="Only failed jobs.")
@click.option(
    "--status",
    "status",
    type=click.Choice(["queued", "running", "succeeded", "failed", "superseded"]),
)
@click.option("--limit", type=int, default=50, show_default=True)
def list_jobs(status: str | None, limit: int) -> None:
    """Jobs of every network, newest first, one JSON object per line."""
    from mira.jobs import services

    for job in services.recent(status, limit):
        _echo(
            {
                "id": job.id,
                "network_id": job.network_id,
                "kind": job.kind,
                "status": job.status,
                "stage": job.stage,
                "attempts": job.attempts,
                "error": job.error,
                "created_at": job.created_at,
            }
        )


@mira_cli.command("retry")
@click.argument("job_id")
def retry(job_id: str) -> None:
    """Run a failed job again."""
    from mira.jobs import services

    try:
        job = services.get_any(_parse_uuid(job_id))
    except MiraError as exc:
        raise click.ClickException(f"No job {job_id}") from exc
    try:
        job = services.retry(job.network_id, job.id)
    except MiraError as exc:
        _fail(exc)
    _echo({"id": job.id, "status": job.status})
