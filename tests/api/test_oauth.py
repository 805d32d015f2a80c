"""Sign-in with Google and GitHub: the apps' desktop flows and the website flow, run against a
fake provider transport (tests/oauth_provider.py) that checks codes, redirect URIs and PKCE as
the real providers do."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from mira.auth.models import OAuthFlow, OAuthIdentity, User
from mira.extensions import db
from mira.types import utcnow
from tests.oauth_provider import CLIENTS, FakeProviders, Person, redirect_query
from tests.openapi import full_paths

AUTH = "/api/v1/auth"
WEBSITE = "https://app.example.com"


@pytest.fixture
def provider(app, monkeypatch) -> FakeProviders:
    fake = FakeProviders()
    for name, (client_id, secret) in CLIENTS.items():
        monkeypatch.setitem(app.config, f"{name.upper()}_CLIENT_ID", client_id)
        monkeypatch.setitem(app.config, f"{name.upper()}_CLIENT_SECRET", secret)
    monkeypatch.setitem(app.config, "MIRA_OAUTH_TRANSPORT", fake)
    monkeypatch.setitem(app.config, "MIRA_OAUTH_WEB_ORIGINS", [WEBSITE])
    return fake


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _google_desktop(client, provider, person, port=4280):
    started = client.get(f"{AUTH}/google/url", query_string={"redirect_port": port})
    assert started.status_code == 200, started.json
    redirect = provider.consent(started.json["url"], person)
    assert redirect["state"] == started.json["state"]
    return client.post(
        f"{AUTH}/google/callback", json={"code": redirect["code"], "state": redirect["state"]}
    )


def _me(client, tokens):
    return client.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})


# Not configured ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, kwargs, label",
    [
        ("get", "/google/url", {}, "Google"),
        ("post", "/google/callback", {"json": {"code": "c", "state": "s"}}, "Google"),
        ("get", "/github/url", {}, "GitHub"),
        ("post", "/github/exchange", {"json": {"code": "c"}}, "GitHub"),
        ("get", "/google/web/login", {"query_string": {"spa_origin": WEBSITE}}, "Google"),
    ],
)
def test_without_credentials_each_route_answers_a_clear_400(client, method, path, kwargs, label):
    response = getattr(client, method)(AUTH + path, **kwargs)
    assert response.status_code == 400
    assert response.json["error_code"] == "OAUTH_NOT_CONFIGURED"
    assert response.json["detail"].startswith(f"{label} sign-in is not configured")


# Google, desktop ------------------------------------------------------------------------------


def test_google_desktop_flow_creates_an_account_without_a_password(client, provider, app):
    started = client.get(f"{AUTH}/google/url", query_string={"redirect_port": 4280})
    assert started.status_code == 200
    url = started.json["url"]
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    query = _query(url)
    assert query["redirect_uri"] == "http://127.0.0.1:4280/auth/google/callback"
    assert query["scope"] == "openid email profile"
    assert query["state"] == started.json["state"]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert "client_secret" not in query and "code_verifier" not in query

    redirect = provider.consent(url, Person("g-1001", "Carol@Example.com"))
    response = client.post(
        f"{AUTH}/google/callback", json={"code": redirect["code"], "state": redirect["state"]}
    )
    assert response.status_code == 200, response.json
    tokens = response.json
    assert tokens["token_type"] == "bearer" and tokens["refresh_token"]
    assert tokens["user"]["email"] == "carol@example.com"
    me = _me(client, tokens).json
    assert me["has_password"] is False and me["default_network_id"]
    # The refresh token works as any other.
    refreshed = client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    # The state is stored hashed, never as given.
    assert (
        db.session.scalar(db.select(db.func.count()).where(OAuthFlow.state_hash == query["state"]))
        == 0
    )


def test_a_state_is_spent_once_even_with_a_fresh_code(client, provider):
    person = Person("g-1", "dave@example.com")
    started = client.get(f"{AUTH}/google/url").json
    first = provider.consent(started["url"], person)
    assert client.post(f"{AUTH}/google/callback", json=first).status_code == 200
    again = provider.consent(started["url"], person)  # a second code for the same state
    replay = client.post(f"{AUTH}/google/callback", json=again)
    assert replay.status_code == 400
    assert replay.json["error_code"] == "OAUTH_STATE_INVALID"


def test_unknown_expired_and_foreign_states_are_refused(client, provider, app):
    person = Person("g-2", "erin@example.com")
    unknown = client.post(f"{AUTH}/google/callback", json={"code": "x", "state": "made-up"})
    assert unknown.status_code == 400 and unknown.json["error_code"] == "OAUTH_STATE_INVALID"

    started = client.get(f"{AUTH}/google/url").json
    redirect = provider.consent(started["url"], person)
    db.session.execute(db.update(OAuthFlow).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    expired = client.post(f"{AUTH}/google/callback", json=redirect)
    assert expired.status_code == 400 and expired.json["error_code"] == "OAUTH_STATE_INVALID"

    # A GitHub flow's state does not finish a Google sign-in.
    github = client.get(f"{AUTH}/github/url").json
    crossed = client.post(f"{AUTH}/google/callback", json={"code": "x", "state": github["state"]})
    assert crossed.status_code == 400 and crossed.json["error_code"] == "OAUTH_STATE_INVALID"
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_a_code_from_another_flow_fails_pkce_and_spends_the_state(client, provider):
    person = Person("g-3", "frank@example.com")
    flow_a = client.get(f"{AUTH}/google/url").json
    flow_b = client.get(f"{AUTH}/google/url").json
    code_a = provider.consent(flow_a["url"], person)["code"]
    response = client.post(
        f"{AUTH}/google/callback", json={"code": code_a, "state": flow_b["state"]}
    )
    assert response.status_code == 400
    assert response.json["error_code"] == "OAUTH_REFUSED"
    code_b = provider.consent(flow_b["url"], person)["code"]
    spent = client.post(f"{AUTH}/google/callback", json={"code": code_b, "state": flow_b["state"]})
    assert spent.json["error_code"] == "OAUTH_STATE_INVALID"


@pytest.mark.parametrize("port", ["80", "70000", "abc", "-1"])
def test_redirects_only_to_a_loopback_port(client, provider, port):
    response = client.get(f"{AUTH}/google/url", query_string={"redirect_port": port})
    assert response.status_code == 422
    assert "redirect_port" in response.json["errors"]


def test_the_redirect_host_cannot_be_chosen(client, provider):
    response = client.get(
        f"{AUTH}/google/url",
        query_string={"redirect_port": 5000, "redirect_uri": "https://evil.example/cb"},
    )
    if response.status_code == 200:
        assert _query(response.json["url"])["redirect_uri"] == (
            "http://127.0.0.1:5000/auth/google/callback"
        )
    else:
        assert response.status_code == 422


def test_an_unverified_email_signs_nobody_in(client, provider, register):
    alice = register("alice@example.com")
    response = _google_desktop(
        client, provider, Person("g-evil", "alice@example.com", email_verified=False)
    )
    assert response.status_code == 403
    assert response.json["error_code"] == "EMAIL_NOT_VERIFIED"
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthIdentity)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1
    # Alice's own login is untouched.
    login = client.post(f"{AUTH}/login", json={"email": alice.email, "password": alice.password})
    assert login.status_code == 200


def test_a_verified_email_links_the_existing_account_then_the_subject_does(
    client, provider, register
):
    alice = register("alice@example.com")
    first = _google_desktop(client, provider, Person("g-alice", "ALICE@example.com"))
    assert first.status_code == 200
    assert first.json["user"]["id"] == alice.user_id
    assert _me(client, first.json).json["has_password"] is True
    # Later Google reports another address: the linked subject still finds Alice.
    second = _google_desktop(client, provider, Person("g-alice", "alice.new@example.org"))
    assert second.json["user"]["id"] == alice.user_id
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_a_disabled_account_cannot_sign_in(client, provider, register):
    alice = register("alice@example.com")
    db.session.execute(db.update(User).values(is_active=False))
    db.session.commit()
    response = _google_desktop(client, provider, Person("g-a", alice.email))
    assert response.status_code == 401


def test_a_deleted_account_leaves_no_link_behind(client, provider):
    person = Person("g-del", "gina@example.com")
    tokens = _google_desktop(client, provider, person).json
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.delete(f"{AUTH}/me", headers=headers).status_code == 204
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthIdentity)) == 0
    again = _google_desktop(client, provider, person)
    assert again.status_code == 200 and again.json["user"]["id"] != tokens["user"]["id"]


def test_provider_unreachable_is_a_502_not_a_500(client, provider):
    started = client.get(f"{AUTH}/google/url").json
    redirect = provider.consent(started["url"], Person("g-4", "hank@example.com"))
    provider.down = True
    response = client.post(f"{AUTH}/google/callback", json=redirect)
    assert response.status_code == 502
    assert response.json["error_code"] == "OAUTH_PROVIDER_UNAVAILABLE"


# GitHub, desktop ------------------------------------------------------------------------------


def test_github_desktop_flow_as_the_desktop_app_runs_it(client, provider):
    started = client.get(f"{AUTH}/github/url", query_string={"redirect_port": 4280})
    assert started.status_code == 200
    query = _query(started.json["url"])
    assert started.json["url"].startswith("https://github.com/login/oauth/authorize?")
    assert query["redirect_uri"] == "http://127.0.0.1:4280/auth/github/callback"
    assert query["code_challenge_method"] == "S256"
    redirect = provider.consent(started.json["url"], Person("4242", "ivy@example.com"))
    # desktop-app posts the code and its port, not the state.
    response = client.post(
        f"{AUTH}/github/exchange", json={"code": redirect["code"], "redirect_port": 4280}
    )
    assert response.status_code == 200, response.json
    assert response.json["user"]["email"] == "ivy@example.com"  # the primary, verified one
    assert _me(client, response.json).json["has_password"] is False
    replay = client.post(
        f"{AUTH}/github/exchange", json={"code": redirect["code"], "redirect_port": 4280}
    )
    assert replay.status_code == 400 and replay.json["error_code"] == "OAUTH_STATE_INVALID"


def test_github_exchange_without_state_only_finishes_a_flow_of_the_same_address(client, provider):
    started = client.get(f"{AUTH}/github/url", environ_base={"REMOTE_ADDR": "192.0.2.10"}).json
    redirect = provider.consent(started["url"], Person("77", "jack@example.com"))
    elsewhere = client.post(
        f"{AUTH}/github/exchange",
        json={"code": redirect["code"], "redirect_port": 4280},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert elsewhere.status_code == 400 and elsewhere.json["error_code"] == "OAUTH_STATE_INVALID"
    # With its state, the flow finishes from anywhere (and only once).
    with_state = client.post(
        f"{AUTH}/github/exchange",
        json={"code": redirect["code"], "state": started["state"]},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert with_state.status_code == 200, with_state.json


def test_github_without_a_verified_primary_email_is_refused(client, provider):
    started = client.get(f"{AUTH}/github/url").json
    redirect = provider.consent(started["url"], Person("88", "kim@example.com", False))
    response = client.post(f"{AUTH}/github/exchange", json={"code": redirect["code"]})
    assert response.status_code == 403 and response.json["error_code"] == "EMAIL_NOT_VERIFIED"


def test_google_and_github_with_one_verified_email_share_one_account(client, provider):
    google = _google_desktop(client, provider, Person("g-5", "lee@example.com")).json
    started = client.get(f"{AUTH}/github/url").json
    redirect = provider.consent(started["url"], Person("99", "lee@example.com"))
    github = client.post(f"{AUTH}/github/exchange", json={"code": redirect["code"]}).json
    assert github["user"]["id"] == google["user"]["id"]


# Google, website ------------------------------------------------------------------------------


def _web_login(client, next_path="/assistant", origin=WEBSITE):
    return client.get(
        f"{AUTH}/google/web/login", query_string={"next": next_path, "spa_origin": origin}
    )


def test_website_flow_redirects_back_with_tokens(client, provider):
    login = _web_login(client)
    assert login.status_code == 302
    google = login.headers["Location"]
    query = _query(google)
    assert query["redirect_uri"] == "http://localhost/api/v1/auth/google/web/callback"
    redirect = provider.consent(google, Person("g-web", "mia@example.com"))
    back = client.get(
        f"{AUTH}/google/web/callback",
        query_string={"code": redirect["code"], "state": redirect["state"], "scope": "email"},
    )
    assert back.status_code == 302
    location = back.headers["Location"]
    assert location.startswith(f"{WEBSITE}/auth/callback?")
    assert back.headers["Cache-Control"] == "no-store"
    tokens = redirect_query(location)
    assert tokens["next"] == "/assistant"
    assert _me(client, tokens).json["email"] == "mia@example.com"
    replay = client.get(
        f"{AUTH}/google/web/callback",
        query_string={"code": redirect["code"], "state": redirect["state"]},
    )
    assert replay.status_code == 400 and replay.json["error_code"] == "OAUTH_STATE_INVALID"


def test_website_flow_uses_the_public_url_behind_a_proxy(client, provider, monkeypatch, app):
    monkeypatch.setitem(app.config, "MIRA_PUBLIC_URL", "https://mira.example.com/")
    query = _query(_web_login(client).headers["Location"])
    assert query["redirect_uri"] == "https://mira.example.com/api/v1/auth/google/web/callback"


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://app.example.com.evil.example",
        "https://app.example.com/path",
        "http://app.example.com",
        "javascript:alert(1)",
        "",
    ],
)
def test_website_flow_never_redirects_to_a_foreign_origin(client, provider, origin):
    response = _web_login(client, origin=origin)
    assert response.status_code in (400, 422)
    assert "Location" not in response.headers
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthFlow)) == 0


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example", "/\\evil"])
def test_website_flow_keeps_next_on_the_website(client, provider, next_path):
    google = _web_login(client, next_path=next_path).headers["Location"]
    redirect = provider.consent(google, Person("g-n", "ned@example.com"))
    back = client.get(f"{AUTH}/google/web/callback", query_string=redirect)
    assert redirect_query(back.headers["Location"])["next"] == "/"


def test_website_flow_reports_a_cancelled_consent_and_an_unverified_email(client, provider):
    google = _web_login(client).headers["Location"]
    state = _query(google)["state"]
    cancelled = client.get(
        f"{AUTH}/google/web/callback", query_string={"error": "access_denied", "state": state}
    )
    assert cancelled.status_code == 302
    outcome = redirect_query(cancelled.headers["Location"])
    assert outcome["error"] == "access_denied" and "access_token" not in outcome

    google = _web_login(client).headers["Location"]
    redirect = provider.consent(google, Person("g-u", "uma@example.com", email_verified=False))
    back = client.get(f"{AUTH}/google/web/callback", query_string=redirect)
    outcome = redirect_query(back.headers["Location"])
    assert outcome["error"] == "email_not_verified" and "access_token" not in outcome
    assert "verified" in outcome["error_description"]


def test_spent_flows_are_cleaned_up_after_a_day(client, provider):
    client.get(f"{AUTH}/google/url")
    db.session.execute(db.update(OAuthFlow).values(expires_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    client.get(f"{AUTH}/google/url")
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthFlow)) == 1


def test_openapi_documents_the_sign_in_routes(client):
    paths = full_paths(client.get("/openapi.json").json)
    for path in (
        "/api/v1/auth/google/url",
        "/api/v1/auth/google/callback",
        "/api/v1/auth/github/url",
        "/api/v1/auth/github/exchange",
        "/api/v1/auth/google/web/login",
    ):
        assert path in paths


def test_closed_sign_up_lets_existing_accounts_sign_in_but_makes_no_new_ones(
    client, provider, register, app, monkeypatch
):
    alice = register("alice@example.com")
    monkeypatch.setitem(app.config, "MIRA_OPEN_SIGNUP", False)
    stranger = _google_desktop(client, provider, Person("g-new", "stranger@example.com"))
    assert stranger.status_code == 403 and stranger.json["error_code"] == "SIGNUP_CLOSED"
    known = _google_desktop(client, provider, Person("g-al", alice.email))
    assert known.status_code == 200 and known.json["user"]["id"] == alice.user_id
