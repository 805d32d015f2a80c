from marshmallow import Schema, fields, validate

from mira.actions.models import ACTION_STATUSES, ACTION_TYPES
from mira.schemas import PageArgs, Timestamp


class ActionSchema(Schema):
    id = fields.UUID()
    network_id = fields.UUID()
    action_type = fields.String(metadata={"enum": list(ACTION_TYPES)})
    status = fields.String(metadata={"enum": list(ACTION_STATUSES)})
    details = fields.Dict()
    scheduled_time = Timestamp(allow_none=True)
    completed_time = Timestamp(allow_none=True)
    person_id = fields.UUID(allow_none=True)
    interaction_id = fields.UUID(allow_none=True)
    conversation_id = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()


class ActionQuerySchema(PageArgs):
    status = fields.String(validate=validate.OneOf(ACTION_STATUSES))
    action_type = fields.String(validate=validate.OneOf(ACTION_TYPES))


class ActionPatchSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(ACTION_STATUSES))
