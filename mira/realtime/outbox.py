"""Publish events once the transaction that recorded them commits.

`events.record` stages an Event in the session; the rows themselves are the outbox. Here the
session remembers what it flushed and, after the commit, hands it to this process's hub (and
so to every web process through Redis). A rollback forgets them: nothing is pushed that did
not happen. A publish that fails loses nothing either: hubs also read the table back.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import event as sa_event

log = logging.getLogger("mira.realtime")

_STAGED = "mira_outbox_staged"
_FLUSHED = "mira_outbox_flushed"
_AFTER_RESPONSE = "mira.publish_after_response"  # per request, in its WSGI environ


def stage(session, event) -> None:
    session.info.setdefault(_STAGED, []).append(event)


def payload(event) -> dict[str, Any]:
    return {
        "id": event.id,
        "network_id": str(event.network_id),
        "type": event.type,
        "data": event.data,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z")
        if event.created_at
        else None,
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
    timer = threading.Timer(delay_s, _publish, (app, events))
    timer.daemon = True
    timer.start()


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
