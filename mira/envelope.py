"""The one JSON error envelope, for every non-2xx answer: the web edge of errors.

Services raise the domain errors of `mira.errors` (no HTTP in them); this module gives each its
status here, and turns werkzeug's, webargs' and the limiter's HTTP exceptions into the same
envelope.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, jsonify, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

from mira.db_errors import transient_database_error
from mira.errors import DEFAULT_CODES, MiraError

log = logging.getLogger(__name__)


class ErrorSchema(Schema):
    detail = fields.String(required=True)
    error_code = fields.String(required=True)
    timestamp = fields.String(required=True)
    request_id = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.Raw())


def _flatten_validation(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location ({"json": {...}}); clients want {field: [msg]}."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, Any] = {}
    for location, value in messages.items():
        if location in {
            "json",
            "query",
            "form",
            "json_or_form",
            "files",
            "path",
            "headers",
            "view_args",
        }:
            if isinstance(value, dict):
                flat.update(value)
            else:
                flat["_schema"] = value if isinstance(value, list) else [str(value)]
        else:
            flat[location] = value
    return flat


def _summary(errors: dict[str, Any]) -> str:
    parts = []
    for field, messages in errors.items():
        first = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(first, dict):
            first = "invalid value"
        parts.append(f"{field}: {first}")
    return "Validation failed: " + "; ".join(parts) if parts else "Validation failed"


def build_envelope(status: int, detail: str, error_code: str, errors=None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "detail": detail,
        "error_code": error_code,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "request_id": getattr(g, "request_id", None),
    }
    if errors and status == 422:
        body["errors"] = errors
    return body


def domain_error_response(error: MiraError):
    """A service's refusal, answered with its kind's status and its own code."""
    response = jsonify(build_envelope(error.status, error.detail, error.error_code, error.errors))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def envelope_response(error: HTTPException):
    """Turn any HTTPException (webargs', werkzeug's, the limiter's) into the envelope."""
    status = error.code or 500
    headers: dict[str, str] = {}
    errors = None
    code = DEFAULT_CODES.get(status, "ERROR")
    detail = error.description or error.name
    data = getattr(error, "data", None) or {}
    if data.get("headers"):
        headers = dict(data["headers"])
    messages = data.get("errors") or data.get("messages")
    if "message" in data:
        detail = data["message"]
    if messages is not None:
        flat = _flatten_validation(messages)
        if status == 400 and "json" in (messages or {}):
            detail = "Malformed JSON body"
            code = "MALFORMED_JSON"
        elif status == 422:
            errors = flat
            detail = data.get("message") or _summary(flat)
    if status == 404 and not data:
        detail = "Not found"
    if status == 405:
        detail = f"Method {request.method} not allowed here"
    if status == 413:
        detail = "Request body too large"
    if status == 429:
        detail = "Too many requests; slow down"
        retry_after = getattr(error, "retry_after", None)
        limit = getattr(error, "limit", None)
        if retry_after is None and limit is not None:
            retry_after = getattr(limit, "reset_at", None)
        headers.setdefault("Retry-After", str(int(retry_after or 60)))
    if status >= 500:
        original = getattr(error, "original_exception", None)
        if original is not None:
            log.error(
                "unhandled error (request %s)",
                getattr(g, "request_id", "-"),
                exc_info=(type(original), original, original.__traceback__),
            )
        detail = "Internal server error" if status == 500 else (detail or "Unavailable")
    response = jsonify(build_envelope(status, detail, code, errors))
    response.status_code = status
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    for key, value in headers.items():
        response.headers[key] = value
    return response


def database_unavailable_response(exc: BaseException):
    """503 in the envelope with Retry-After, the session rolled back: the client may retry
    (with its Idempotency-Key an upload is never made twice), and the next request of this
    thread starts clean."""
    from flask import current_app

    from mira.extensions import db

    log.warning("database unavailable (request %s): %s", getattr(g, "request_id", "-"), exc)
    try:
        db.session.rollback()
    except Exception:  # the connection is what failed; the pool replaces it
        log.debug("rollback after a database error failed", exc_info=True)
    retry_after = str(current_app.config.get("MIRA_DB_RETRY_AFTER_S", 2))
    response = jsonify(
        build_envelope(503, "The database is unavailable; retry shortly", "DATABASE_UNAVAILABLE")
    )
    response.status_code = 503
    response.headers["Retry-After"] = retry_after
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(MiraError, domain_error_response)
    app.teardown_appcontext(_close_session_quietly)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # pragma: no cover - exercised via a test-only route
        # The failed transaction must not poison later work in the same app context (a CLI
        # command, the inline worker, a test client holding one context open).
        from mira.extensions import db

        try:
            db.session.rollback()
        except Exception:  # the database itself may be what failed; answer 500 regardless
            log.warning("rollback after an unhandled error failed", exc_info=True)
        if transient_database_error(exc):
            return database_unavailable_response(exc)
        wrapped = InternalServerError(original_exception=exc)
        return envelope_response(wrapped)


def _http_error(error: HTTPException):
    """Flask hands errors it could not route (one raised while finishing the response) to the
    500 handler wrapped in InternalServerError: a database failure there is still a 503."""
    original = getattr(error, "original_exception", None)
    if error.code == 500 and transient_database_error(original):
        return database_unavailable_response(original)
    return envelope_response(error)


def _close_session_quietly(_exc: BaseException | None) -> None:
    """End the request's session before Flask-SQLAlchemy's own teardown (teardowns run last
    registered first), swallowing a failed rollback. The answer is already made when this
    runs: a connection killed after the last query (its rollback fails) must not turn a 202
    into the server's bare 500 page, which would make the client upload the utterance again.
    SQLAlchemy has invalidated the dead connection; the pool replaces it."""
    from mira.extensions import db

    try:
        db.session.remove()
    except Exception:
        log.warning("closing the session failed (the database went away)", exc_info=True)
        with contextlib.suppress(Exception):  # nothing more to release
            db.session.registry.clear()
