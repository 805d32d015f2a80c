from flask.views import MethodView

from mira import openapi_examples as examples
from mira.auth.scope import network_blueprint, parse_uuid, scope
from mira.conversations import services
from mira.conversations.schemas import ConversationPatchSchema, ConversationSchema
from mira.interactions import services as interactions
from mira.interactions.schemas import InteractionSchema
from mira.schemas import TOTAL_COUNT_HEADER, PageArgs, page_headers

blp = network_blueprint("conversations", __name__, "Interactions grouped into conversations")


@blp.route("")
class Conversations(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(
        200,
        ConversationSchema(many=True),
        headers=TOTAL_COUNT_HEADER,
        example=[examples.CONVERSATION],
    )
    def get(self, page):
        """Conversations, newest start first."""
        items, total = services.list_conversations(scope().network_id, **page)
        return items, page_headers(total)


@blp.route("/<conversation_id>")
class ConversationItem(MethodView):
    @blp.response(200, ConversationSchema, example=examples.CONVERSATION)
    def get(self, conversation_id):
        """One conversation: its title, summaries, participants and times."""
        return services.as_dict(
            services.get(scope().network_id, parse_uuid(conversation_id, "conversation_id"))
        )

    @blp.arguments(ConversationPatchSchema)
    @blp.response(200, ConversationSchema)
    def patch(self, body, conversation_id):
        """Rename a conversation or change its summaries."""
        conversation = services.update(
            scope().network_id, parse_uuid(conversation_id, "conversation_id"), body
        )
        return services.as_dict(conversation)

    @blp.response(204)
    def delete(self, conversation_id):
        """Delete a conversation and its interactions."""
        services.delete(scope().network_id, parse_uuid(conversation_id, "conversation_id"))


@blp.route("/<conversation_id>/interactions")
class ConversationInteractions(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, InteractionSchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, page, conversation_id):
        """The conversation's interactions, oldest first."""
        network_id = scope().network_id
        conversation = services.get(network_id, parse_uuid(conversation_id, "conversation_id"))
        items, total = interactions.list_interactions(
            network_id, {"conversation_ids": [conversation.id]}, oldest_first=True, **page
        )
        return items, page_headers(total)
