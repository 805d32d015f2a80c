"""`flask mira …`: admin chores, one module per area. Each command prints JSON a script can parse.

accounts (users, passwords, invitations), networks (members, device keys), jobs (tick, sweep,
list, retry), data (import, purge, export/import a network, stats) and the worker.
"""

from __future__ import annotations

from flask import Flask

from mira.cli import accounts, data, jobs, networks, worker  # noqa: F401 - they register commands
from mira.cli.common import mira_cli

__all__ = ["mira_cli", "register_cli"]


def register_cli(app: Flask) -> None:
    app.cli.add_command(mira_cli)
