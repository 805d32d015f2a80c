"""A fake Google and GitHub for sign-in tests: a requests transport that answers their real
endpoints (token, userinfo, user, user/emails) and checks what a real provider checks — the
client's credentials, a code issued once for this redirect URI, and the PKCE verifier of its
challenge — plus `consent()`, which plays the person's browser on the authorization page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

CLIENTS = {
    "google": ("google-client-id.apps.example", "google-secret"),
    "github": ("github-client-id", "github-secret"),
}
AUTHORIZE = {
    "accounts.google.com/o/oauth2/v2/auth": "google",
    "github.com/login/oauth/authorize": "github",
}


@dataclass
class Person:
    """Who signs in at the provider."""

    subject: str
    email: str
    email_verified: bool = True
    name: str = "Test Person"


@dataclass
class Grant:
    provider: str
    person: Person
    redirect_uri: str
    code_challenge: str | None
    used: bool = False


@dataclass
class FakeProviders(BaseAdapter):
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Person] = field(default_factory=dict)
    requests_seen: list[str] = field(default_factory=list)
    down: bool = False

    def __post_init__(self):
        super().__init__()

    # The person's browser ------------------------------------------------------------------

    def consent(self, authorize_url: str, person: Person) -> dict[str, str]:
        """Approve on the provider's page; answers the redirect's query (code and state)."""
        parts = urlsplit(authorize_url)
        provider = AUTHORIZE[parts.netloc + parts.path]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query["client_id"] == CLIENTS[provider][0]
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            provider, person, query["redirect_uri"], query.get("code_challenge")
        )
        return {"code": code, "state": query["state"]}

    # The provider's servers ----------------------------------------------------------------

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        self.requests_seen.append(url.netloc + url.path)
        if self.down:
            raise requests.ConnectionError("provider unreachable")
        route = url.netloc + url.path
        if route in ("oauth2.googleapis.com/token", "github.com/login/oauth/access_token"):
            return self._token(request, "google" if "google" in route else "github")
        person = self.tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if person is None:
            return _response(request, 401, {"error": "invalid_token"})
        if route == "openidconnect.googleapis.com/v1/userinfo":
            return _response(
                request,
                200,
                {
                    "sub": person.subject,
                    "email": person.email,
                    "email_verified": person.email_verified,
                    "name": person.name,
                },
            )
        if route == "api.github.com/user":
            return _response(
                request, 200, {"id": int(person.subject), "login": "octo", "email": None}
            )
        if route == "api.github.com/user/emails":
            return _response(
                request,
                200,
                [
                    {"email": "old@example.net", "primary": False, "verified": True},
                    {"email": person.email, "primary": True, "verified": person.email_verified},
                ],
            )
        return _response(request, 404, {"message": "Not Found"})

    def _token(self, request, provider: str):
        form = {k: v[0] for k, v in parse_qs(request.body or "").items()}
        if (form.get("client_id"), form.get("client_secret")) != CLIENTS[provider]:
            return _response(request, 401, {"error": "invalid_client"})
        grant = self.grants.get(form.get("code", ""))
        if (
            grant is None
            or grant.used
            or grant.provider != provider
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant.redirect_uri
        ):
            return _response(request, 400, {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.code_challenge:
            return _response(
                request, 400, {"error": "invalid_grant", "error_description": "PKCE mismatch"}
            )
        grant.used = True
        token = secrets.token_urlsafe(16)
        self.tokens[token] = grant.person
        return _response(
            request, 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        )

    def close(self):
        pass


def _response(request, status: int, body) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.request = request
    response.url = request.url
    return response


def redirect_query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
