"""HTTP side of uploads: read multipart or raw bodies, answer 202 (or 200 with `wait`)."""

from __future__ import annotations

import json

from flask import Response, current_app, jsonify, request, stream_with_context
from marshmallow import ValidationError

from mira.apps_api import for_apps, no_content
from mira.auth.scope import scope
from mira.errors import BadRequest, Invalid
from mira.extensions import limiter
from mira.interactions import uploads
from mira.interactions.schemas import optional_int
from mira.jobs import idempotency
from mira.jobs import services as jobs
from mira.jobs.schemas import JobSchema
from mira.schemas import MAX_CLIENT_ID, Timestamp, check_client_id

RAW_TYPES = ("application/octet-stream", "audio/")
UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["audio"],
                    "properties": {
                        "audio": {"type": "string", "format": "binary"},
                        "client_id": {"type": "string", "maxLength": MAX_CLIENT_ID},
                        "captured_at": {"type": "string", "format": "date-time"},
                        "chunk_start_ms": {"type": "integer"},
                        "chunk_end_ms": {"type": "integer"},
                        "metadata": {"type": "string", "description": "A JSON object"},
                        "session_token": {
                            "type": "string",
                            "description": "From the socket's `session_ready`; checked when sent",
                        },
                        "idempotency_key": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 128,
                            "pattern": idempotency.PATTERN,
                            "description": "The same as the `Idempotency-Key` header",
                        },
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}
IDEMPOTENCY_DOC = idempotency.OPENAPI_HEADER


def _form_fields() -> dict:
    form = request.form
    try:
        captured_at = (
            Timestamp().deserialize(form["captured_at"]) if form.get("captured_at") else None
        )
    except ValidationError as exc:
        raise Invalid("captured_at must be ISO-8601", errors={"captured_at": exc.messages}) from exc
    try:
        start = optional_int(form.get("chunk_start_ms"), "chunk_start_ms")
        end = optional_int(form.get("chunk_end_ms"), "chunk_end_ms")
    except ValidationError as exc:
        raise Invalid("chunk times must be integers (epoch ms)", errors=exc.messages) from exc
    return {
        "session_token": form.get("session_token") or None,
        "captured_at": captured_at,
        "chunk_start_ms": start,
        "chunk_end_ms": end,
        "metadata": uploads.parse_metadata(form.get("metadata")),
        "idempotency_key": form.get(idempotency.FORM_FIELD),
    }


def read_upload(query: dict, client_id: str | None) -> tuple[str, bytes, dict]:
    """(client_id, audio bytes, capture fields) from a multipart or a raw-body request."""
    mimetype = request.mimetype or ""
    if mimetype == "multipart/form-data":
        upload = request.files.get("audio") or request.files.get("file")
        client_id = client_id or request.form.get("client_id") or query.get("client_id")
        fields = _form_fields()
        data = upload.read() if upload is not None else b""
        if upload is None:
            raise BadRequest("The multipart body has no 'audio' file", "EMPTY_AUDIO")
    else:
        client_id = client_id or query.get("client_id")
        fields = {}
        data = request.get_data(cache=False)
    if not client_id:
        raise Invalid("client_id is required", errors={"client_id": ["Missing."]})
    check_client_id(client_id)
    return client_id, data, fields


def _upload_limit() -> str:
    return current_app.config["MIRA_UPLOAD_RATE_LIMIT"]


def _network_key() -> str:
    return str(scope().network_id)


# One budget per network, shared by every upload route and every client of the network.
upload_rate_limit = limiter.shared_limit(_upload_limit, scope="upload", key_func=_network_key)


@upload_rate_limit
def upload_response(query: dict, client_id: str | None = None):
    """202 with the job (API.md); on the apps' API, 204: the result comes on the socket."""
    client_id, data, fields = read_upload(query, client_id)
    fields["idempotency_key"] = idempotency.from_request(fields.pop("idempotency_key", None))
    session_token = fields.pop("session_token", None) or query.get("session_token")
    if session_token:
        uploads.check_session_token(
            scope().network_id, client_id, session_token, request.remote_addr
        )
    job = uploads.accept(scope().network_id, client_id, data, **fields)
    if for_apps():
        return no_content()
    if query.get("wait"):
        job = uploads.wait_for(job, query["wait"])
        if job.status in uploads.TERMINAL:
            response = jsonify(JobSchema().dump(job))
            response.status_code = 200
            return response
    return jobs.accepted(job)


VOICE_DOC = {
    "requestBody": UPLOAD_DOC["requestBody"],
    "responses": {
        "200": {
            "description": "Server-Sent Events: `data:` lines, one JSON object each, of type "
            "`transcript`, `token`, `tool_call`, `tool_result`, `error`, and `done` last",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
}


@upload_rate_limit
def voice_command_response(query: dict):
    """Store the spoken command, start its job and relay what the job says as Server-Sent
    Events. On Lambda (no streaming through API Gateway) the job runs in this request and the
    same events come in one response."""
    from mira.realtime import streams

    client_id, data, fields = read_upload(query, None)
    key = idempotency.from_request(fields.pop("idempotency_key", None))
    session_token = fields.pop("session_token", None) or query.get("session_token")
    if session_token:
        uploads.check_session_token(
            scope().network_id, client_id, session_token, request.remote_addr
        )
    app = current_app._get_current_object()
    in_request = app.config["MIRA_QUEUE"] == "zappa"
    # A retry with the request's Idempotency-Key never makes a second job (a second reminder):
    # `accept` answers with the first one, and the retry follows what is left of its stream or,
    # once it has ended, gets its outcome again (a job just made is still queued).
    job = uploads.accept(
        scope().network_id,
        client_id,
        data,
        kind="voice",
        dispatch=not in_request,
        idempotency_key=key,
        **fields,
    )
    if job.status in uploads.TERMINAL:
        events = streams.outcome(job)
        return _event_stream(lambda: iter(events))
    job_id = str(job.id)
    if in_request:
        from jobs.runner import run_job

        run_job(job_id)
    timeout_s = app.config["MIRA_VOICE_TIMEOUT_S"]
    return _event_stream(lambda: streams.follow(app, job_id, timeout_s))


def _event_stream(events) -> Response:
    """Server-Sent Events: one `data:` line of JSON per event, as `events()` yields them."""

    def relay():
        for event in events():
            yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"

    return Response(
        stream_with_context(relay()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
