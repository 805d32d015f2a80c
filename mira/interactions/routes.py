from flask.views import MethodView

from mira.auth.scope import network_blueprint, parse_uuid, scope
from mira.interactions import services
from mira.interactions.schemas import (
    InteractionCreateSchema,
    InteractionPatchSchema,
    InteractionQuerySchema,
    InteractionSchema,
)
from mira.schemas import TOTAL_COUNT_HEADER, page_headers

blp = network_blueprint("interactions", __name__, "What was said, by whom, when")


@blp.route("")
class Interactions(MethodView):
    @blp.arguments(InteractionQuerySchema, location="query")
    @blp.response(200, InteractionSchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, query):
        """Interactions, newest first, with filters.

        `conversation_ids` may repeat; with `orphans_only=true` as well, interactions outside
        any conversation are included too. `q` searches the text (case-insensitive).
        """
        limit, offset = query.pop("limit"), query.pop("offset")
        items, total = services.list_interactions(scope().network_id, query, limit, offset)
        return items, page_headers(total)

    @blp.arguments(InteractionCreateSchema)
    @blp.response(201, InteractionSchema)
    def post(self, body):
        """Record a typed (text) or system interaction."""
        return services.create_text(scope().network_id, body)


@blp.route("/<interaction_id>")
class InteractionItem(MethodView):
    @blp.response(200, InteractionSchema)
    def get(self, interaction_id):
        return services.get(scope().network_id, parse_uuid(interaction_id, "interaction_id"))

    @blp.arguments(InteractionPatchSchema)
    @blp.response(200, InteractionSchema)
    def patch(self, body, interaction_id):
        """Correct the text, the speaker or the conversation."""
        return services.update(
            scope().network_id, parse_uuid(interaction_id, "interaction_id"), body
        )

    @blp.response(204)
    def delete(self, interaction_id):
        """Delete (idempotent: deleting one already gone answers 204)."""
        services.delete(scope().network_id, parse_uuid(interaction_id, "interaction_id"))
