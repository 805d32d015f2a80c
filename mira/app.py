"""The app factory: settings, extensions, blueprints, the error envelope, request hooks, CLI.

It lives apart from the package's `__init__` so that importing any `mira.…` module (a worker's
job code, the version, a domain service) does not build or import the web app.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, request

PROJECT_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error envelope, CLI."""
    from mira.config import load_config

    app = Flask(
        "mira",
        instance_path=os.environ.get("MIRA_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    from mira.body_limit import MiraRequest

    # Chunked bodies meet MAX_CONTENT_LENGTH too (413, not cut at the limit).
    app.request_class = MiraRequest
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if config:
        app.config.from_mapping(config)
    app.config["MIRA_STARTED_AT"] = time.time()
    app.json.sort_keys = False
    _configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)
    from mira import legacy_lan

    # After the request hooks: a refused first-generation call carries its request id too.
    legacy_lan.init_app(app)

    from mira.cli import register_cli

    register_cli(app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind MIRA_TRUSTED_PROXIES reverse proxies, the client is who they say it is.

    Without it every request behind a proxy comes from the proxy's address: one login bucket
    for all users (the per-IP limit), and the proxy's address in logs and session checks. Only
    that many hops of X-Forwarded-For/-Proto/-Host/-Port are believed (werkzeug's ProxyFix),
    so a client cannot forge its address past the proxies in front of Mira. Outermost, so
    every other layer sees the corrected environ.
    """
    hops = int(app.config.get("MIRA_TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def _configure_logging(app: Flask) -> None:
    from mira.observability import configure_logging

    configure_logging(app)


def _init_extensions(app: Flask) -> None:
    from mira import models  # noqa: F401  (every table known to SQLAlchemy and Alembic)
    from mira.envelope import ErrorSchema, register_error_handlers
    from mira.extensions import api, cors, db, limiter

    db.init_app(app)
    from mira.realtime import outbox

    outbox.install(db.session)
    if app.config["MIRA_MIGRATE_COMMANDS"]:
        # Alembic is a large import that serving requests never needs.
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(PROJECT_MIGRATIONS), render_as_batch=True, compare_type=True)
    cors.init_app(
        app,
        resources={r"/*": {"origins": app.config["CORS_ORIGINS"]}},
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
        expose_headers=["X-Total-Count", "X-Request-ID", "Retry-After"],
        max_age=600,
    )
    limiter.init_app(app)
    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app, spec_kwargs={"info": {"description": _API_DESCRIPTION}})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    api.spec.components.security_scheme(
        "deviceKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    )
    api.spec.options["security"] = [{"bearerAuth": []}]
    register_error_handlers(app)
    from mira import metrics

    metrics.init_app(app)


_API_DESCRIPTION = (
    "Every network resource is served under `/api/v1/{network_id}/…` and, for the caller's "
    "default network, under `/api/v1/…`; `/api/v2/…` serves the same routes. Errors use one "
    "envelope: `{detail, error_code, timestamp, request_id, errors?}`. Lists take `limit` and "
    "`offset` and report the total in `X-Total-Count`."
)


def _register_blueprints(app: Flask) -> None:
    from mira.actions.routes import blp as actions
    from mira.api import API_PREFIX
    from mira.audit.routes import blp as audit
    from mira.auth.routes import blp as auth
    from mira.clients.routes import blp as clients
    from mira.conversations.routes import blp as conversations
    from mira.events.routes import blp as events
    from mira.extensions import api
    from mira.health.routes import blp as health
    from mira.interactions.routes import blp as interactions
    from mira.jobs.routes import blp as jobs
    from mira.memories.routes import blp as memories
    from mira.networks.routes import blp as networks
    from mira.persons.routes import blp as persons
    from mira.streams.routes import blp as streams

    api.register_plain(health, "/")
    from mira.docs_assets import blp as docs_assets

    app.register_blueprint(docs_assets)
    api.register_plain(auth, "/api/v1/auth")
    api.register_plain(networks, "/api/v1/networks")
    for blp, path in (
        (clients, "/service"),
        (persons, "/persons"),
        (conversations, "/conversations"),
        (interactions, "/interactions"),
        (streams, "/streams"),
        (actions, "/actions"),
        (memories, "/memories"),
        (jobs, "/jobs"),
        (events, "/events"),
        (audit, "/audit"),
    ):
        api.register_resource(blp, path)
    from mira.realtime.socket import blp as realtime

    app.register_blueprint(realtime, url_prefix=API_PREFIX)
    _document_realtime_socket(app, api)
    from mira.api import ApiVersionAlias

    app.wsgi_app = ApiVersionAlias(app.wsgi_app)


def _document_realtime_socket(app: Flask, api) -> None:
    """The socket is no REST operation, but its handshake is a GET: documented so the apps'
    developers find it next to the rest of the API."""
    from mira.api import RESOURCE_SERVERS
    from mira.realtime import socket

    query = [
        ("token", "Access token or device key (or an Authorization / X-API-Key header)"),
        ("client_id", "The app's client id; one is made up when missing"),
        ("last_event_id", "The id of the last event seen: what was missed comes first"),
    ]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    operation = {
        "tags": ["realtime"],
        "summary": "The apps' realtime socket (WebSocket upgrade)",
        "description": socket.__doc__,
        "security": [],
        "parameters": [
            {"in": "query", "name": name, "schema": {"type": "string"}, "description": text}
            for name, text in query
        ],
        "responses": {
            "101": {"description": "Switching to the WebSocket protocol"},
            "400": {"description": "Not a WebSocket handshake", "content": error},
            "422": {"description": "A NUL character in the query", "content": error},
        },
    }
    api.spec.tag({"name": "realtime", "description": "Events pushed to the apps as they happen"})
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("realtime.") and "network_id" not in rule.arguments:
            api.spec.path(rule=rule, operations={"get": operation})
            api.serve_path_under(rule.rule, RESOURCE_SERVERS)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _bounded_json_body() -> Any:
    """The JSON body, parsed once (werkzeug caches it for the views), within mira.input_bounds:
    nesting the parser cannot take, lone surrogates and integers beyond 64 bits answer 422
    here instead of a 500 from the parser, the database or the logs."""
    from mira import input_bounds
    from mira.errors import Invalid

    try:
        body = request.get_json(silent=True)
    except RecursionError as exc:
        raise Invalid(
            "Validation failed: the JSON body is nested too deep",
            "JSON_TOO_DEEP",
            errors={"_schema": ["Nested too deep."]},
        ) from exc
    input_bounds.check(body)
    return body


def _reject_long_urls() -> None:
    """gunicorn lets request lines through up to 1 MB (gunicorn.conf.py: its own 8 KB ceiling
    was below the documented 200 `conversation_ids`, and answered in HTML); Mira bounds them at
    MIRA_MAX_URL_BYTES, in the envelope."""
    limit = current_app.config["MIRA_MAX_URL_BYTES"]
    length = len(request.environ.get("PATH_INFO", "")) + len(
        request.environ.get("QUERY_STRING", "")
    )
    if length > limit:
        from werkzeug.exceptions import RequestURITooLarge

        raise RequestURITooLarge(f"The URL is longer than {limit} bytes.")


def _reject_nul_characters() -> None:
    """PostgreSQL text and JSONB cannot hold U+0000: refuse it up front (422), not as a 500.

    Checks path segments, query, JSON bodies and form fields; uploaded files are left alone.
    """
    fields = [k for k, v in (request.view_args or {}).items() if _has_nul(v)]
    fields += [k for k, v in request.args.items(multi=True) if _has_nul(k) or _has_nul(v)]
    if request.is_json:
        body = _bounded_json_body()
        if isinstance(body, dict):
            fields += [k for k, v in body.items() if _has_nul(k) or _has_nul(v)]
        elif _has_nul(body):
            fields.append("_schema")
    elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields += [k for k, v in request.form.items(multi=True) if _has_nul(k) or _has_nul(v)]
    if fields:
        from mira.errors import Invalid

        message = "NUL characters are not allowed."
        raise Invalid(
            "Validation failed: NUL characters are not allowed",
            "VALIDATION_ERROR",
            errors={field.replace("\x00", "\\0"): [message] for field in fields},
        )


def _drain_refused_body() -> None:
    """Read what is left of a body refused with 413 although it was within MAX_CONTENT_LENGTH
    (a form with more parts than werkzeug parses, an upload's metadata over its limit).

    gunicorn discards at most 64 KB of an unread body before it closes the connection, so a
    client on a kept-alive connection saw it closed under it after the 413. A body within the
    limit is on its way anyway: reading it keeps the connection. A body over the limit (its
    Content-Length) is not read; gunicorn closes that connection, as it should.
    """
    length = request.content_length
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if length is None or limit is None or length > limit:
        return
    try:
        stream = request.stream
        while stream.read(64 * 1024):
            pass
    except Exception:  # the client went away or sent less: gunicorn closes, as before
        return


def _register_request_hooks(app: Flask) -> None:
    from mira.metrics import observe_request
    from mira.observability import log_request, route_of_request

    @app.before_request
    def _start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()
        # g lives as long as the app context, which may span several requests (a test holding
        # one open, a CLI command): the caller resolved for one request must not leak into the next.
        g.pop("user", None)
        g.pop("scope", None)
        _reject_long_urls()
        _reject_nul_characters()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        if response.status_code == 413:
            _drain_refused_body()
        if response.status_code < 400:
            # The limiter adds Retry-After to every response; it only means something on errors.
            response.headers.pop("Retry-After", None)
        duration_s = log_request(response)
        observe_request(request.method, route_of_request(), response.status_code, duration_s)
        return response
