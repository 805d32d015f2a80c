"""Google and GitHub as OAuth 2.0 providers, through Authlib: the protocol, no Flask and no rows.

Both use the authorization-code grant with PKCE (S256); the client secret stays on the server.
What Mira needs back is a `Profile`: the provider's stable id for the person and an e-mail the
provider says it verified. Every HTTP call goes through a requests session on which a test can
mount a fake provider (`transport`), so the real endpoints are used and nothing leaves the machine
in tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GOOGLE = "google"
GITHUB = "github"


class ProviderError(Exception):
    """The provider refused (a bad or used code, a denied consent): the user must start again."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or answered nonsense: worth trying again later."""


@dataclass(frozen=True)
class Profile:
    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    authorize_url: str
    token_url: str
    scope: str
    # Reads the person behind an access token (one or two API calls).
    read_profile: Callable[[Any], Profile]


def _google_profile(session) -> Profile:
    info = _get_json(session, "https://openidconnect.googleapis.com/v1/userinfo")
    subject = info.get("sub")
    if not subject:
        raise ProviderUnavailable("Google's userinfo carries no subject")
    return Profile(
        subject=str(subject),
        email=info.get("email"),
        email_verified=info.get("email_verified") is True,
        name=info.get("name"),
    )


def _github_profile(session) -> Profile:
    user = _get_json(session, "https://api.github.com/user")
    if not user.get("id"):
        raise ProviderUnavailable("GitHub's user carries no id")
    # The public profile's e-mail says nothing about verification: only /user/emails does.
    emails = _get_json(session, "https://api.github.com/user/emails")
    primary = next(
        (e for e in emails if isinstance(e, dict) and e.get("primary")),
        None,
    )
    return Profile(
        subject=str(user["id"]),
        email=primary.get("email") if primary else None,
        email_verified=bool(primary and primary.get("verified") is True),
        name=user.get("name") or user.get("login"),
    )


PROVIDERS = {
    GOOGLE: Provider(
        name=GOOGLE,
        label="Google",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        scope="openid email profile",
        read_profile=_google_profile,
    ),
    GITHUB: Provider(
        name=GITHUB,
        label="GitHub",
        authorize_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        scope="read:user user:email",
        read_profile=_github_profile,
    ),
}


@dataclass(frozen=True)
class Client:
    """A provider with this deployment's credentials and HTTP settings."""

    provider: Provider
    client_id: str
    client_secret: str
    timeout_s: float = 10.0
    transport: Any = None  # a requests adapter mounted on https:// (tests: a fake provider)

    def _session(self, redirect_uri: str, token: dict | None = None):
        from authlib.integrations.requests_client import OAuth2Session

        session = OAuth2Session(
            self.client_id,
            self.client_secret,
            scope=self.provider.scope,
            redirect_uri=redirect_uri,
            token=token,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post",
            default_timeout=self.timeout_s,
        )
        session.headers["User-Agent"] = "Mira"
        if self.transport is not None:
            session.mount("https://", self.transport)
        return session

    def authorization_url(self, redirect_uri: str, state: str, code_verifier: str) -> str:
        url, _ = self._session(redirect_uri).create_authorization_url(
            self.provider.authorize_url, state=state, code_verifier=code_verifier
        )
        return url

    def profile_for_code(self, code: str, redirect_uri: str, code_verifier: str) -> Profile:
        """Exchange the code (with its PKCE verifier) and read who signed in."""
        import requests
        from authlib.integrations.base_client import OAuthError

        session = self._session(redirect_uri)
        try:
            session.fetch_token(
                self.provider.token_url,
                code=code,
                code_verifier=code_verifier,
                grant_type="authorization_code",
            )
            return self.provider.read_profile(session)
        except OAuthError as exc:
            raise ProviderError(exc.description or exc.error or "refused") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(type(exc).__name__) from exc
        except ValueError as exc:  # a body that is not the JSON it should be
            raise ProviderUnavailable("unreadable answer") from exc
        finally:
            session.close()


def _get_json(session, url: str) -> Any:
    response = session.get(url, headers={"Accept": "application/json"})
    if response.status_code in (401, 403):
        raise ProviderError(f"{url} refused the access token ({response.status_code})")
    if response.status_code != 200:
        raise ProviderUnavailable(f"{url} answered {response.status_code}")
    return response.json()


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    """RFC 7636: 43–128 characters of [A-Za-z0-9-._~]; 64 from token_urlsafe(48)."""
    return secrets.token_urlsafe(48)
