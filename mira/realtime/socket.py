"""`GET {prefix}/realtime/ws`: the Mira apps' realtime channel (flask-sock).

Query: `token` (access token or device key; an `Authorization` or `X-API-Key` header works
too), `client_id` (the app's; one is made up when missing), and optionally `last_event_id` (the
`id` of the last event this client saw: what it missed is sent first).

Server -> client: JSON objects with an `event` field (see mira.realtime.messages); first
`session_ready` and `service_status`, then every event of the network as it commits. Client ->
server: `{"type": "ping"}` (answered `{"event": "pong"}`); nothing else is needed.

Close codes: 4001 bad credentials, 4003 network out of reach (the apps do not reconnect after
either), 4401 access token expired (they reconnect, with a refreshed token), 1003 a binary
frame, 1007 a frame that is not a JSON object, 1008 too many frames, 1009 a frame over 4 KiB,
1012 the server is restarting, 1013 the server is full or the client read too slowly
(reconnect with `last_event_id`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import time
import uuid
from typing import Any

from flask import Blueprint, current_app, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from mira.realtime import messages, sessions
from mira.realtime.hub import Connection, hub_for
from mira.schemas import MAX_CLIENT_ID

log = logging.getLogger("mira.realtime")

blp = Blueprint("realtime", __name__)
sock = Sock()

# The server sends something at least this often (the dadei apps reconnect after 60 s of
# silence; the apps' own pings are answered as they come).
HEARTBEAT_S = 25.0
# Frames a client may send: a burst of this many, refilled at FRAMES_PER_S.
FRAME_BURST = 20
FRAMES_PER_S = 1.0
CATCH_UP_LIMIT = 500


class Rejected(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _close(ws, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):  # already closed by the other side
        ws.close(reason=code, message=reason)
    # The closing handshake: wait (briefly) for the client's close frame, which ends the
    # reader thread, before the connection is dropped; dropping it at once can lose our close
    # frame, and with it the code the apps decide on.
    reader = getattr(ws, "thread", None)
    if reader is not None:
        reader.join(timeout=1.0)
    _hang_up(ws)


def _hang_up(ws) -> None:
    """End our half of the TCP connection, as the server should once the close frames are
    exchanged (whoever sent the first). Without it, a client that answered our close frame (a
    browser does) waits for the server's FIN while the web server drains the socket waiting for
    the client's, until a client-side timeout: 10 s for some clients, while the app's `onclose`
    waits. It happens when simple-websocket's reader closes on its own (a frame over the size
    limit) or had not started yet when the close went out."""
    with contextlib.suppress(OSError, AttributeError):
        ws.sock.shutdown(socket.SHUT_WR)


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.args.get("token") or request.headers.get("X-API-Key") or None


def _authenticate(network_id: str | None):
    """The caller's scope, or Rejected with the close code the apps understand."""
    from mira.auth.scope import parse_uuid, scope_for_token
    from mira.auth.tokens import ExpiredToken
    from mira.errors import MiraError, Unauthorized

    token = _token()
    if not token:
        raise Rejected(4001, "Missing token")
    try:
        wanted = parse_uuid(network_id, "network_id") if network_id else None
        return scope_for_token(token, wanted)
    except MiraError as exc:
        if isinstance(exc, Unauthorized):
            code = 4401 if isinstance(exc.__cause__, ExpiredToken) else 4001
            raise Rejected(code, exc.detail) from exc
        raise Rejected(4003, exc.detail) from exc


def _client_id() -> str:
    given = (request.args.get("client_id") or "").strip()
    if given and len(given) <= MAX_CLIENT_ID and "\x00" not in given:
        return given
    return f"client-{secrets.token_hex(4)}"


def _last_event_id() -> int | None:
    raw = request.args.get("last_event_id") or request.args.get("after")
    if raw and raw.isdigit() and len(raw) < 19:
        return int(raw)
    return None


def _newest_event_id(network_id: uuid.UUID) -> int:
    from mira.events.models import Event
    from mira.extensions import db

    newest = db.select(db.func.max(Event.id)).where(Event.network_id == network_id)
    return db.session.scalar(newest) or 0


def _missed_events(network_id: uuid.UUID, after: int) -> list[dict[str, Any]]:
    from mira.events.services import newer_than
    from mira.realtime.outbox import payload

    return [payload(row) for row in newer_than(network_id, after, CATCH_UP_LIMIT)]


class Session:
    """One socket's conversation with its client, run on the request's own thread."""

    def __init__(self, ws, scope, client, after_id: int):
        cfg = current_app.config
        self.ws = ws
        self.secret = cfg["SECRET_KEY"]
        self.token_s = cfg["MIRA_SESSION_TOKEN_S"]
        self.session = sessions.Session(
            scope.network_id, client.client_id, sessions.new_session_id()
        )
        self.conn = Connection(ws.event, scope.network_id, client.id, after_id)
        self.last_sent = 0.0
        self.renew_at = 0.0
        self.allowance = float(FRAME_BURST)
        self.allowance_at = time.monotonic()

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message, default=str, ensure_ascii=False))
        self.last_sent = time.monotonic()

    def send_session_ready(self) -> None:
        self.send(
            {
                "event": "session_ready",
                "client_id": self.session.client_id,
                "session_id": self.session.session_id,
                "session_token": sessions.issue(self.session, self.secret, self.token_s),
                "expires_in_seconds": self.token_s,
                "network_id": str(self.session.network_id),
            }
        )
        # A fresh capability before the current one runs out.
        self.renew_at = time.monotonic() + self.token_s * 0.8

    def send_frames(self, frames: list[str]) -> None:
        for text in frames:
            self.ws.send(text)
        if frames:
            self.last_sent = time.monotonic()

    def handle(self, frame) -> tuple[int, str] | None:
        """One frame from the client; a (code, reason) to close with, or None."""
        now = time.monotonic()
        self.allowance = min(FRAME_BURST, self.allowance + (now - self.allowance_at) * FRAMES_PER_S)
        self.allowance_at = now
        if self.allowance < 1:
            return 1008, "Too many frames"
        self.allowance -= 1
        if isinstance(frame, bytes):
            return 1003, "Frames must be JSON text"
        try:
            body = json.loads(frame)
        except ValueError:
            return 1007, "Frames must be JSON objects"
        if not isinstance(body, dict):
            return 1007, "Frames must be JSON objects"
        kind = body.get("type")
        if kind == "ping":
            self.send({"event": "pong"})
        else:
            self.send({"event": "error", "detail": f"Unknown frame type: {str(kind)[:64]}"})
        return None

    def notice_a_closing_reader(self) -> None:
        """A wake that brought nothing may be simple-websocket's reader closing the socket on
        its own over a frame past the size limit: it wakes us first and marks the socket
        closed a moment later, so `receive` still answered "nothing yet". Missing it would hold
        the socket open until the next heartbeat. The reader leaves the oversized length in
        place, which tells that case from a wake by the hub."""
        ws = self.ws
        limit = getattr(ws, "max_message_size", None)
        if limit and getattr(ws, "incoming_message_len", 0) > limit:
            reader = getattr(ws, "thread", None)
            if reader is not None:
                reader.join(timeout=1.0)
            raise ConnectionClosed(1009, "Message is too big")

    def run(self, enabled: bool, missed_after: int | None) -> None:
        ws = self.ws
        self.send_session_ready()
        self.send({"event": "service_status", "enabled": enabled})
        if missed_after is not None:
            from mira.extensions import db

            try:
                missed = filter(
                    None,
                    map(messages.socket_frame, _missed_events(self.conn.network_id, missed_after)),
                )
                self.send_frames(
                    [text for event_id, text in missed if self.conn.remember(event_id)]
                )
            finally:
                db.session.remove()
        while True:
            now = time.monotonic()
            wait = max(0.0, min(self.renew_at, self.last_sent + HEARTBEAT_S) - now)
            # Woken by a frame from the client (simple-websocket's reader sets this event), by
            # the hub offering an event, or by the timer.
            woken = ws.event.wait(wait)
            ws.event.clear()
            frames = 0
            while True:
                frame = ws.receive(timeout=0)  # raises ConnectionClosed once it is closed
                if frame is None:
                    break
                frames += 1
                verdict = self.handle(frame)
                if verdict is not None:
                    _close(ws, *verdict)
                    return
            outgoing = self.conn.take()
            if woken and not frames and not outgoing:
                self.notice_a_closing_reader()
            self.send_frames(outgoing)
            if self.conn.closing is not None:
                _close(ws, *self.conn.closing)
                return
            if self.conn.overflowed:
                _close(ws, 1013, "Too slow: reconnect with last_event_id")
                return
            now = time.monotonic()
            if now >= self.renew_at:
                self.send_session_ready()
            elif now - self.last_sent >= HEARTBEAT_S:
                self.send({"event": "heartbeat"})


def _serve(ws, network_id: str | None = None) -> None:
    from mira.clients import services as clients
    from mira.extensions import db

    app = current_app._get_current_object()
    try:
        scope = _authenticate(network_id)
    except Rejected as rejected:
        db.session.remove()
        _close(ws, rejected.code, rejected.reason)
        return
    hub = hub_for(app)
    if hub.count() >= app.config["MIRA_REALTIME_MAX_SOCKETS"]:
        db.session.remove()
        _close(ws, 1013, "Server full: try again later")
        return
    client_id = _client_id()
    client = clients.attach_socket(scope.network_id, client_id, request.remote_addr)
    enabled = bool(scope.network.service_enabled)
    missed_after = _last_event_id()
    after_id = missed_after if missed_after is not None else _newest_event_id(scope.network_id)
    session = Session(ws, scope, client, after_id)
    # Nothing below holds a database connection while the socket is open.
    db.session.remove()
    hub.add(session.conn)
    log.info("socket opened", extra={"network_id": str(scope.network_id), "client": client_id})
    try:
        session.run(enabled, missed_after)
    except ConnectionClosed:
        _hang_up(ws)
    finally:
        hub.remove(session.conn)
        try:
            if not hub.holds(scope.network_id, session.conn.client_pk):
                clients.release_socket(session.conn.client_pk)
        except Exception:
            log.warning("releasing client %s failed", client_id, exc_info=True)
        finally:
            db.session.remove()


@sock.route("/realtime/ws", bp=blp)
def realtime(ws):
    _serve(ws)


@sock.route("/<network_id>/realtime/ws", bp=blp)
def realtime_of_network(ws, network_id):
    _serve(ws, network_id)
