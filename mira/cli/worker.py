"""`flask mira worker`: the queue worker's command line (its runtime is mira.worker)."""

from __future__ import annotations

import click
from flask import current_app

from mira.cli.common import mira_cli


@mira_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--no-sweep", is_flag=True, help="Do not run the periodic sweeper.")
def worker(burst: bool, no_sweep: bool) -> None:
    """Run an RQ worker for Mira's queue (needs REDIS_URL); warms the models first."""
    from mira import worker as runtime

    try:
        runtime.run(
            current_app._get_current_object(), burst=burst, sweep=not no_sweep, say=click.echo
        )
    except runtime.NotConfigured as exc:
        raise click.ClickException(str(exc)) from exc
