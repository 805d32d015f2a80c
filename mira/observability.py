"""Logs a machine can read: one JSON object per line (or readable text in development).

Every request leaves one line on the `mira.access` logger (request id, network, route, status,
duration) and every job stage one line on `mira.jobs` (`log_job_stage`), so a log search for a
request id or a job id tells its whole story without a tracing system.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

LOG_FORMATS = ("json", "text")
# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

access_log = logging.getLogger("mira.access")
jobs_log = logging.getLogger("mira.jobs")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            + "Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """The readable form for a terminal; extra fields follow the message as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = _fields(record)
        if extra:
            text += " " + " ".join(f"{k}={_text_value(v)}" for k, v in extra.items())
        return text


def _text_value(value: Any) -> str:
    return json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the moment (gunicorn and test capture swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(app: Flask) -> None:
    """Send the `mira.*` loggers to stderr in the configured format, once per process.

    Replaces Flask's default handler on the app logger (also `mira`) so lines are not doubled;
    calling it again (another app in the same process) swaps the formatter, never stacks handlers.
    """
    level = getattr(logging, app.config["LOG_LEVEL"], logging.INFO)
    fmt = app.config.get("MIRA_LOG_FORMAT", "text")
    logger = logging.getLogger("mira")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if isinstance(handler, _StderrHandler) or type(handler).__name__ == "StreamHandler":
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)


def _network_id() -> str | None:
    current = g.get("scope")
    if current is not None:
        return str(current.network_id)
    network_id = (request.view_args or {}).get("network_id")
    return str(network_id) if network_id else None


def route_of_request() -> str:
    """The URL rule (e.g. `/api/v1/<network_id>/persons/<person_id>`): bounded, unlike paths."""
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def log_request(response: Response) -> float:
    """Write the request's access line; returns its duration in seconds (for metrics)."""
    duration_s = time.perf_counter() - g.get("started", time.perf_counter())
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "event": "request",
                "request_id": g.get("request_id"),
                "network_id": _network_id(),
                "method": request.method,
                "route": route_of_request(),
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_s * 1000, 2),
            },
        )
    return duration_s


def log_job_stage(job: Any, stage: str, timings: dict[str, float] | None = None) -> None:
    """One line per job stage with its timings (ms), so slow stages show up in log searches.

    Workers call it when a stage ends; `job` is a `mira.jobs.models.Job` (or anything with its
    `id`, `network_id`, `kind`, `status` and `attempts`).
    """
    if not jobs_log.isEnabledFor(logging.INFO):
        return
    clean = {k: round(float(v), 2) for k, v in (timings or {}).items() if _is_number(v)}
    jobs_log.info(
        "job %s %s",
        job.id,
        stage,
        extra={
            "event": "job.stage",
            "job_id": str(job.id),
            "network_id": str(job.network_id),
            "kind": job.kind,
            "status": job.status,
            "attempt": job.attempts,
            "stage": stage,
            "timings_ms": clean,
            "total_ms": round(sum(clean.values()), 2),
        },
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
