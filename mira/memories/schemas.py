from marshmallow import Schema, fields, validate

from mira.memories.models import MEMORY_STATUSES, MEMORY_TYPES, SETTABLE_STATUSES
from mira.schemas import PageArgs, Timestamp


class MemorySchema(Schema):
    id = fields.UUID()
    network_id = fields.UUID()
    source_conversation_id = fields.UUID(allow_none=True)
    source_interaction_id = fields.UUID(allow_none=True)
    memory_type = fields.String(metadata={"enum": list(MEMORY_TYPES)})
    status = fields.String(metadata={"enum": list(MEMORY_STATUSES)})
    canonical_text = fields.String()
    action_kind = fields.String(allow_none=True)
    participant_person_ids = fields.List(fields.String())
    proposed_start_at = Timestamp(allow_none=True)
    proposed_end_at = Timestamp(allow_none=True)
    expires_at = Timestamp(allow_none=True)
    confidence = fields.Float()
    provenance = fields.Dict()
    transition_history = fields.List(fields.Dict())
    superseded_by_id = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()


class MemoryQuerySchema(PageArgs):
    memory_type = fields.String(validate=validate.OneOf(MEMORY_TYPES))
    status = fields.String(validate=validate.OneOf(MEMORY_STATUSES))


class MemoryPatchSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(SETTABLE_STATUSES))
