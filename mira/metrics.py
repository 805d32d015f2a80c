"""Prometheus metrics with prometheus_client, exact across processes.

Requests (count and latency per route), jobs (by kind and outcome, run time, time per stage)
and open realtime sockets are prometheus_client metrics. With `MIRA_METRICS_DIR` set (gunicorn's
config sets it for its workers; point `flask mira worker` at the same folder on the same host)
they run in multiprocess mode: every process writes its values to files there, and a scrape,
whichever worker answers it, adds up all of them, so 30 requests spread over two workers show
as 30. Without it (one process: `flask run`, tests) the process reports its own.

Jobs by status and the queue depth are read from the database at scrape time, so every process
reports the same truth.

`/metrics` is guarded by `MIRA_METRICS_TOKEN` (a bearer token). Without a token it is open in
development and absent (404) in production, so it is never exposed by accident.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from mira.errors import NotFound, Unauthorized

# The classic text format: what every Prometheus version scrapes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_metrics_dir(folder: str | None) -> None:
    """Multiprocess mode for this process: must happen before prometheus_client is imported
    (it picks its value store then), which is why the metrics below are made on first use."""
    if folder and not os.environ.get(MULTIPROC_ENV):
        os.makedirs(folder, exist_ok=True)
        os.environ[MULTIPROC_ENV] = folder


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


_made: dict[str, Any] | None = None
_made_lock = threading.Lock()


def _metrics() -> dict[str, Any]:
    """This process's metrics, made once under a lock. `functools.cache` let two request
    threads of a fresh worker both make them: each then held counters of its own, and in
    multiprocess mode (each counter a value in the process's file, cached in the object) one
    thread's increments overwrote the other's — a request lost from the count."""
    global _made
    made = _made
    if made is None:
        with _made_lock:
            if _made is None:
                _made = _build_metrics()
            made = _made
    return made


def _build_metrics() -> dict[str, Any]:
    from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

    disable_created_metrics()  # the `_created` series only double a scrape's size
    made = {
        "requests": Counter(
            "mira_http_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=None,
        ),
        "latency": Histogram(
            "mira_http_request_duration_seconds",
            "Time to answer HTTP requests.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=None,
        ),
        "jobs": Counter(
            "mira_jobs_finished",
            "Jobs that ended an attempt, by kind and outcome (succeeded, superseded, retried, "
            "failed).",
            ["kind", "outcome"],
            registry=None,
        ),
        "job_seconds": Histogram(
            "mira_job_duration_seconds",
            "From a job's start to its end, per attempt.",
            ["kind"],
            buckets=JOB_BUCKETS_S,
            registry=None,
        ),
        "stage_seconds": Histogram(
            "mira_job_stage_duration_seconds",
            "Time spent in each stage of a job (decode, vad, embed, transcribe, …).",
            ["kind", "stage"],
            buckets=JOB_BUCKETS_S,
            registry=None,
        ),
        "sockets": Gauge(
            "mira_realtime_sockets",
            "Realtime sockets open.",
            registry=None,
            multiprocess_mode="livesum",
        ),
    }
    return made


def observe_request(method: str, route: str, status: int, duration_s: float) -> None:
    metrics = _metrics()
    metrics["requests"].labels(method, route, str(status)).inc()
    metrics["latency"].labels(method, route).observe(duration_s)


def job_finished(kind: str, outcome: str, duration_s: float | None) -> None:
    metrics = _metrics()
    metrics["jobs"].labels(kind, outcome).inc()
    if duration_s is not None and duration_s >= 0:
        metrics["job_seconds"].labels(kind).observe(duration_s)


def job_stages(kind: str, timings_ms: dict[str, Any]) -> None:
    histogram = _metrics()["stage_seconds"]
    for stage, value in timings_ms.items():
        if isinstance(value, int | float) and value >= 0:
            histogram.labels(kind, stage).observe(value / 1000.0)


def sockets_changed(delta: int) -> None:
    gauge = _metrics()["sockets"]
    if delta > 0:
        gauge.inc(delta)
    elif delta < 0:
        gauge.dec(-delta)


class _Scrape:
    """What only the scrape knows: build info, this process's uptime, jobs and queue from the
    database (a prometheus_client custom collector)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from mira import __version__

        info = GaugeMetricFamily("mira_info", "Build information.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        started = self.app.config.get("MIRA_STARTED_AT", time.time())
        yield GaugeMetricFamily(
            "mira_uptime_seconds",
            "Seconds since the answering process built its app.",
            value=round(time.time() - started, 3),
        )
        yield from _job_families(self.app)


def _job_families(app: Flask):
    from prometheus_client.core import GaugeMetricFamily

    from mira.extensions import db
    from mira.jobs.models import JOB_STATUSES, Job

    rows = db.session.execute(
        db.select(Job.kind, Job.status, db.func.count()).group_by(Job.kind, Job.status)
    ).all()
    jobs = GaugeMetricFamily(
        "mira_jobs", "Jobs in the database, by kind and status.", labels=["kind", "status"]
    )
    by_status = dict.fromkeys(JOB_STATUSES, 0)
    for kind, status, count in sorted(rows):
        by_status[status] = by_status.get(status, 0) + count
        jobs.add_metric([kind, status], count)
    yield jobs
    statuses = GaugeMetricFamily(
        "mira_jobs_by_status",
        "Jobs in the database, by status (every status, zeros too).",
        labels=["status"],
    )
    for status, count in by_status.items():
        statuses.add_metric([status], count)
    yield statuses
    depth = GaugeMetricFamily(
        "mira_queue_depth",
        "Jobs waiting to run: queued rows, and messages in the broker.",
        labels=["source"],
    )
    depth.add_metric(["database"], by_status.get("queued", 0))
    if app.config["MIRA_QUEUE"] == "rq":
        from mira import queue

        try:
            depth.add_metric(["rq"], queue.rq_queue().count)
        except Exception:  # Redis away: the database figure still stands
            app.logger.warning("metrics: Redis queue depth unavailable", exc_info=True)
    yield depth


def render(app: Flask | None = None) -> str:
    """The whole exposition, from every process when in multiprocess mode."""
    from prometheus_client import CollectorRegistry, generate_latest

    app = app or current_app
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry)
    else:
        for metric in _metrics().values():
            registry.register(metric)
    registry.register(_Scrape(app))
    return generate_latest(registry).decode()


def _authorise() -> None:
    token = current_app.config.get("MIRA_METRICS_TOKEN")
    if not token:
        if current_app.config["MIRA_ENV"] == "production":
            raise NotFound("Not found", "NOT_FOUND")
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise Unauthorized(
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
    use_metrics_dir(app.config.get("MIRA_METRICS_DIR"))
    app.register_blueprint(blp)
