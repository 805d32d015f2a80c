from flask.views import MethodView

from mira import openapi_examples as examples
from mira.actions import services
from mira.actions.schemas import (
    ActionPatchSchema,
    ActionQuerySchema,
    ActionSchema,
    AppsActionSchema,
)
from mira.apps_api import for_apps, json_response
from mira.auth.scope import network_blueprint, parse_uuid, scope
from mira.interactions.schemas import UploadQuerySchema
from mira.interactions.upload_views import IDEMPOTENCY_DOC, VOICE_DOC, voice_command_response
from mira.schemas import TOTAL_COUNT_HEADER, page_headers

blp = network_blueprint("actions", __name__, "Reminders, events, messages and tasks")


APPS_DETAILS = (
    "On the apps' API (no network in the path) `details` is a string: the details object as "
    "JSON, with `canonical_text`."
)


def _for_caller(result, many: bool = False, headers: dict | None = None):
    """The apps read `details` as a string; the REST contract keeps the object."""
    if for_apps():
        return json_response(AppsActionSchema(many=many).dump(result), headers=headers)
    return (result, headers) if headers is not None else result


@blp.route("")
class Actions(MethodView):
    @blp.arguments(ActionQuerySchema, location="query")
    @blp.response(
        200,
        ActionSchema(many=True),
        headers=TOTAL_COUNT_HEADER,
        description=APPS_DETAILS,
        example=[examples.ACTION],
    )
    def get(self, query):
        """Actions, newest first; filter by `status` or `action_type`."""
        items, total = services.list_actions(scope().network_id, **query)
        return _for_caller(items, many=True, headers=page_headers(total))


@blp.route("/voice", parameters=[IDEMPOTENCY_DOC])
class VoiceCommand(MethodView):
    @blp.doc(**VOICE_DOC)
    @blp.arguments(UploadQuerySchema, location="query")
    def post(self, query):
        """A spoken command, answered as it is worked out (Server-Sent Events).

        Multipart `audio` (a WAV, as for uploads), `client_id`, optional `session_token`. The
        stream says `transcript`, then `tool_call`/`tool_result` for each thing Mira does
        (reminders, events and tasks are created; what Mira cannot do answers `ok: false`),
        the reply as `token`s, and `done` last (`error` before it when something failed). The
        command is filed as a `command` interaction; its actions reach the sockets.

        Retried with the same `Idempotency-Key` (header or field), it makes no second job: the
        retry follows what is left of the first one's stream or, once that job has ended, gets
        its transcript and reply (one `token`) or its error again, then `done`.
        """
        return voice_command_response(query)


@blp.route("/<action_id>")
class ActionItem(MethodView):
    @blp.response(200, ActionSchema, description=APPS_DETAILS, example=examples.ACTION)
    def get(self, action_id):
        """One action (a reminder, event, task or message to send)."""
        return _for_caller(services.get(scope().network_id, parse_uuid(action_id, "action_id")))

    @blp.arguments(ActionPatchSchema, example=examples.ACTION_PATCH)
    @blp.response(200, ActionSchema, description=APPS_DETAILS)
    def patch(self, body, action_id):
        """Confirm, dismiss or complete an action."""
        return _for_caller(
            services.set_status(
                scope().network_id, parse_uuid(action_id, "action_id"), body["status"]
            )
        )
