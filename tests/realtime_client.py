"""A real WebSocket client for the realtime tests (the `websockets` library's sync client), as
an app holds its socket: read JSON events, wait for one by name, see how the server closed.

Not simple-websocket's client: its handshake reads the server's 101 and keeps only the first
event, so a close frame arriving in the same read (a socket the server rejects at once, on a
busy machine) is never seen and the close looks like 1005."""

from __future__ import annotations

import contextlib
import json
import time
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


class Socket:
    def __init__(self, base_ws_url: str, path: str = "/api/v1/realtime/ws", **query):
        query = {k: v for k, v in query.items() if v is not None}
        self.url = f"{base_ws_url}{path}" + (f"?{urlencode(query)}" if query else "")
        # No proxy from the environment, no client pings: a browser's socket sends neither.
        # legacy=True: a connection held across calls rather than a context manager.
        self.ws = connect(self.url, proxy=None, ping_interval=None, open_timeout=10, legacy=True)
        self.seen: list[dict] = []
        self._unclaimed: list[dict] = []

    def send(self, body) -> None:
        self.ws.send(body if isinstance(body, str | bytes) else json.dumps(body))

    def next(self, timeout: float = 5.0) -> dict | None:
        """The next message, or None when none came in time; raises once closed."""
        try:
            raw = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return None
        message = json.loads(raw)
        self.seen.append(message)
        return message

    def wait_for(self, event: str, timeout: float = 5.0, where=None, **fields) -> dict:
        """The first message named `event` (with these fields) not taken yet, waiting for it if
        need be; messages passed over stay for a later wait_for."""

        def wanted(message: dict) -> bool:
            return (
                message.get("event") == event
                and all(message.get(k) == v for k, v in fields.items())
                and (where is None or where(message))
            )

        for i, message in enumerate(self._unclaimed):
            if wanted(message):
                return self._unclaimed.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {event} {fields or ''} within {timeout} s; saw {self.seen}"
            message = self.next(timeout=left)
            if message is None:
                continue
            if wanted(message):
                return message
            self._unclaimed.append(message)

    def closed_with(self, timeout: float = 5.0) -> tuple[int, str]:
        """Read until the server closes; its close code and reason (1006 when the connection
        dropped without a close frame)."""
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    self.ws.recv(timeout=min(left, 0.2))
        except ConnectionClosed as closed:
            if closed.rcvd is None:
                return 1006, ""
            return int(closed.rcvd.code), closed.rcvd.reason or ""
        raise AssertionError(f"the server did not close within {timeout} s")

    def close(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            self.ws.close()
