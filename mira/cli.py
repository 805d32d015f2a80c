"""`flask mira …`: admin chores. Each command prints JSON a script can parse."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from mira import audit
from mira.errors import MiraError

mira_cli = AppGroup("mira", help="Mira administration.")


def _echo(data) -> None:
    click.echo(json.dumps(data, default=str))


def _fail(exc: MiraError) -> None:
    raise click.ClickException(exc.detail)


def _user_by_email(email: str):
    from mira.auth.models import User
    from mira.extensions import db

    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}")
    return user


def _parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a UUID: {value}") from exc


@mira_cli.command("create-user")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user(email: str, password: str) -> None:
    """Create a user (and their personal network)."""
    from mira.auth import services

    if len(password) < 8:
        raise click.BadParameter("password must be at least 8 characters")
    try:
        user = services.create_user(email, password)
    except MiraError as exc:
        _fail(exc)
    _echo({"id": user.id, "email": user.email, "default_network_id": user.default_network_id})


@mira_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(email: str, password: str) -> None:
    """Set a user's password (a reset); their sessions end."""
    from mira.auth import services

    user = _user_by_email(email)
    try:
        services.set_password(user, password)
    except MiraError as exc:
        _fail(exc)
    _echo({"id": user.id, "email": user.email, "password_set": True})


@mira_cli.command("users")
def users() -> None:
    """Every account, one JSON line each (no password hashes)."""
    from mira.auth import services

    for row in services.list_users(limit=100_000):
        _echo(row)


@mira_cli.command("create-network")
@click.argument("name")
@click.option("--owner", "owner_email", help="Email of the user who will own it.")
def create_network(name: str, owner_email: str | None) -> None:
    """Create a network, optionally owned by an existing user."""
    from mira.networks import services

    owner = _user_by_email(owner_email) if owner_email else None
    network = services.create_network(owner, name)
    _echo({"id": network.id, "name": network.name, "owner": owner_email})


@mira_cli.command("add-member")
@click.argument("network_id")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "member"]), default="member")
def add_member(network_id: str, email: str, role: str) -> None:
    """Add an existing user to a network."""
    from mira.extensions import db
    from mira.networks.models import Membership, Network

    nid = _parse_uuid(network_id)
    if db.session.get(Network, nid) is None:
        raise click.ClickException(f"No network {network_id}")
    user = _user_by_email(email)
    existing = db.session.get(Membership, (nid, user.id))
    if existing is not None:
        existing.role = role
    else:
        db.session.add(Membership(network_id=nid, user_id=user.id, role=role))
        audit.record(nid, "cli", "member.added", user.id, {"email": user.email, "role": role})
    if user.default_network_id is None:
        user.default_network_id = nid
    db.session.commit()
    _echo({"network_id": nid, "user_id": user.id, "email": user.email, "role": role})


@mira_cli.command("invite")
@click.argument("network_id")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "member"]), default="member")
def invite(network_id: str, email: str, role: str) -> None:
    """Invite someone without an account to a network; prints the token to hand over."""
    from mira.networks import invitations

    try:
        _echo(invitations.invite(None, _parse_uuid(network_id), email, role))
    except MiraError as exc:
        _fail(exc)


@mira_cli.command("create-device-key")
@click.argument("network_id")
@click.option("--name", default="device", show_default=True)
def create_device_key(network_id: str, name: str) -> None:
    """Create a device key for a network; the key is printed once."""
    from mira.auth import services
    from mira.extensions import db
    from mira.networks.models import Network

    nid = _parse_uuid(network_id)
    if db.session.get(Network, nid) is None:
        raise click.ClickException(f"No network {network_id}")
    created = services.create_device_key(nid, name, None)
    _echo({"id": created["id"], "name": created["name"], "key": created["key"], "network_id": nid})


@mira_cli.command("list-networks")
def list_networks() -> None:
    """Every network with its owners and member count, one JSON object per line."""
    from mira.auth.models import User
    from mira.extensions import db
    from mira.networks.models import Membership, Network

    networks = db.session.scalars(db.select(Network).order_by(Network.created_at)).all()
    for network in networks:
        members = db.session.execute(
            db.select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.network_id == network.id)
        ).all()
        _echo(
            {
                "id": network.id,
                "name": network.name,
                "service_enabled": network.service_enabled,
                "owners": sorted(email for email, role in members if role == "owner"),
                "members": len(members),
            }
        )


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


@mira_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--no-sweep", is_flag=True, help="Do not run the periodic sweeper.")
def worker(burst: bool, no_sweep: bool) -> None:
    """Run an RQ worker for Mira's queue (needs REDIS_URL); warms the models first.

    Jobs run in this process (RQ's SimpleWorker): the warm models and database connections
    serve every job, where a fork per job cost 130–270 ms. A job killed with its worker is
    re-run by the sweeper."""
    from rq import SimpleWorker as Worker

    from mira import queue

    app = current_app._get_current_object()
    if app.config["MIRA_QUEUE"] != "rq":
        raise click.ClickException("The worker needs REDIS_URL (MIRA_QUEUE=rq).")
    started = time.perf_counter()
    from jobs.runner import warm_up

    warm_up()
    _prepare_for_fork()
    click.echo(json.dumps({"worker": "ready", "warmup_s": round(time.perf_counter() - started, 2)}))
    if not burst:
        from mira import background

        # Reminders fire and expired clients go from the workers' loop; jobs are swept too.
        background.start(app, sweep=not no_sweep)
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


@mira_cli.command("tick")
def tick() -> None:
    """Fire reminders whose time has come and delete clients gone for good (for a cron where no
    worker runs; workers and the embedded server do this by themselves)."""
    from mira.actions.reminders import fire_due
    from mira.memories.services import expire_due
    from mira.service.services import expire_clients

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
    from mira.extensions import db
    from mira.jobs.models import Job

    query = db.select(Job).order_by(Job.created_at.desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    for job in db.session.scalars(query):
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
    from mira.extensions import db
    from mira.jobs import services
    from mira.jobs.models import Job

    job = db.session.get(Job, _parse_uuid(job_id))
    if job is None:
        raise click.ClickException(f"No job {job_id}")
    try:
        job = services.retry(job.network_id, job.id)
    except MiraError as exc:
        _fail(exc)
    _echo({"id": job.id, "status": job.status})


@mira_cli.command("import-audio")
@click.argument("network_id")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--client", "client_id", required=True, help="Client id the uploads come from.")
@click.option("--pattern", default="*", show_default=True, help="Glob of files to upload.")
def import_audio(network_id: str, folder: Path, client_id: str, pattern: str) -> None:
    """Upload every audio file of a folder through the same path as the API."""
    from mira.extensions import db
    from mira.interactions import uploads
    from mira.networks.models import Network
    from mira.service import services as clients

    network = db.session.get(Network, _parse_uuid(network_id))
    if network is None:
        raise click.ClickException(f"No network {network_id}")
    if clients.find_client(network.id, client_id) is None:
        clients.register_client(network.id, client_id, {"source": "import-audio"}, None)
    files = sorted(p for p in folder.rglob(pattern) if p.is_file())
    accepted, refused = 0, 0
    with click.progressbar(files, label="Uploading", file=sys.stderr) as bar:
        for path in bar:
            try:
                job = uploads.accept(
                    network, client_id, path.read_bytes(), metadata={"source_file": path.name}
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
    from mira.auth.models import User
    from mira.extensions import db
    from mira.ops.bundle import import_network as load

    owner = None
    if owner_email:
        email = accounts.normalise_email(owner_email)
        owner = db.session.scalar(db.select(User).where(User.email == email))
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
            db.session.delete(created)
            db.session.commit()
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


def register_cli(app: Flask) -> None:
    app.cli.add_command(mira_cli)
