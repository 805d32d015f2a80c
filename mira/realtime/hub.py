"""One hub per process: the sockets this process holds, and how events reach them.

Delivery: an event committed in this process goes straight to its local sockets; with Redis
(server mode) it is also published on one channel that every web process's hub listens to, so
a socket held by another gunicorn worker or host gets it too. The embedded default has no Redis
and one process: in-process delivery is all it needs. Whatever pub/sub drops (a Redis restart,
a publish that failed) a hub reads back from the events table every MIRA_REALTIME_POLL_S, and
each socket drops what it already sent, so an event reaches every socket once.

The hub never writes to a socket itself: it queues the event on the connection and wakes the
connection's own thread, so one slow client never holds up the others.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Flask

from mira import metrics
from mira.realtime.messages import socket_frame
from mira.types import utcnow

log = logging.getLogger("mira.realtime")

# One channel per deployment (named after its queue, so stacks sharing a Redis stay apart).
CHANNEL = "mira:events:{queue}"
# Events a connection may have queued before it counts as too slow and is closed (it reconnects
# with its last event id and reads the rest back).
MAX_PENDING = 1000
# Event ids a connection remembers having sent (pub/sub and the table read-back overlap).
REMEMBERED_IDS = 4096
# Clients held by this process's sockets are confirmed this often (one UPDATE per network).
CONFIRM_EVERY_S = 30.0
# The table read-back looks this far behind the newest id it saw (commits land out of id order).
READ_BACK_S = 15.0
# The read-back leaves younger events to pub/sub: an event a request caused must not reach the
# sockets before the request's response (see realtime/outbox.py), and it only has to catch what
# pub/sub missed.
READ_BACK_MIN_AGE_S = 2.0
# After Redis fails, publishing waits this long before trying again (the read-back covers).
REDIS_RETRY_S = 5.0


class Connection:
    """One open socket, as the hub sees it."""

    def __init__(
        self,
        wake: threading.Event,
        network_id: uuid.UUID,
        client_pk: uuid.UUID | None = None,
        after_id: int = 0,
    ):
        self.network_id = network_id
        self.client_pk = client_pk
        # Events up to this id happened before the socket connected (or the client said it saw
        # them): the table read-back must not replay them.
        self.after_id = after_id
        self._wake = wake
        self._pending: collections.deque[tuple[int, str]] = collections.deque()
        self._sent: set[int] = set()
        self._sent_order: collections.deque[int] = collections.deque()
        self.overflowed = False
        self.closing: tuple[int, str] | None = None

    def close(self, code: int, reason: str) -> None:
        """Ask the connection's thread to close the socket (any thread)."""
        self.closing = (code, reason)
        self._wake.set()

    def offer(self, frame: tuple[int, str]) -> None:
        """Queue an event's frame (any thread) and wake the connection's thread."""
        if len(self._pending) >= MAX_PENDING:
            self.overflowed = True
        else:
            self._pending.append(frame)
        self._wake.set()

    def take(self) -> list[str]:
        """Queued frames not sent before, oldest first (the connection's thread)."""
        fresh = []
        while self._pending:
            event_id, text = self._pending.popleft()
            if event_id > self.after_id and self.remember(event_id):
                fresh.append(text)
        return fresh

    def remember(self, event_id: int) -> bool:
        """Note an event as sent; False when it was sent already."""
        if event_id in self._sent:
            return False
        self._sent.add(event_id)
        self._sent_order.append(event_id)
        if len(self._sent_order) > REMEMBERED_IDS:
            self._sent.discard(self._sent_order.popleft())
        return True


class Hub:
    def __init__(self, app: Flask):
        self.app = app
        self.origin = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._by_network: dict[uuid.UUID, set[Connection]] = {}
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._redis_retry_at = 0.0
        # Long-polls of /events waiting in this process, by network: woken by each event.
        self._waiters: dict[uuid.UUID, set[threading.Event]] = {}
        self.channel = CHANNEL.format(queue=app.config.get("MIRA_QUEUE_NAME", "mira"))

    # Sockets -------------------------------------------------------------------------------

    def add(self, conn: Connection) -> None:
        with self._lock:
            conns = self._by_network.setdefault(conn.network_id, set())
            if conn not in conns:
                conns.add(conn)
                metrics.sockets_changed(+1)
            # The read-back starts where this socket starts (its network's newest event when it
            # connected), not whenever the thread first gets to look: an event committed in
            # between would otherwise fall below the floor and, if pub/sub missed it too, never
            # arrive.
            self._start(conn.after_id)

    def _start(self, floor: int | None) -> None:
        """The background thread (pub/sub, read-back), once; the caller holds the lock."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, args=(floor,), name="mira-realtime-hub", daemon=True
            )
            self._thread.start()

    def remove(self, conn: Connection) -> None:
        with self._lock:
            conns = self._by_network.get(conn.network_id)
            if conns is not None and conn in conns:
                conns.discard(conn)
                metrics.sockets_changed(-1)
                if not conns:
                    del self._by_network[conn.network_id]

    def stop(self) -> None:
        """End the background thread and close every socket (tests; an app being torn down)."""
        self._stopped.set()
        self.close_all(1001, "Going away")

    def close_all(self, code: int = 1012, reason: str = "Server restarting") -> None:
        """A web process stopping: every socket closes now with a code the apps reconnect on,
        instead of being cut when the process exits."""
        with self._lock:
            conns = [c for cs in self._by_network.values() for c in cs]
        for conn in conns:
            conn.close(code, reason)

    def holds(self, network_id: uuid.UUID, client_pk: uuid.UUID) -> bool:
        """Whether another socket of this process still holds the client."""
        with self._lock:
            return any(c.client_pk == client_pk for c in self._by_network.get(network_id, ()))

    def count(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._by_network.values())

    def _connections(self, network_id: uuid.UUID) -> list[Connection]:
        with self._lock:
            return list(self._by_network.get(network_id, ()))

    # Events --------------------------------------------------------------------------------

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Committed events: to this process's sockets, and to every other process."""
        for event in events:
            self.deliver(event)
        if self.app.config.get("REDIS_URL") and time.monotonic() >= self._redis_retry_at:
            try:
                message = json.dumps({"origin": self.origin, "events": events}, default=str)
                self._redis().publish(self.channel, message)
            except Exception:
                self._redis_retry_at = time.monotonic() + REDIS_RETRY_S
                log.warning("realtime publish failed; the read-back delivers", exc_info=True)

    def deliver(self, event: dict[str, Any]) -> None:
        network_id = event["network_id"]
        if not isinstance(network_id, uuid.UUID):
            network_id = uuid.UUID(str(network_id))
        self._wake(network_id)
        conns = self._connections(network_id)
        if not conns:
            return
        frame = socket_frame(event)
        if frame is not None:
            for conn in conns:
                conn.offer(frame)

    # Long-polls ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def waiter(self, network_id: uuid.UUID) -> Iterator[threading.Event]:
        """An Event set whenever an event of the network reaches this process (committed here,
        or published by another process through Redis), for a long-poll to sleep on instead of
        reading the table over and over. Clear it before each read of the table: an event
        delivered after the clear sets it again, so none is slept through."""
        woken = threading.Event()
        with self._lock:
            self._waiters.setdefault(network_id, set()).add(woken)
            if self.app.config.get("REDIS_URL"):
                self._start(None)  # events committed by workers arrive through pub/sub
        try:
            yield woken
        finally:
            with self._lock:
                waiting = self._waiters.get(network_id)
                if waiting is not None:
                    waiting.discard(woken)
                    if not waiting:
                        del self._waiters[network_id]

    def _wake(self, network_id: uuid.UUID) -> None:
        with self._lock:
            waiting = list(self._waiters.get(network_id, ()))
        for woken in waiting:
            woken.set()

    def _redis(self):
        from mira.queue import redis_connection

        return redis_connection(self.app)

    # Background: pub/sub, read-back, client confirmations -----------------------------------

    def _run(self, floor: int | None = None) -> None:
        pubsub = None
        read_back = ReadBack(self, floor)
        next_confirm = time.monotonic() + CONFIRM_EVERY_S
        poll_s = self.app.config["MIRA_REALTIME_POLL_S"]
        next_poll = time.monotonic()  # read back at once from the floor
        pause, resubscribe_at = 1.0, 0.0
        while not self._stopped.is_set():
            now = time.monotonic()
            if now >= next_poll:
                next_poll = now + poll_s
                self._guarded(read_back.run)
            if now >= next_confirm:
                next_confirm = now + CONFIRM_EVERY_S
                self._guarded(self._confirm_clients)
            try:
                if self.app.config.get("REDIS_URL") and time.monotonic() >= resubscribe_at:
                    if pubsub is None:
                        pubsub = self._subscribe()
                        pause = 1.0
                        next_poll = time.monotonic()  # read back what passed while away
                    self._drain(pubsub, timeout=min(1.0, poll_s))
                else:
                    time.sleep(min(1.0, poll_s))
            except Exception as exc:
                # Redis away: the table read-back carries delivery until it is back.
                log.warning("realtime subscription lost (%s); retrying in %.0f s", exc, pause)
                pubsub = self._close(pubsub)
                resubscribe_at = time.monotonic() + pause
                pause = min(pause * 2, 30.0)
        self._close(pubsub)

    def _subscribe(self):
        from redis import Redis

        conn = Redis.from_url(self.app.config["REDIS_URL"], socket_connect_timeout=2)
        pubsub = conn.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self.channel)
        return pubsub

    @staticmethod
    def _close(pubsub):
        try:
            if pubsub is not None:
                pubsub.close()
        except Exception:
            pass
        return None

    def _drain(self, pubsub, timeout: float) -> None:
        message = pubsub.get_message(timeout=timeout)
        while message is not None:
            if message.get("type") == "message":
                body = json.loads(message["data"])
                if body.get("origin") != self.origin:
                    for event in body.get("events", ()):
                        self.deliver(event)
            message = pubsub.get_message(timeout=0)

    def _guarded(self, work) -> None:
        from mira.extensions import db

        with self.app.app_context():
            try:
                work()
            except Exception:  # the database may be briefly away; next period
                log.warning("realtime housekeeping failed", exc_info=True)
            finally:
                db.session.remove()

    def _confirm_clients(self) -> None:
        from mira.clients.services import confirm_sockets

        with self._lock:
            held = {c.client_pk for cs in self._by_network.values() for c in cs if c.client_pk}
        if held:
            confirm_sockets(sorted(held, key=str))


class ReadBack:
    """Reads recent events of the networks with local sockets back from the table."""

    def __init__(self, hub: Hub, floor: int | None = None):
        self.hub = hub
        # None: the first run takes the newest event id as the floor.
        self.floor = floor
        self._seen: collections.deque[tuple[float, int]] = collections.deque()
        if floor is not None:
            self._seen.append((time.monotonic(), floor))

    def run(self) -> None:
        from mira.events.models import Event
        from mira.extensions import db
        from mira.realtime.outbox import payload

        if self.floor is None:
            self.floor = db.session.scalar(db.select(db.func.max(Event.id))) or 0
            self._seen.append((time.monotonic(), self.floor))
            return
        with self.hub._lock:
            networks = list(self.hub._by_network)
        newest = self.floor
        if networks:
            old_enough = utcnow() - timedelta(seconds=READ_BACK_MIN_AGE_S)
            rows = db.session.scalars(
                db.select(Event)
                .where(
                    Event.id > self.floor,
                    Event.network_id.in_(networks),
                    Event.created_at <= old_enough,
                )
                .order_by(Event.id)
                .limit(1000)
            ).all()
            for row in rows:
                self.hub.deliver(payload(row))
                newest = max(newest, row.id)
        else:
            newest = db.session.scalar(db.select(db.func.max(Event.id))) or self.floor
        now = time.monotonic()
        self._seen.append((now, max(newest, self._seen[-1][1] if self._seen else 0)))
        # Move the floor to the newest id seen READ_BACK_S ago: a commit that took an earlier id
        # but landed later is still read.
        while len(self._seen) > 1 and self._seen[1][0] <= now - READ_BACK_S:
            self._seen.popleft()
        if self._seen[0][0] <= now - READ_BACK_S:
            self.floor = self._seen[0][1]


def hub_for(app: Flask) -> Hub:
    # The hub's thread outlives the request: it must hold the app, not `current_app`'s proxy.
    app = getattr(app, "_get_current_object", lambda: app)()
    hub = app.extensions.get("mira_realtime")
    if hub is None:
        hub = app.extensions.setdefault("mira_realtime", Hub(app))
    return hub
