from marshmallow import Schema, fields, validate

from mira.schemas import Timestamp


class ConversationSchema(Schema):
    id = fields.UUID()
    network_id = fields.UUID()
    title = fields.String(allow_none=True)
    topic_summary = fields.String(allow_none=True)
    context_summary = fields.String(allow_none=True)
    started_at = Timestamp()
    ended_at = Timestamp(allow_none=True)
    is_active = fields.Boolean()
    participants = fields.List(fields.UUID())
    interaction_count = fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class ConversationPatchSchema(Schema):
    title = fields.String(allow_none=True, validate=validate.Length(max=256))
    topic_summary = fields.String(allow_none=True, validate=validate.Length(max=10_000))
