"""Publish events once the transaction that recorded them commits.

`events.record` stages an Event in the session; the rows themselves are the outbox. Here the
session remembers what it flushed and, after the commit, hands it to this process's hub (and
so to every web process through Redis). A rollback forgets them: nothing is pushed that did
not happen. A publish that fails loses nothing either: hubs also read the table back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from sqlalchemy import event as sa_event

log = logging.getLogger("mira.realtime")

_STAGED = "mira_outbox_staged"
_FLUSHED = "mira_outbox_flushed"
_AFTER_RESPONSE = "mira.publish_after_response"  # per request, in its WSGI environ
_PUBLISHER = "mira_outbox_publisher"  # per app, in its extensions


def stage(session, event) -> None:
    session.info.setdefault(_STAGED, []).append(event)


def flushed(session, event_payload: dict[str, Any]) -> None:
    """An event already written in the session's transaction (with its id): published once the
    transaction commits, forgotten if it rolls back."""
    session.info.setdefault(_FLUSHED, []).append(event_payload)


def payload(event) -> dict[str, Any]:
    return payload_of(event.id, event.network_id, event.type, event.data, event.created_at)


def payload_of(event_id: int, network_id, type_: str, data: Any, created_at) -> dict[str, Any]:
    """What the sockets and the hubs receive of an event (the columns of its row)."""
    return {
        "id": event_id,
        "network_id": str(network_id),
        "type": type_,
        "data": data,
        "created_at": created_at.isoformat().replace("+00:00", "Z") if created_at else None,
    }


def _after_flush(session, _context) -> None:
    staged = session.info.get(_STAGED)
    if not staged:
        return
    flushed = session.info.setdefault(_FLUSHED, [])
    still_staged = []
    for event in staged:
        if event.id is None:
            still_staged.append(event)
        else:
            flushed.append(payload(event))
    session.info[_STAGED] = still_staged


def _after_commit(session) -> None:
    session.info.pop(_STAGED, None)
    flushed = session.info.pop(_FLUSHED, None)
    if not flushed:
        return
    from flask import current_app, has_app_context

    if not has_app_context():
        return
    app = current_app._get_current_object()
    if not _publish_after_response(app, flushed):
        _publish(app, flushed)


def _publish(app, events: list[dict[str, Any]]) -> None:
    try:
        from mira.realtime.hub import hub_for

        hub_for(app).publish(events)
    except Exception:  # never fail the committed change; hubs read the outbox back
        log.warning("publishing %d events failed", len(events), exc_info=True)


def _publish_soon(app, events: list[dict[str, Any]]) -> None:
    """A moment after the response went out: a browser may hand a socket message to the page
    before the fetch that caused it resolves, even when the response came first (measured with
    the real website: 2-22 ms), and the apps only start waiting for `service_status` once their
    PATCH resolved."""
    delay_s = app.config["MIRA_EVENTS_AFTER_RESPONSE_MS"] / 1000
    if delay_s <= 0:
        _publish(app, events)
        return
    _publisher(app).add(time.monotonic() + delay_s, events)


class _Publisher:
    """One thread per app (and process) publishes what the responses left, each batch once its
    moment has come (never before it), in the order they were left. No thread per request, and
    at most one publish (one Redis round trip) per `GAP_S`: what falls due within it waits for
    the next one, so under load many requests share a publish."""

    GAP_S = 0.02

    def __init__(self, app):
        self.app = app
        self.pending: deque[tuple[float, list[dict[str, Any]]]] = deque()
        self.ready = threading.Condition()
        self.thread: threading.Thread | None = None
        self.last = 0.0

    def add(self, due: float, events: list[dict[str, Any]]) -> None:
        with self.ready:
            self.pending.append((due, events))
            # Started on first use, and again in a forked child (the parent's thread is not
            # there).
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="mira-outbox", daemon=True)
                self.thread.start()
            self.ready.notify()

    def _due(self) -> list[dict[str, Any]]:
        """Wait for the next batches to fall due; the events of all that have."""
        with self.ready:
            while True:
                if self.pending:
                    wait = max(self.pending[0][0], self.last + self.GAP_S) - time.monotonic()
                    if wait <= 0:
                        break
                    self.ready.wait(wait)
                else:
                    self.ready.wait()
            now = self.last = time.monotonic()
            due: list[dict[str, Any]] = []
            while self.pending and self.pending[0][0] <= now:
                due.extend(self.pending.popleft()[1])
            return due

    def _run(self) -> None:
        while True:
            try:
                _publish(self.app, self._due())
            except Exception:  # _publish logs its own failures; this only guards the thread
                log.exception("the outbox publisher failed")


_publishers_lock = threading.Lock()


def _publisher(app) -> _Publisher:
    publisher = app.extensions.get(_PUBLISHER)
    if publisher is None:
        with _publishers_lock:
            publisher = app.extensions.setdefault(_PUBLISHER, _Publisher(app))
    return publisher


def _publish_after_response(app, events: list[dict[str, Any]]) -> bool:
    """In a request, publish once its response has gone out: an app that changed something
    hears of it after its own request returned (the apps start waiting for `service_status`
    only once their PATCH answered). False where there is no response to wait for."""
    from flask import after_this_request, has_request_context, request

    if not has_request_context() or request.headers.get("Upgrade", "").lower() == "websocket":
        return False
    waiting = request.environ.get(_AFTER_RESPONSE)
    if waiting is not None:
        waiting.extend(events)
        return True
    waiting = request.environ[_AFTER_RESPONSE] = list(events)

    def when_sent(response):
        response.call_on_close(lambda: _publish_soon(app, waiting))
        return response

    try:
        after_this_request(when_sent)
    except (AssertionError, RuntimeError):  # the response is already being made
        del request.environ[_AFTER_RESPONSE]
        return False
    return True


def _after_rollback(session) -> None:
    session.info.pop(_STAGED, None)
    session.info.pop(_FLUSHED, None)


def install(scoped_session) -> None:
    """Listen on the app's session (idempotent)."""
    if getattr(scoped_session, "_mira_outbox", False):
        return
    sa_event.listen(scoped_session, "after_flush", _after_flush)
    sa_event.listen(scoped_session, "after_commit", _after_commit)
    sa_event.listen(scoped_session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
    scoped_session._mira_outbox = True
