from marshmallow import Schema, fields, validate

from mira.schemas import Timestamp


class CredentialsSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=8, max=256))


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=512))


class TokenUserSchema(Schema):
    id = fields.UUID()
    email = fields.String()
    is_active = fields.Boolean()


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)
    user = fields.Nested(TokenUserSchema, required=True)


class MeNetworkSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    role = fields.String()


class MeSchema(Schema):
    id = fields.UUID()
    email = fields.String()
    has_password = fields.Boolean()
    is_active = fields.Boolean()
    default_network_id = fields.UUID(allow_none=True)
    created_at = Timestamp()
    networks = fields.List(fields.Nested(MeNetworkSchema))
