from marshmallow import Schema, fields, validate

from mira.input_bounds import settings_validator
from mira.networks.models import ROLES
from mira.schemas import Timestamp, name_field


class NetworkSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    service_enabled = fields.Boolean()
    settings = fields.Dict()
    created_at = Timestamp()
    updated_at = Timestamp()
    role = fields.String(allow_none=True)


class NetworkCreateSchema(Schema):
    name = name_field(required=True)


class NetworkPatchSchema(Schema):
    name = name_field()
    settings = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)), validate=settings_validator
    )


class MemberCreateSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    role = fields.String(load_default="member", validate=validate.OneOf(ROLES))


class MemberSchema(Schema):
    user_id = fields.UUID()
    email = fields.String()
    role = fields.String()
    joined_at = Timestamp()


class InvitationCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.String(load_default="member", validate=validate.OneOf(ROLES))


class InvitationSchema(Schema):
    id = fields.UUID()
    network_id = fields.UUID()
    email = fields.String()
    role = fields.String()
    expires_at = Timestamp()
    accepted_at = Timestamp(allow_none=True)
    created_at = Timestamp()
    token = fields.String(
        metadata={"description": "Only in the answer that creates it: hand it to the invitee"}
    )
