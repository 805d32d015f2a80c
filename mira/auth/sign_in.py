"""Sign-in with Google and GitHub: flows that start and finish once, and accounts they lead to.

Two shapes of flow, as the Mira apps use them:
- desktop: the app asks for a URL whose redirect goes to its own loopback port, catches the
  code there and posts it here (`finish_desktop`);
- web: the website navigates to Mira, Mira redirects to Google and its own callback finishes the
  flow, then redirects to the website's `/auth/callback` with the tokens (`finish_web`).

Every flow is a row (`OAuthFlow`): its `state` is stored hashed, matched once and then spent,
whatever happens next; its PKCE verifier never leaves the server. A provider account is linked
to a Mira account by the provider's stable id, and the first time by an e-mail the provider says
it verified: an unverified address never opens an existing account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import current_app
from sqlalchemy.exc import IntegrityError

from mira.auth import oauth
from mira.auth.models import OAuthFlow, OAuthIdentity, User
from mira.auth.services import (
    create_user,
    normalise_email,
    signup_closed,
    signup_open,
    token_response,
)
from mira.auth.tokens import sha256_hex
from mira.errors import BadRequest, Forbidden, Invalid, MiraError, Unauthorized, UpstreamUnavailable
from mira.extensions import db
from mira.types import utcnow

log = logging.getLogger(__name__)

DESKTOP = "desktop"
WEB = "web"
DEFAULT_NEXT = "/"


def client_for(provider_name: str) -> oauth.Client:
    """The provider with this deployment's credentials; 400 when none are configured."""
    provider = oauth.PROVIDERS[provider_name]
    cfg = current_app.config
    prefix = provider_name.upper()
    client_id, secret = cfg.get(f"{prefix}_CLIENT_ID"), cfg.get(f"{prefix}_CLIENT_SECRET")
    if not client_id or not secret:
        raise BadRequest(
            f"{provider.label} sign-in is not configured on this server "
            f"(set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET)",
            "OAUTH_NOT_CONFIGURED",
        )
    return oauth.Client(
        provider,
        client_id,
        secret,
        timeout_s=cfg["MIRA_OAUTH_TIMEOUT_S"],
        transport=cfg.get("MIRA_OAUTH_TRANSPORT"),
    )


def loopback_redirect_uri(provider_name: str, port: int) -> str:
    """Where the desktop apps listen: always 127.0.0.1, never a host the caller names."""
    return f"http://127.0.0.1:{port}/auth/{provider_name}/callback"


def _new_flow(provider_name: str, kind: str, redirect_uri: str, **fields: Any) -> tuple[str, str]:
    """Store a flow and answer (provider URL, state)."""
    client = client_for(provider_name)
    now = utcnow()
    # Spent and expired flows are only kept a day, for the logs: the table stays small.
    db.session.execute(db.delete(OAuthFlow).where(OAuthFlow.expires_at < now - timedelta(days=1)))
    state, verifier = oauth.new_state(), oauth.new_code_verifier()
    db.session.add(
        OAuthFlow(
            provider=provider_name,
            kind=kind,
            state_hash=sha256_hex(state),
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            expires_at=now + timedelta(seconds=current_app.config["MIRA_OAUTH_FLOW_S"]),
            **fields,
        )
    )
    db.session.commit()
    return client.authorization_url(redirect_uri, state, verifier), state


def start_desktop(provider_name: str, port: int, source_address: str | None) -> dict[str, str]:
    url, state = _new_flow(
        provider_name,
        DESKTOP,
        loopback_redirect_uri(provider_name, port),
        source_address=source_address,
    )
    return {"url": url, "state": state}


_SPENT = "This sign-in was already used or has expired: start it again"


def _spend(flow: OAuthFlow | None) -> OAuthFlow:
    """Mark the flow used; of two requests racing with one state, only one gets it."""
    now = utcnow()
    if flow is None or flow.used_at is not None or flow.expires_at <= now:
        raise BadRequest(_SPENT, "OAUTH_STATE_INVALID")
    spent = db.session.execute(
        db.update(OAuthFlow)
        .where(OAuthFlow.id == flow.id, OAuthFlow.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    db.session.commit()
    if spent != 1:
        raise BadRequest(_SPENT, "OAUTH_STATE_INVALID")
    return flow


def _flow_by_state(provider_name: str, kind: str, state: str) -> OAuthFlow | None:
    return db.session.scalar(
        db.select(OAuthFlow).where(
            OAuthFlow.state_hash == sha256_hex(state),
            OAuthFlow.provider == provider_name,
            OAuthFlow.kind == kind,
        )
    )


def _latest_unspent_flow(provider_name: str, port: int, source_address: str | None):
    """desktop-app posts GitHub's code without the state it came with: the flow it finishes is
    the newest unspent one this address started for this port. PKCE still binds the code to that
    flow's verifier, so a wrong match fails at GitHub instead of signing anyone in."""
    return db.session.scalar(
        db.select(OAuthFlow)
        .where(
            OAuthFlow.provider == provider_name,
            OAuthFlow.kind == DESKTOP,
            OAuthFlow.redirect_uri == loopback_redirect_uri(provider_name, port),
            OAuthFlow.source_address == source_address,
            OAuthFlow.used_at.is_(None),
            OAuthFlow.expires_at > utcnow(),
        )
        .order_by(OAuthFlow.created_at.desc())
        .limit(1)
    )


def finish_desktop(
    provider_name: str,
    code: str,
    state: str | None,
    port: int | None = None,
    source_address: str | None = None,
) -> dict[str, Any]:
    """The desktop apps' callback: the code their loopback listener caught → Mira tokens."""
    client = client_for(provider_name)
    if state:
        flow = _flow_by_state(provider_name, DESKTOP, state)
    elif port is not None:
        flow = _latest_unspent_flow(provider_name, port, source_address)
    else:
        raise Invalid("state is required", "VALIDATION_ERROR", {"state": ["Required."]})
    flow = _spend(flow)
    profile = _profile(client, code, flow)
    return token_response(account_for(provider_name, profile))


def _profile(client: oauth.Client, code: str, flow: OAuthFlow) -> oauth.Profile:
    label = client.provider.label
    try:
        return client.profile_for_code(code, flow.redirect_uri, flow.code_verifier)
    except oauth.ProviderUnavailable as exc:
        log.warning("%s sign-in: provider unavailable (%s)", label, exc)
        raise UpstreamUnavailable(
            f"{label} could not be reached; try again", "OAUTH_PROVIDER_UNAVAILABLE"
        ) from exc
    except oauth.ProviderError as exc:
        log.info("%s sign-in refused: %s", label, exc)
        raise BadRequest(
            f"{label} did not accept this sign-in: start it again", "OAUTH_REFUSED"
        ) from exc


def account_for(provider_name: str, profile: oauth.Profile) -> User:
    """The Mira user of a provider account: linked before, else by verified e-mail, else new."""
    label = oauth.PROVIDERS[provider_name].label
    identity = db.session.scalar(
        db.select(OAuthIdentity).where(
            OAuthIdentity.provider == provider_name, OAuthIdentity.subject == profile.subject
        )
    )
    if identity is not None:
        user = db.session.get(User, identity.user_id)
    else:
        if not profile.email or not profile.email_verified:
            raise Forbidden(
                f"Your {label} account has no verified e-mail address; verify it with {label} "
                "and sign in again",
                "EMAIL_NOT_VERIFIED",
            )
        email = normalise_email(profile.email)
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is None:
            user = _new_account(email)
        db.session.add(
            OAuthIdentity(
                user_id=user.id, provider=provider_name, subject=profile.subject, email=email
            )
        )
        try:
            db.session.commit()
        except IntegrityError:  # a concurrent first sign-in linked it: same user either way
            db.session.rollback()
            identity = db.session.scalar(
                db.select(OAuthIdentity).where(
                    OAuthIdentity.provider == provider_name,
                    OAuthIdentity.subject == profile.subject,
                )
            )
            user = db.session.get(User, identity.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("This account is disabled", "INVALID_CREDENTIALS")
    return user


# The website flow --------------------------------------------------------------------------------


def allowed_web_origin(origin: str) -> str:
    """The website's origin, exactly as configured; anything else is refused before any
    redirect, so tokens only ever travel to a site the operator named."""
    parts = urlsplit(origin or "")
    normalised = f"{parts.scheme}://{parts.netloc}".lower() if parts.netloc else ""
    allowed = {o.rstrip("/").lower() for o in current_app.config["MIRA_OAUTH_WEB_ORIGINS"]}
    if (
        parts.scheme not in ("http", "https")
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or normalised not in allowed
    ):
        raise BadRequest(
            "spa_origin is not an allowed website origin (MIRA_OAUTH_WEB_ORIGINS)",
            "OAUTH_ORIGIN_NOT_ALLOWED",
            {"spa_origin": ["Not an allowed origin."]},
        )
    return normalised


def safe_next(next_path: str | None) -> str:
    """A path on the website; never another site ('//host', 'https://…', backslashes)."""
    if (
        not next_path
        or not next_path.startswith("/")
        or next_path.startswith("//")
        or "\\" in next_path
        or any(ord(c) < 0x20 for c in next_path)
    ):
        return DEFAULT_NEXT
    return next_path[:512]


def start_web(provider_name: str, spa_origin: str, next_path: str | None, callback_url: str):
    """The provider URL to send the browser to."""
    client_for(provider_name)  # "not configured" first: it is the operator's to fix
    origin = allowed_web_origin(spa_origin)
    url, _ = _new_flow(
        provider_name,
        WEB,
        callback_url,
        spa_origin=origin,
        next_path=safe_next(next_path),
    )
    return url


@dataclass
class WebOutcome:
    """Where the browser goes after the provider's callback."""

    location: str


def finish_web(
    provider_name: str,
    state: str | None,
    code: str | None,
    error: str | None,
    error_description: str | None,
) -> WebOutcome:
    """Mira's own callback: tokens (or the reason there are none) go to the website."""
    flow = _flow_by_state(provider_name, WEB, state) if state else None
    flow = _spend(flow)  # an unknown state has no website to go back to: a 400 envelope
    back = f"{flow.spa_origin}/auth/callback?"
    if error or not code:
        description = error_description or "Sign-in was cancelled"
        return WebOutcome(
            back + urlencode({"error": error or "access_denied", "error_description": description})
        )
    try:
        tokens = token_response(
            account_for(provider_name, _profile(client_for(provider_name), code, flow))
        )
    except MiraError as exc:
        return WebOutcome(
            back + urlencode({"error": exc.error_code.lower(), "error_description": exc.detail})
        )
    return WebOutcome(
        back
        + urlencode(
            {
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
                "next": flow.next_path or DEFAULT_NEXT,
            }
        )
    )


def _new_account(email: str) -> User:
    """A first sign-in's account: invited (the provider verified the invited address), or
    open sign-up's own network; 403 SIGNUP_CLOSED otherwise."""
    from mira.networks import invitations

    try:
        invitation = invitations.pending_for(email, None)
    except MiraError:
        invitation = None
    if invitation is None and not signup_open():
        raise signup_closed()
    try:
        user = create_user(email, None, personal_network=invitation is None, commit=False)
    except MiraError:  # an account with this e-mail was made meanwhile
        return db.session.scalar(db.select(User).where(User.email == email))
    if invitation is not None:
        invitations.accept(invitation, user)
    return user
