from flask.views import MethodView
from marshmallow import Schema, fields

from mira import legacy_lan
from mira.api import Blueprint
from mira.health import services
from mira.schemas import Timestamp

blp = Blueprint("health", __name__, description="Root, liveness and readiness")

PUBLIC = {"security": []}


class LegacyClientSchema(Schema):
    connected_at = Timestamp()
    last_seen = Timestamp()


LEGACY_ONLY = "Legacy LAN mode only, for an allowed address (see the README): "


class RootSchema(Schema):
    service = fields.String()
    status = fields.String()
    mira_version = fields.String(
        metadata={"description": "Mira's version (not `version`: see the README)"}
    )
    api = fields.List(fields.String())
    docs = fields.String()
    # What first-generation clients poll `GET /` for (mira/legacy_lan.py).
    enabled = fields.Boolean(metadata={"description": LEGACY_ONLY + "the network is listening"})
    connected_clients = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(LegacyClientSchema),
        metadata={"description": LEGACY_ONLY + "the network's clients, by id"},
    )
    recent_interactions = fields.List(
        fields.String(),
        metadata={
            "description": LEGACY_ONLY + f"ids of the latest {legacy_lan.RECENT_INTERACTIONS} "
            "interactions, newest last"
        },
    )


class HealthSchema(Schema):
    status = fields.String()
    timestamp = fields.String()
    version = fields.String()


class DetailedHealthSchema(Schema):
    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.Dict())
    version = fields.String()
    uptime_s = fields.Float()


@blp.route("/")
class Root(MethodView):
    @blp.doc(**PUBLIC)
    @blp.response(200, RootSchema)
    def get(self):
        """What this server is and where its API lives; in legacy LAN mode, for an allowed
        address, also the state first-generation clients poll for."""
        return {**services.root(), **legacy_lan.root_fields()}


@blp.route("/health")
class Health(MethodView):
    @blp.doc(**PUBLIC)
    @blp.response(200, HealthSchema)
    def get(self):
        """Liveness: answers without touching anything."""
        return services.liveness()


@blp.route("/health/detailed")
class DetailedHealth(MethodView):
    @blp.doc(**PUBLIC)
    @blp.response(200, DetailedHealthSchema)
    @blp.alt_response(503, schema=DetailedHealthSchema, description="The database is down")
    def get(self):
        """Readiness: database, queue, failed jobs, storage and models; 503 when the database is
        down, `degraded` when anything else fails."""
        body = services.detailed()
        return body, (200 if body["checks"]["database"]["ok"] else 503)
