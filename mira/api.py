"""flask-smorest glue: domain-tagged blueprints, resources mounted under every prefix."""

from __future__ import annotations

import flask_smorest

NETWORK_PREFIXES = ("/api/v1", "/api/v2")
NETWORK_ID_PARAMETER = {
    "in": "path",
    "name": "network_id",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
    "description": "The network; omit the segment to use the caller's default network.",
}
BEARER_SECURITY = [{"bearerAuth": []}, {"deviceKey": []}]


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
    def handle_http_exception(self, error):
        from mira.errors import envelope_response

        return envelope_response(error)

    def register_resource(self, blp: Blueprint, path: str) -> None:
        """Mount one set of views under /api/v{1,2}/{network_id}/path and /api/v{1,2}/path.

        Only the v1 mounts are documented; v2 serves the same views for older clients.
        """
        for version_prefix in NETWORK_PREFIXES:
            documented = version_prefix == "/api/v1"
            version = version_prefix.rsplit("/", 1)[-1]
            mounts = (
                (f"{version_prefix}/<network_id>{path}", f"{blp.name}_{version}_net", True),
                (f"{version_prefix}{path}", f"{blp.name}_{version}", False),
            )
            for url_prefix, name, has_network in mounts:
                self._mount(blp, name, url_prefix, documented, has_network)
        self.spec.tag({"name": blp.name, "description": blp.description})

    def register_plain(self, blp: Blueprint, url_prefix: str, aliases: tuple[str, ...] = ()):
        """Mount a blueprint once with docs, plus undocumented aliases (e.g. /api/v2/auth)."""
        self._mount(blp, blp.name, url_prefix, True, False)
        for index, alias in enumerate(aliases):
            self._mount(blp, f"{blp.name}_alias{index}", alias, False, False)
        self.spec.tag({"name": blp.name, "description": blp.description})

    def _mount(self, blp, name, url_prefix, documented, has_network):
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, name=name, url_prefix=url_prefix)
        if documented:
            blp.register_views_in_doc(
                self,
                self._app,
                self.spec,
                name=name,
                parameters=[NETWORK_ID_PARAMETER] if has_network else None,
            )
