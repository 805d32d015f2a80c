from flask.views import MethodView
from marshmallow import Schema, fields

from mira.api import Blueprint
from mira.health import services

blp = Blueprint("health", __name__, description="Root, liveness and readiness")

PUBLIC = {"security": []}


class RootSchema(Schema):
    service = fields.String()
    status = fields.String()
    mira_version = fields.String(
        metadata={"description": "Mira's version (not `version`: see the README)"}
    )
    api = fields.List(fields.String())
    docs = fields.String()


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
        """What this server is and where its API lives."""
        return services.root()


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
