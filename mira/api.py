"""flask-smorest glue: domain-tagged blueprints, resources mounted under every prefix."""

from __future__ import annotations

import threading

import flask_smorest

API_PREFIX = "/api/v1"
API_ALIAS = "/api/v2"
_NETWORK_VARIABLE = {
    "network_id": {
        "default": "00000000-0000-0000-0000-000000000000",
        "description": "The network's id (from `GET /api/v1/networks`)",
    }
}
# Each route is documented once, relative to the prefixes it is served under: the OpenAPI
# `servers` of its path item. A network resource has four; a plain /api route has two.
RESOURCE_SERVERS = [
    {"url": API_PREFIX, "description": "The caller's default network (the Mira apps' paths)"},
    {
        "url": API_PREFIX + "/{network_id}",
        "description": "One network by id (the REST answers of the API contract)",
        "variables": _NETWORK_VARIABLE,
    },
    {"url": API_ALIAS, "description": "Same as /api/v1 (the apps' second prefix)"},
    {
        "url": API_ALIAS + "/{network_id}",
        "description": "Same as /api/v1/{network_id}",
        "variables": _NETWORK_VARIABLE,
    },
]
PLAIN_SERVERS = [
    {"url": API_PREFIX, "description": "The API"},
    {"url": API_ALIAS, "description": "Same as /api/v1 (the apps' second prefix)"},
]


class Blueprint(flask_smorest.Blueprint):
    """Tags every operation with the blueprint's own name, however often it is mounted."""

    # PATCH bodies may come as JSON or as a form (older clients); documented as JSON.
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "json_or_form": "application/json",
    }

    def route(self, rule, *, parameters=None, tags=None, **options):
        return super().route(rule, parameters=parameters, tags=tags or [self.name], **options)


class MiraApi(flask_smorest.Api):
    """Mounts resources under both prefixes and writes their OpenAPI docs on first use.

    Generating the docs deep-copies every operation (about a third of start-up); a process
    that never serves /openapi.json (a worker, a Lambda answering API events) never pays it.
    """

    def init_app(self, app, *, spec_kwargs=None):
        self._pending_docs: list[tuple] = []
        self._docs_lock = threading.Lock()
        super().init_app(app, spec_kwargs=spec_kwargs)

    def handle_http_exception(self, error):
        from mira.envelope import envelope_response

        return envelope_response(error)

    def register_resource(self, blp: Blueprint, path: str) -> None:
        """Mount one set of views under /api/v1/{network_id}/path and /api/v1/path
        (/api/v2 is rewritten to /api/v1 before routing: see `ApiVersionAlias`).

        The docs hold each route once, at `path…` with the four prefixes as its servers.
        """
        self._mount(blp, f"{blp.name}_net", f"{API_PREFIX}/<network_id>{path}")
        self._mount(blp, blp.name, f"{API_PREFIX}{path}", servers=RESOURCE_SERVERS)
        self.spec.tag({"name": blp.name, "description": blp.description})

    def register_plain(self, blp: Blueprint, url_prefix: str) -> None:
        servers = PLAIN_SERVERS if url_prefix.startswith(API_PREFIX + "/") else None
        self._mount(blp, blp.name, url_prefix, servers=servers)
        self.spec.tag({"name": blp.name, "description": blp.description})

    def _mount(self, blp, name, url_prefix, *, servers=None):
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, name=name, url_prefix=url_prefix)
        if servers is not None or not url_prefix.startswith(API_PREFIX):
            self._pending_docs.append((blp, name, servers))

    def document_all(self) -> None:
        """Write the docs of every mounted blueprint into the spec (once)."""
        with self._docs_lock:
            while self._pending_docs:
                blp, name, servers = self._pending_docs.pop(0)
                before = set(self.spec._paths)
                blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=None)
                if servers:
                    for path in [path for path in self.spec._paths if path not in before]:
                        self.serve_path_under(path, servers)

    def serve_path_under(self, path: str, servers: list[dict]) -> None:
        """Move a documented /api/v1/… path to its relative form with `servers` as prefixes."""
        item = self.spec._paths.pop(path)
        self.spec._paths[path.removeprefix(API_PREFIX)] = {"servers": servers, **item}

    def _openapi_json(self):
        self.document_all()
        return super()._openapi_json()


class ApiVersionAlias:
    """WSGI middleware: /api/v2/… serves exactly what /api/v1/… serves (older clients)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/api/v2" or path.startswith("/api/v2/"):
            environ["PATH_INFO"] = API_PREFIX + path[len("/api/v2") :]
        return self.wsgi_app(environ, start_response)
