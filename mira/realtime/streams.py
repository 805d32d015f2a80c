"""Job streams: what a running job says as it goes, read by the request that started it.

A voice command answers as Server-Sent Events while its job runs on a worker. The job `emit`s
each event (transcript, tool calls, reply tokens, done); the request `follow`s them. With Redis
the events travel in a list per job (workers are other processes and hosts); without it the job
runs in this process (embedded threads, `sync`) and a queue in memory carries them. A stream
ends with an event of type `done`.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask

KEY = "mira:stream:{job_id}"
KEEP_S = 300  # a stream nobody followed is dropped after this long
_local: dict[str, tuple[float, queue.Queue]] = {}
_local_lock = threading.Lock()


def _uses_redis(app: Flask) -> bool:
    return bool(app.config.get("REDIS_URL"))


def _local_queue(job_id: str) -> queue.Queue:
    now = time.monotonic()
    with _local_lock:
        for stale in [k for k, (born, _) in _local.items() if born < now - KEEP_S]:
            del _local[stale]
        if job_id not in _local:
            _local[job_id] = (now, queue.Queue())
        return _local[job_id][1]


def emit(app: Flask, job_id: str, event: dict[str, Any]) -> None:
    if _uses_redis(app):
        from mira.queue import redis_connection

        key = KEY.format(job_id=job_id)
        pipe = redis_connection(app).pipeline()
        pipe.rpush(key, json.dumps(event, default=str))
        pipe.expire(key, KEEP_S)
        pipe.execute()
    else:
        _local_queue(str(job_id)).put(event)


def follow(app: Flask, job_id: str, timeout_s: float) -> Iterator[dict[str, Any]]:
    """The job's events as they come, up to its `done`; an `error` and a `done` of its own when
    the job says nothing for `timeout_s` (a worker that died, a queue nobody drains)."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        event = _next(app, str(job_id), min(1.0, left)) if left > 0 else None
        if event is None:
            if time.monotonic() < deadline:
                continue
            yield {"type": "error", "message": "No answer in time; try again"}
            yield {"type": "done"}
            break
        yield event
        if event.get("type") == "done":
            break
        deadline = time.monotonic() + timeout_s
    _forget(app, str(job_id))


def outcome(job) -> list[dict[str, Any]]:
    """An ended voice job's answer once more, for a request retried with its Idempotency-Key:
    the live stream went to the first request, so this is the answer as the job's result keeps
    it (the transcript, the reply as one token, or the error), then `done`."""
    result = job.result or {}
    events: list[dict[str, Any]] = []
    if job.status == "succeeded":
        if result.get("transcript"):
            events.append({"type": "transcript", "text": result["transcript"]})
        if result.get("response"):
            events.append({"type": "token", "text": result["response"]})
    else:
        _code, _, message = (job.error or "").partition(": ")
        events.append({"type": "error", "message": message or "The command failed"})
    events.append({"type": "done"})
    return events


def _next(app: Flask, job_id: str, wait_s: float) -> dict[str, Any] | None:
    if _uses_redis(app):
        from mira.queue import redis_connection

        popped = redis_connection(app).blpop([KEY.format(job_id=job_id)], timeout=max(wait_s, 0.1))
        return json.loads(popped[1]) if popped else None
    try:
        return _local_queue(job_id).get(timeout=max(wait_s, 0.01))
    except queue.Empty:
        return None


def _forget(app: Flask, job_id: str) -> None:
    if _uses_redis(app):
        from mira.queue import redis_connection

        redis_connection(app).delete(KEY.format(job_id=job_id))
    else:
        with _local_lock:
            _local.pop(job_id, None)
