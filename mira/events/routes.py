from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from mira import openapi_examples as examples
from mira.auth.scope import device_route, network_blueprint, scope
from mira.events import services
from mira.schemas import Timestamp

blp = network_blueprint("events", __name__, "A feed of changes, followed with a cursor")


class EventQuerySchema(Schema):
    after = fields.Integer(
        validate=validate.Range(min=0, max=2**63 - 1), metadata={"description": "Cursor"}
    )
    wait = fields.Float(load_default=0, validate=validate.Range(min=0, max=25))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class EventSchema(Schema):
    id = fields.String()
    type = fields.String(metadata={"enum": list(services.EVENT_TYPES)})
    data = fields.Dict()
    created_at = Timestamp()


class EventPageSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))
    cursor = fields.String()


@blp.route("")
class Events(MethodView):
    @device_route
    @blp.arguments(EventQuerySchema, location="query")
    @blp.response(200, EventPageSchema, example=examples.EVENTS)
    def get(self, query):
        """Events after `after`, oldest first; waits up to `wait` s when there are none.

        Without `after`, the most recent events and the cursor to continue from.
        """
        cfg = current_app.config
        found, cursor = services.events_after(
            scope().network_id,
            query.get("after"),
            min(query["wait"], cfg["MIRA_EVENTS_MAX_WAIT_S"]),
            cfg["MIRA_EVENTS_POLL_S"],
            query["limit"],
        )
        return {"events": found, "cursor": str(cursor)}
