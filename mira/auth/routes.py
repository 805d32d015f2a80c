from flask import current_app

from mira.api import Blueprint
from mira.auth import services
from mira.auth.schemas import (
    CredentialsSchema,
    LoginSchema,
    MeSchema,
    RefreshSchema,
    TokenSchema,
)
from mira.auth.scope import current_user
from mira.extensions import limiter

blp = Blueprint("auth", __name__, description="Accounts, sessions and tokens")

PUBLIC = {"security": []}


def _auth_limit() -> str:
    return current_app.config["MIRA_AUTH_RATE_LIMIT"]


auth_rate_limit = limiter.shared_limit(_auth_limit, scope="auth")


@blp.route("/register", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(CredentialsSchema)
@blp.response(201, TokenSchema)
@auth_rate_limit
def register(body):
    """Create an account and its personal network."""
    return services.register(body["email"], body["password"])


@blp.route("/login", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@auth_rate_limit
def login(body):
    """Exchange email and password for an access and a refresh token."""
    return services.login(body["email"], body["password"])


@blp.route("/refresh", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(RefreshSchema)
@blp.response(200, TokenSchema)
@auth_rate_limit
def refresh(body):
    """Rotate a refresh token; a reused one revokes the session."""
    return services.refresh(body["refresh_token"])


@blp.route("/logout", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(RefreshSchema)
@blp.response(204)
def logout(body):
    """Revoke the session of a refresh token."""
    services.logout(body["refresh_token"])


@blp.route("/me", methods=["GET"])
@blp.response(200, MeSchema)
def get_me():
    """The caller and the networks they belong to."""
    return services.me(current_user())


@blp.route("/me", methods=["DELETE"])
@blp.response(204)
def delete_me():
    """Delete the caller and the networks only they own."""
    services.delete_user(current_user())
