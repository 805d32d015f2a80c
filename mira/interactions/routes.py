from typing import Any

from flask import request
from flask.views import MethodView

from mira import openapi_examples as examples
from mira.auth.scope import device_route, network_blueprint, parse_uuid, scope
from mira.clients import services as clients
from mira.interactions import services
from mira.interactions.schemas import (
    InteractionCreateSchema,
    InteractionPatchSchema,
    InteractionQuerySchema,
    InteractionSchema,
    UploadQuerySchema,
)
from mira.interactions.upload_views import IDEMPOTENCY_DOC, UPLOAD_DOC, upload_response
from mira.jobs import services as jobs
from mira.jobs.schemas import JobAcceptedSchema, JobSchema
from mira.schemas import TOTAL_COUNT_HEADER, page_headers

blp = network_blueprint("interactions", __name__, "What was said, by whom, when")


def _with_uploader(query: dict[str, Any]) -> dict[str, Any]:
    """Legacy LAN mode (mira/legacy_lan.py): terminal-client uploads a raw body without naming
    its client: attribute it to the client last registered (or seen) from the same address, as
    that is the one it registered. A request that names its client, or an address with none, is
    left as it is."""
    if query.get("client_id") or (
        request.mimetype == "multipart/form-data" and request.form.get("client_id")
    ):
        return query
    client_id = clients.latest_at_address(scope().network_id, request.remote_addr)
    return {**query, "client_id": client_id} if client_id else query


@blp.route("")
class Interactions(MethodView):
    @blp.arguments(InteractionQuerySchema, location="query")
    @blp.response(
        200,
        InteractionSchema(many=True),
        headers=TOTAL_COUNT_HEADER,
        example=[examples.INTERACTION],
    )
    def get(self, query):
        """Interactions, newest first, with filters.

        `conversation_ids` may repeat; with `orphans_only=true` as well, interactions outside
        any conversation are included too. `q` searches the text (case-insensitive).
        """
        limit, offset = query.pop("limit"), query.pop("offset")
        items, total = services.list_interactions(scope().network_id, query, limit, offset)
        return items, page_headers(total)

    @blp.arguments(InteractionCreateSchema, example=examples.INTERACTION_CREATE)
    @blp.response(201, InteractionSchema)
    def post(self, body):
        """Record a typed (text) or system interaction."""
        return services.create_text(scope().network_id, body)


@blp.route("/<interaction_id>")
class InteractionItem(MethodView):
    @blp.response(200, InteractionSchema, example=examples.INTERACTION)
    def get(self, interaction_id):
        """One interaction: what was said, by whom, when, and its analysis."""
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


@blp.route("/<interaction_id>/inference")
class Inference(MethodView):
    @blp.response(202, JobAcceptedSchema)
    def post(self, interaction_id):
        """Run the assistant on this interaction now (an `inference` job): commitments become
        actions (open duplicates are skipped), a command is answered again."""
        job = services.request_reaction(
            scope().network_id, parse_uuid(interaction_id, "interaction_id")
        )
        return jobs.accepted(job)


@blp.route("/register", parameters=[IDEMPOTENCY_DOC])
class Register(MethodView):
    @device_route
    @blp.doc(**UPLOAD_DOC)
    @blp.arguments(UploadQuerySchema, location="query")
    @blp.response(202, JobAcceptedSchema, example=examples.JOB_ACCEPTED)
    @blp.alt_response(200, schema=JobSchema, description="Finished within `wait` seconds")
    @blp.alt_response(
        204,
        success=True,
        description="Apps' API (no network in the path): stored and queued; the interaction "
        "arrives on the realtime socket",
    )
    def post(self, query):
        """Upload one utterance (multipart `audio` + `client_id`, or a raw body).

        The audio is stored and its analysis job committed before the answer: 202 with the job
        on `/api/v1/{network_id}/…`, 204 on the apps' network-less paths. Formats are
        recognised by their bytes: WAV, FLAC, MP3, OGG/Opus, WebM, M4A, or headerless
        s16le 16 kHz mono PCM. With `wait=N` the 202 answer waits up to N s for the job.
        A `session_token` (from the socket's `session_ready`) is checked when sent.
        """
        if scope().legacy_lan:
            query = _with_uploader(query)
        return upload_response(query)
