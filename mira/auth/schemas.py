from marshmallow import Schema, fields, validate

from mira.schemas import Timestamp


class CredentialsSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=8, max=256))


class RegisterSchema(CredentialsSchema):
    invitation = fields.String(
        validate=validate.Length(min=1, max=128),
        metadata={"description": "A network owner's invitation token (sign-up closed or not)"},
    )


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


PORT_RANGE = validate.Range(min=1024, max=65535)


class OAuthUrlQuerySchema(Schema):
    redirect_port = fields.Integer(
        load_default=4280,
        validate=PORT_RANGE,
        metadata={"description": "The loopback port the app listens on (127.0.0.1 only)"},
    )


class OAuthUrlSchema(Schema):
    url = fields.String(required=True, metadata={"description": "Open this in a browser"})
    state = fields.String(required=True, metadata={"description": "Post it back with the code"})


class OAuthCallbackSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    state = fields.String(required=True, validate=validate.Length(min=1, max=512))


class GitHubExchangeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    state = fields.String(
        validate=validate.Length(min=1, max=512),
        metadata={
            "description": "The flow's state; without it, the newest flow this address "
            "started for `redirect_port`"
        },
    )
    redirect_port = fields.Integer(load_default=4280, validate=PORT_RANGE)


class WebLoginQuerySchema(Schema):
    spa_origin = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The website's origin; must be in MIRA_OAUTH_WEB_ORIGINS"},
    )
    next = fields.String(
        load_default="/",
        validate=validate.Length(max=512),
        metadata={"description": "Path on the website to land on after signing in"},
    )


class WebCallbackQuerySchema(Schema):
    code = fields.String(validate=validate.Length(max=2048))
    state = fields.String(validate=validate.Length(max=512))
    error = fields.String(validate=validate.Length(max=256))
    error_description = fields.String(validate=validate.Length(max=1024))

    class Meta:
        unknown = "exclude"  # providers add parameters of their own (scope, authuser, prompt)


class PasswordChangeSchema(Schema):
    current_password = fields.String(
        validate=validate.Length(max=256),
        metadata={"description": "Required when the account has a password"},
    )
    new_password = fields.String(required=True, validate=validate.Length(min=8, max=256))


class MePatchSchema(Schema):
    default_network_id = fields.UUID(
        required=True, metadata={"description": "A network you belong to"}
    )
