from flask import current_app, redirect, request, url_for

from mira import openapi_examples as examples
from mira.api import Blueprint
from mira.auth import oauth, services, sign_in
from mira.auth.schemas import (
    GitHubExchangeSchema,
    LoginSchema,
    MePatchSchema,
    MeSchema,
    OAuthCallbackSchema,
    OAuthUrlQuerySchema,
    OAuthUrlSchema,
    PasswordChangeSchema,
    RefreshSchema,
    RegisterSchema,
    TokenSchema,
    WebCallbackQuerySchema,
    WebLoginQuerySchema,
)
from mira.auth.scope import current_user, require_user_first
from mira.extensions import limiter

blp = Blueprint("auth", __name__, description="Accounts, sessions and tokens")
blp.before_request(require_user_first)  # 401 before 422 (mira/auth/scope.py)

PUBLIC = {"security": []}


def _auth_limit() -> str:
    return current_app.config["MIRA_AUTH_RATE_LIMIT"]


auth_rate_limit = limiter.shared_limit(_auth_limit, scope="auth")


def _account_limit() -> str:
    return current_app.config["MIRA_LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_account() -> str:
    """The normalised e-mail being logged into: guessing one account's password from many
    addresses (or from behind one proxy shared with everyone) meets this bucket too."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return services.normalise_email(email) if isinstance(email, str) else "-"


# Only failed logins count: the owner who types the password right is not slowed by their own
# successes, and once an account's bucket is spent, even a correct password waits (429).
login_account_limit = limiter.limit(
    _account_limit,
    key_func=_login_account,
    scope="login-account",
    deduct_when=lambda response: response.status_code == 401,
)


@blp.route("/register", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(RegisterSchema, example=examples.CREDENTIALS)
@blp.response(201, TokenSchema, example=examples.TOKEN)
@auth_rate_limit
def register(body):
    """Create an account and its personal network.

    With an `invitation` token (from `POST /networks/{network_id}/invitations`) the account
    joins that network instead, and may be made while sign-up is closed (403 `SIGNUP_CLOSED`
    without one).
    """
    return services.register(body["email"], body["password"], body.get("invitation"))


@blp.route("/login", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(LoginSchema, example=examples.CREDENTIALS)
@blp.response(200, TokenSchema, example=examples.TOKEN)
@auth_rate_limit
@login_account_limit
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
@blp.response(200, MeSchema, example=examples.ME)
def get_me():
    """The caller and the networks they belong to."""
    return services.me(current_user())


@blp.route("/me", methods=["PATCH"])
@blp.arguments(MePatchSchema)
@blp.response(200, MeSchema)
def patch_me(body):
    """Choose the default network: the one the network-less routes (the apps) act on."""
    return services.set_default_network(current_user(), body["default_network_id"])


@blp.route("/password", methods=["POST"])
@blp.arguments(PasswordChangeSchema)
@blp.response(200, TokenSchema)
@auth_rate_limit
def change_password(body):
    """Change your password (the current one is required when there is one); every other
    session ends, and this answer carries new tokens."""
    return services.change_password(
        current_user(), body.get("current_password"), body["new_password"]
    )


@blp.route("/me", methods=["DELETE"])
@blp.response(204)
def delete_me():
    """Delete the caller and the networks only they own."""
    services.delete_user(current_user())


# Sign-in with Google and GitHub (mira/auth/sign_in.py) -----------------------------------------

REDIRECT = {"responses": {"302": {"description": "Redirect"}}}


@blp.route("/google/url", methods=["GET"])
@blp.doc(**PUBLIC)
@blp.arguments(OAuthUrlQuerySchema, location="query")
@blp.response(200, OAuthUrlSchema)
@auth_rate_limit
def google_url(query):
    """Start a desktop Google sign-in: Google redirects to 127.0.0.1:`redirect_port`."""
    return sign_in.start_desktop(oauth.GOOGLE, query["redirect_port"], request.remote_addr)


@blp.route("/google/callback", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(OAuthCallbackSchema)
@blp.response(200, TokenSchema)
@auth_rate_limit
def google_callback(body):
    """Finish a desktop Google sign-in with the code and state the loopback redirect carried."""
    return sign_in.finish_desktop(oauth.GOOGLE, body["code"], body["state"])


@blp.route("/github/url", methods=["GET"])
@blp.doc(**PUBLIC)
@blp.arguments(OAuthUrlQuerySchema, location="query")
@blp.response(200, OAuthUrlSchema)
@auth_rate_limit
def github_url(query):
    """Start a desktop GitHub sign-in: GitHub redirects to 127.0.0.1:`redirect_port`."""
    return sign_in.start_desktop(oauth.GITHUB, query["redirect_port"], request.remote_addr)


@blp.route("/github/exchange", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(GitHubExchangeSchema)
@blp.response(200, TokenSchema)
@auth_rate_limit
def github_exchange(body):
    """Finish a desktop GitHub sign-in with the code the loopback redirect carried."""
    return sign_in.finish_desktop(
        oauth.GITHUB,
        body["code"],
        body.get("state"),
        port=body["redirect_port"],
        source_address=request.remote_addr,
    )


@blp.route("/google/web/login", methods=["GET"])
@blp.doc(**PUBLIC, **REDIRECT)
@blp.arguments(WebLoginQuerySchema, location="query")
@auth_rate_limit
def google_web_login(query):
    """Website sign-in: redirects to Google, whose answer comes back to `/google/web/callback`,
    which redirects to `{spa_origin}/auth/callback` with the tokens or an error."""
    callback = _public_url("auth.google_web_callback")
    return redirect(sign_in.start_web(oauth.GOOGLE, query["spa_origin"], query["next"], callback))


@blp.route("/google/web/callback", methods=["GET"])
@blp.doc(**PUBLIC, **REDIRECT)
@blp.arguments(WebCallbackQuerySchema, location="query")
def google_web_callback(query):
    """Google's redirect back to Mira (not called by the apps)."""
    outcome = sign_in.finish_web(
        oauth.GOOGLE,
        query.get("state"),
        query.get("code"),
        query.get("error"),
        query.get("error_description"),
    )
    response = redirect(outcome.location)
    # The tokens ride in the URL (the website's contract): keep them out of caches and referrers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _public_url(endpoint: str) -> str:
    """Mira's own address as the browser sees it: MIRA_PUBLIC_URL when set (behind a proxy)."""
    base = current_app.config.get("MIRA_PUBLIC_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint)
    return url_for(endpoint, _external=True)
