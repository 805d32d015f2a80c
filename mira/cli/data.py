"""`flask mira …`: data in bulk (import audio, purge, move a network between servers, stats)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mira.cli.common import echo as _echo
from mira.cli.common import fail as _fail
from mira.cli.common import mira_cli
from mira.cli.common import network as _network
from mira.cli.common import parse_uuid as _parse_uuid
from mira.errors import MiraError


@mira_cli.command("import-audio")
@click.argument("network_id")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--client", "client_id", required=True, help="Client id the uploads come from.")
@click.option("--pattern", default="*", show_default=True, help="Glob of files to upload.")
def import_audio(network_id: str, folder: Path, client_id: str, pattern: str) -> None:
    """Upload every audio file of a folder through the same path as the API."""
    from mira.clients import services as clients
    from mira.interactions import uploads

    network = _network(network_id)
    if clients.find_client(network.id, client_id) is None:
        clients.register_client(network.id, client_id, {"source": "import-audio"}, None)
    files = sorted(p for p in folder.rglob(pattern) if p.is_file())
    accepted, refused = 0, 0
    with click.progressbar(files, label="Uploading", file=sys.stderr) as bar:
        for path in bar:
            try:
                job = uploads.accept(
                    network.id, client_id, path.read_bytes(), metadata={"source_file": path.name}
                )
            except MiraError as exc:
                refused += 1
                click.echo(json.dumps({"file": str(path), "error": exc.error_code}), err=True)
                continue
            accepted += 1
            _echo({"file": str(path), "job_id": job.id})
    _echo({"accepted": accepted, "refused": refused})


class _LazyBar:
    """A progress bar drawn on stderr once the total is known (operations report (done, total))."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> _LazyBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _parse_days(value: str) -> int:
    """`90d`, `12w` or a bare number of days."""
    text = value.strip().lower()
    factor = {"d": 1, "w": 7}.get(text[-1:])
    number = text[:-1] if factor else text
    try:
        days = int(number) * (factor or 1)
    except ValueError as exc:
        raise click.BadParameter(f"expected days such as 90d or 12w, not {value!r}") from exc
    if days < 1:
        raise click.BadParameter("keep at least one day")
    return days


@mira_cli.command("purge")
@click.option("--older-than", "older_than", required=True, help="Age to delete, e.g. 90d or 12w.")
@click.option("--network", "network_id", help="Only this network.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(older_than: str, network_id: str | None, yes: bool) -> None:
    """Delete interactions, their audio and events older than the given age, and voice data
    of deleted persons; prints what was deleted."""
    from mira.ops.purge import purge_older_than

    days = _parse_days(older_than)
    nid = _parse_uuid(network_id) if network_id else None
    if not yes:
        where = f"network {nid}" if nid else "every network"
        click.confirm(f"Delete data older than {days} days in {where}?", abort=True, err=True)
    with _LazyBar("Purging networks") as bar:
        result = purge_older_than(days, nid, progress=bar)
    _echo(result)


@mira_cli.command("export-network")
@click.argument("network_id")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_network(network_id: str, out: Path) -> None:
    """Write a network (settings, members, clients, persons and voices, conversations,
    interactions with audio, actions) to a zip bundle."""
    from mira.ops.bundle import export_network as export

    nid = _parse_uuid(network_id)
    try:
        with _LazyBar("Exporting audio") as bar:
            manifest = export(nid, out, progress=bar)
    except MiraError as exc:
        out.unlink(missing_ok=True)
        _fail(exc)
    _echo({"file": str(out), "bytes": out.stat().st_size, **manifest})


@mira_cli.command("import-network")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--owner",
    "owner_email",
    help="Make this user an owner, with the network as their default (created when missing, "
    "with no network of their own).",
)
@click.option("--password", help="The owner's password when the account is created here.")
def import_network(bundle: Path, owner_email: str | None, password: str | None) -> None:
    """Load a bundle written by export-network (ids preserved; members matched by email)."""
    from mira.auth import services as accounts
    from mira.ops.bundle import import_network as load

    owner = None
    if owner_email:
        email = accounts.normalise_email(owner_email)
        owner = accounts.find_user(email)
        if owner is None:
            if not password:
                password = click.prompt(
                    f"Password for the new account {email}",
                    hide_input=True,
                    confirmation_prompt=True,
                )
            if len(password) < 8:
                raise click.BadParameter("password must be at least 8 characters")
    created = None
    try:
        if owner_email and owner is None:
            owner = created = accounts.create_user(owner_email, password, personal_network=False)
        with _LazyBar("Importing audio") as bar:
            result = load(bundle, progress=bar, owner=owner)
    except BaseException as exc:
        if created is not None:  # all or nothing: no account left behind without its network
            accounts.delete_user(created)
        if isinstance(exc, MiraError):
            _fail(exc)
        raise
    _echo(result)


@mira_cli.command("stats")
@click.option("--network", "network_id", help="Only this network.")
def stats(network_id: str | None) -> None:
    """Per network: interactions, persons, voice samples, jobs by status, bytes of audio."""
    from mira.ops.stats import network_stats

    for row in network_stats(_parse_uuid(network_id) if network_id else None):
        _echo(row)
