"""Prometheus metrics in the text exposition format, without a client library.

Request counters and the latency histogram live in this process (each gunicorn worker or
Lambda instance reports its own; Prometheus sums them by `instance`). Jobs by status and the
queue depth are read from the database at scrape time, so every process reports the same truth.
Writing the tiny text format here keeps `import wsgi` free of another dependency.

`/metrics` is guarded by `MIRA_METRICS_TOKEN` (a bearer token). Without a token it is open in
development and absent (404) in production, so it is never exposed by accident.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import defaultdict
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from mira.errors import MiraError

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestMetrics:
    """Per-process request counts and latency histograms, safe across threads."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS_S):
        self.buckets = buckets
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], int] = defaultdict(int)
        # (method, route) -> [count per bucket..., +Inf count], sum
        self._histograms: dict[tuple[str, str], list[int]] = {}
        self._sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, duration_s: float) -> None:
        key = (method, route)
        with self._lock:
            self._counts[(method, route, str(status))] += 1
            counts = self._histograms.get(key)
            if counts is None:
                counts = self._histograms[key] = [0] * (len(self.buckets) + 1)
            for index, bound in enumerate(self.buckets):
                if duration_s <= bound:
                    counts[index] += 1
            counts[-1] += 1
            self._sums[key] += duration_s

    def lines(self) -> list[str]:
        with self._lock:
            counts = dict(self._counts)
            histograms = {k: list(v) for k, v in self._histograms.items()}
            sums = dict(self._sums)
        out = [
            "# HELP mira_http_requests_total HTTP requests answered, by method, route and status.",
            "# TYPE mira_http_requests_total counter",
        ]
        for (method, route, status), value in sorted(counts.items()):
            labels = {"method": method, "route": route, "status": status}
            out.append(sample("mira_http_requests_total", labels, value))
        out += [
            "# HELP mira_http_request_duration_seconds Time to answer HTTP requests.",
            "# TYPE mira_http_request_duration_seconds histogram",
        ]
        for (method, route), bucket_counts in sorted(histograms.items()):
            base = {"method": method, "route": route}
            for bound, value in zip(self.buckets, bucket_counts, strict=False):
                out.append(
                    sample(
                        "mira_http_request_duration_seconds_bucket",
                        {**base, "le": _number(bound)},
                        value,
                    )
                )
            out.append(
                sample(
                    "mira_http_request_duration_seconds_bucket",
                    {**base, "le": "+Inf"},
                    bucket_counts[-1],
                )
            )
            out.append(
                sample("mira_http_request_duration_seconds_sum", base, sums[(method, route)])
            )
            out.append(sample("mira_http_request_duration_seconds_count", base, bucket_counts[-1]))
        return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value) if isinstance(value, float) else str(value)


def sample(name: str, labels: dict[str, Any], value: float) -> str:
    """One exposition line: `name{label="value",…} number`."""
    if labels:
        body = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
        return f"{name}{{{body}}} {_number(value)}"
    return f"{name} {_number(value)}"


def request_metrics(app: Flask | None = None) -> RequestMetrics:
    app = app or current_app
    metrics = app.extensions.get("mira_metrics")
    if metrics is None:
        metrics = app.extensions["mira_metrics"] = RequestMetrics()
    return metrics


def _job_lines() -> list[str]:
    from mira.extensions import db
    from mira.jobs.models import JOB_STATUSES, Job

    rows = db.session.execute(
        db.select(Job.kind, Job.status, db.func.count()).group_by(Job.kind, Job.status)
    ).all()
    by_status = dict.fromkeys(JOB_STATUSES, 0)
    out = [
        "# HELP mira_jobs Jobs in the database, by kind and status.",
        "# TYPE mira_jobs gauge",
    ]
    for kind, status, count in sorted(rows):
        by_status[status] = by_status.get(status, 0) + count
        out.append(sample("mira_jobs", {"kind": kind, "status": status}, count))
    out += [
        "# HELP mira_jobs_by_status Jobs in the database, by status (every status, zeros too).",
        "# TYPE mira_jobs_by_status gauge",
    ]
    out += [sample("mira_jobs_by_status", {"status": s}, n) for s, n in by_status.items()]
    out += [
        "# HELP mira_queue_depth Jobs waiting to run: queued rows, and messages in the broker.",
        "# TYPE mira_queue_depth gauge",
        sample("mira_queue_depth", {"source": "database"}, by_status.get("queued", 0)),
    ]
    if current_app.config["MIRA_QUEUE"] == "rq":
        from mira import queue

        try:
            out.append(sample("mira_queue_depth", {"source": "rq"}, queue.rq_queue().count))
        except Exception:  # Redis away: the database figure still stands
            current_app.logger.warning("metrics: Redis queue depth unavailable", exc_info=True)
    return out


def render(app: Flask | None = None) -> str:
    """The whole exposition: process info, requests, jobs and queue."""
    from mira import __version__

    app = app or current_app
    started = app.config.get("MIRA_STARTED_AT", time.time())
    lines = [
        "# HELP mira_info Build information.",
        "# TYPE mira_info gauge",
        sample("mira_info", {"version": __version__}, 1),
        "# HELP mira_uptime_seconds Seconds since this process built its app.",
        "# TYPE mira_uptime_seconds gauge",
        sample("mira_uptime_seconds", {}, round(time.time() - started, 3)),
    ]
    lines += request_metrics(app).lines()
    lines += _job_lines()
    return "\n".join(lines) + "\n"


def _authorise() -> None:
    token = current_app.config.get("MIRA_METRICS_TOKEN")
    if not token:
        if current_app.config["MIRA_ENV"] == "production":
            raise MiraError(404, "Not found", "NOT_FOUND")
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise MiraError(
            401,
            "A valid metrics token is required",
            "UNAUTHORIZED",
            headers={"WWW-Authenticate": "Bearer"},
        )


blp = Blueprint("metrics", __name__)


@blp.get("/metrics")
def metrics_view() -> Response:
    """Prometheus scrape target (not part of the OpenAPI document)."""
    _authorise()
    return Response(render(), mimetype=None, content_type=CONTENT_TYPE)


def init_app(app: Flask) -> None:
    request_metrics(app)
    app.register_blueprint(blp)
