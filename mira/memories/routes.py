from flask.views import MethodView

from mira import openapi_examples as examples
from mira.auth.scope import network_blueprint, parse_uuid, scope
from mira.memories import services
from mira.memories.schemas import MemoryPatchSchema, MemoryQuerySchema, MemorySchema
from mira.schemas import TOTAL_COUNT_HEADER, page_headers

blp = network_blueprint(
    "memories", __name__, "Episodic memories: plans, commitments, facts and preferences"
)


@blp.route("")
class Memories(MethodView):
    @blp.arguments(MemoryQuerySchema, location="query")
    @blp.response(
        200, MemorySchema(many=True), headers=TOTAL_COUNT_HEADER, example=[examples.MEMORY]
    )
    def get(self, query):
        """Memories, newest first; filter by `memory_type` or `status`."""
        items, total = services.list_memories(scope().network_id, **query)
        return items, page_headers(total)


@blp.route("/<memory_id>")
class MemoryItem(MethodView):
    @blp.response(200, MemorySchema)
    def get(self, memory_id):
        """One memory, with its transition history."""
        return services.get(scope().network_id, parse_uuid(memory_id, "memory_id"))

    @blp.arguments(MemoryPatchSchema)
    @blp.response(200, MemorySchema)
    def patch(self, body, memory_id):
        """Confirm, dismiss or cancel a memory (its history keeps each change)."""
        return services.set_status(
            scope().network_id, parse_uuid(memory_id, "memory_id"), body["status"]
        )

    @blp.response(204)
    def delete(self, memory_id):
        """Forget a memory; 204 also when it is already gone."""
        services.delete(scope().network_id, parse_uuid(memory_id, "memory_id"))
