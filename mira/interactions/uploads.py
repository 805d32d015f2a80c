"""Accepting an uploaded utterance: cheap checks in the request, the rest in the worker.

In the request (milliseconds, before the 202): service enabled, client registered, size
(413 while streaming), empty body, format recognised by its bytes (415), odd-length PCM,
and, for formats whose header states it (WAV, FLAC, raw PCM), the duration limit and a
readable header. In the worker: the full decode (corrupt or truncated data, NaN/Inf
samples, the duration of compressed formats); such a job fails with a clear `error`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, case, select, update

from mira.clients.models import Client
from mira.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unavailable,
    Unsupported,
)
from mira.extensions import db
from mira.jobs import idempotency
from mira.jobs import services as jobs
from mira.jobs.models import Job
from mira.networks.models import Network
from mira.storage import blob_store
from mira.types import utcnow

EXTENSIONS = {
    "wav": "wav",
    "flac": "flac",
    "ogg": "ogg",
    "webm": "webm",
    "m4a": "m4a",
    "mp3": "mp3",
    "pcm": "pcm",
}
TERMINAL = ("succeeded", "failed", "superseded")
log = logging.getLogger("mira.uploads")


def parse_metadata(raw: str | None) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    from mira import input_bounds

    try:
        value = input_bounds.loads(raw, "metadata")
    except (TypeError, ValueError) as exc:
        raise Invalid(
            "metadata must be a JSON object", errors={"metadata": ["Not valid JSON."]}
        ) from exc
    if not isinstance(value, dict):
        raise Invalid("metadata must be a JSON object", errors={"metadata": ["Not a JSON object."]})
    input_bounds.check_metadata_size(value)
    return value


def check_session_token(network_id: uuid.UUID, client_id: str, token: str, ip: str | None) -> None:
    """A `session_token` sent with an upload must be one of this network's sockets, for this
    client. Its socket registered the client; if the client has expired since, the token
    restores it, so an utterance is never refused for a race with the socket's grace period."""
    from mira.auth.tokens import InvalidToken
    from mira.clients.services import attach_socket, find_client
    from mira.realtime import sessions

    try:
        session = sessions.read(token, current_app.config["SECRET_KEY"])
    except InvalidToken as exc:
        raise Forbidden(str(exc), "INVALID_SESSION_TOKEN") from exc
    if session.network_id != network_id or session.client_id != client_id:
        raise Forbidden("The session token belongs to another client", "INVALID_SESSION_TOKEN")
    if find_client(network_id, client_id) is None:
        attach_socket(network_id, client_id, ip)


def check_audio(data: bytes) -> tuple[str, float | None]:
    from mira.audio.decode import AudioError, probe_duration, sniff

    if not data:
        raise BadRequest("The audio is empty", "EMPTY_AUDIO")
    try:
        fmt = sniff(data)
        duration = probe_duration(data, fmt)
    except AudioError as exc:
        kind = {"EMPTY_AUDIO": BadRequest, "UNSUPPORTED_AUDIO": Unsupported}.get(exc.code, Invalid)
        raise kind(str(exc), exc.code) from exc
    limit = current_app.config["MIRA_MAX_AUDIO_SECONDS"]
    if duration is not None and duration > limit:
        raise Invalid(f"The audio is longer than {limit:g} s", "AUDIO_TOO_LONG")
    if duration == 0:
        raise BadRequest("The audio holds no samples", "EMPTY_AUDIO")
    return fmt, duration


def _dedup_interval(
    arrived_ms: int,
    duration_s: float | None,
    captured_at: datetime | None,
    chunk_start_ms: int | None,
    chunk_end_ms: int | None,
) -> tuple[int, int, int | None]:
    """(start, end, captured start) in epoch ms: capture times when given, else the arrival
    widened by half the dedup window each side (arrivals within the window overlap)."""
    window = current_app.config["MIRA_DEDUP_WINDOW_MS"]
    if chunk_start_ms is not None and chunk_end_ms is not None:
        return chunk_start_ms, max(chunk_end_ms, chunk_start_ms + 1), chunk_start_ms
    if captured_at is not None:
        start = int(captured_at.timestamp() * 1000)
        length = int(duration_s * 1000) if duration_s else window
        return start, start + max(length, 1), start
    return arrived_ms - window // 2, arrived_ms + window // 2 + 1, None


def accept(
    network_id: uuid.UUID,
    client_id: str,
    data: bytes,
    *,
    captured_at: datetime | None = None,
    chunk_start_ms: int | None = None,
    chunk_end_ms: int | None = None,
    metadata: dict[str, Any] | None = None,
    kind: str = "analyze",
    dispatch: bool = True,
    idempotency_key: str | None = None,
) -> Job:
    """Store the upload and commit its job before answering; then hand the job to the queue
    (unless the caller runs it itself). `analyze` jobs take part in duplicate arbitration; a
    `voice` command is one client's request and does not. With an `idempotency_key` already
    used by this client, the first upload's job is returned and nothing is stored."""
    now = utcnow()
    _touch_client(network_id, client_id, now)
    if chunk_start_ms is not None and chunk_end_ms is not None and chunk_end_ms < chunk_start_ms:
        raise Invalid(
            "chunk_end_ms is before chunk_start_ms",
            errors={"chunk_end_ms": ["Before chunk_start_ms."]},
        )
    fmt, duration = check_audio(data)
    idem = None
    if idempotency_key is not None:
        idem = _idempotency_scope(kind, client_id, idempotency_key, data)
        first = idempotency.find(network_id, *idem)
        if first is not None:
            return first
    arrived_ms = int(now.timestamp() * 1000)
    start_ms, end_ms, captured_ms = _dedup_interval(
        arrived_ms, duration, captured_at, chunk_start_ms, chunk_end_ms
    )
    job_id = uuid.uuid4()
    key = f"{network_id}/{now:%Y/%m/%d}/{job_id}.{EXTENSIONS[fmt]}"
    payload = {
        "audio_key": key,
        "format": fmt,
        "bytes": len(data),
        "captured_start_ms": captured_ms,
        "arrived_ms": arrived_ms,
        "metadata": metadata or {},
    }
    return store_and_commit(
        key,
        data,
        lambda: jobs.create(
            network_id,
            kind,
            payload,
            client_id=client_id,
            job_id=job_id,
            dedup=(start_ms, end_ms) if kind == "analyze" else None,
            dispatch=False,
            also=(idempotency.row(network_id, *idem, job_id),) if idem else (),
        ),
        network_id=network_id,
        job_id=job_id,
        idem=idem,
        dispatch=dispatch,
    )


def _idempotency_scope(kind: str, client_id: str, key: str, data: bytes) -> tuple[str, str, str]:
    """A key is one client's, per kind of upload, and holds for the same bytes only."""
    return f"{kind}:{client_id}", key, idempotency.digest(data)


def _touch_client(network_id: uuid.UUID, client_id: str, now: datetime) -> None:
    """503 while the network's service is off, 404 unless the client is registered; else mark
    it seen, committed with the job (a refused upload rolls it back). One statement on the
    session's connection, where loading the network and the client and then updating it took
    three round trips and the ORM's CPU per upload; only a refused upload asks why.

    Uploading without a socket (an app that renamed its client and dropped the socket) keeps a
    released client alive: held by its uploads from now on instead of expiring with the socket.
    """
    connection = db.session.connection()
    touched = connection.execute(
        _touch_statement(), {"network": network_id, "client": client_id, "now": now}
    ).first()
    if touched is not None:
        return
    networks = Network.__table__
    enabled = connection.execute(
        select(networks.c.service_enabled).where(networks.c.id == network_id)
    ).scalar()
    if enabled is False:
        raise Unavailable("The service is disabled for this network", "SERVICE_DISABLED")
    if enabled is None:  # deleted since the credentials were checked
        raise NotFound("Network not found", "NOT_FOUND")
    raise NotFound(f"Client '{client_id}' is not registered", "CLIENT_NOT_REGISTERED")


@cache
def _touch_statement():
    """Built once: composing the statement cost more CPU than running it."""
    clients, networks = Client.__table__, Network.__table__
    network_id = bindparam("network", type_=clients.c.network_id.type)
    return (
        update(clients)
        .where(
            clients.c.network_id == network_id,
            clients.c.client_id == bindparam("client", type_=clients.c.client_id.type),
            select(networks.c.id)
            .where(networks.c.id == network_id, networks.c.service_enabled.is_(True))
            .exists(),
        )
        .values(
            last_seen=bindparam("now", type_=clients.c.last_seen.type),
            # The old row's values on the right: a released client forgets its socket too.
            socket_seen_at=case((clients.c.released_at.is_(None), clients.c.socket_seen_at)),
            released_at=None,
        )
        .returning(clients.c.id)
    )


def store_and_commit(
    blob_key: str,
    data: bytes,
    create: Callable[[], Job],
    *,
    network_id: uuid.UUID,
    job_id: uuid.UUID,
    idem: tuple[str, str, str] | None = None,
    dispatch: bool = True,
) -> Job:
    """Write the blob under its final key, then commit the job row that points at it; the
    client sees both or neither.

    - The commit fails: the session is rolled back and the blob deleted, and the error goes
      on (a database error answers 503, nothing stored).
    - The commit raised but happened (the connection died after the server committed): the
      job is looked up on a fresh connection and, found, answered as accepted, so the client
      is never told "failed" about a job that runs.
    - Its outcome cannot be known (the database is still away): the blob stays for the
      orphan sweep, which deletes it only once no row refers to it (`mira.ops.orphans`).
    - Another request committed the same idempotency key first: its job is the answer.
    A process killed between the write and the commit leaves a blob with no row; the orphan
    sweep removes it too.
    """
    store = blob_store()
    store.put(blob_key, data)
    try:
        job = create()
    except Exception as exc:
        _rollback()
        if idem is not None and idempotency.is_clash(exc):
            store.delete(blob_key)
            first = idempotency.find(network_id, *idem)
            if first is not None:
                return first
            raise Conflict(
                "Another upload with this Idempotency-Key is in progress; retry",
                "IDEMPOTENCY_KEY_IN_USE",
                headers={"Retry-After": "1"},
            ) from exc
        try:
            committed = db.session.get(Job, job_id)
        except Exception:
            _rollback()
            log.warning("upload %s: commit outcome unknown; left for the orphan sweep", job_id)
            raise exc from None
        if committed is None:
            store.delete(blob_key)
            raise
        log.warning("upload %s: the commit raised but happened; accepted", job_id)
        job = committed
    if dispatch:
        jobs.dispatch_soon(job)
    return job


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it
        log.debug("rollback failed", exc_info=True)


def wait_for(job: Job, seconds: float) -> Job:
    """Poll the job row until it finishes or `seconds` pass."""
    deadline = time.monotonic() + min(seconds, current_app.config["MIRA_UPLOAD_WAIT_MAX_S"])
    while job.status not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.05)
        db.session.rollback()  # see the worker's commits
        job = db.session.get(Job, job.id)
    return job
