from marshmallow import Schema, fields, validate

from mira.audit.services import ACTIONS
from mira.schemas import PageArgs, Timestamp


class AuditQuerySchema(PageArgs):
    action = fields.String(validate=validate.OneOf(ACTIONS))


class AuditActorSchema(Schema):
    kind = fields.String(attribute="actor_kind")
    id = fields.UUID(attribute="actor_id", allow_none=True)
    label = fields.String(attribute="actor_label", allow_none=True)


class AuditEntrySchema(Schema):
    id = fields.UUID()
    network_id = fields.UUID()
    actor = fields.Function(lambda entry: AuditActorSchema().dump(entry))
    action = fields.String()
    target = fields.String(allow_none=True)
    details = fields.Dict()
    created_at = Timestamp()
