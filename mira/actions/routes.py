from flask.views import MethodView

from mira.actions import services
from mira.actions.schemas import ActionPatchSchema, ActionQuerySchema, ActionSchema
from mira.auth.scope import network_blueprint, parse_uuid, scope
from mira.schemas import TOTAL_COUNT_HEADER, page_headers

blp = network_blueprint("actions", __name__, "Reminders, events, messages and tasks")


@blp.route("")
class Actions(MethodView):
    @blp.arguments(ActionQuerySchema, location="query")
    @blp.response(200, ActionSchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, query):
        """Actions, newest first; filter by `status` or `action_type`."""
        items, total = services.list_actions(scope().network_id, **query)
        return items, page_headers(total)


@blp.route("/<action_id>")
class ActionItem(MethodView):
    @blp.response(200, ActionSchema)
    def get(self, action_id):
        return services.get(scope().network_id, parse_uuid(action_id, "action_id"))

    @blp.arguments(ActionPatchSchema)
    @blp.response(200, ActionSchema)
    def patch(self, body, action_id):
        """Confirm, dismiss or complete an action."""
        return services.set_status(
            scope().network_id, parse_uuid(action_id, "action_id"), body["status"]
        )
