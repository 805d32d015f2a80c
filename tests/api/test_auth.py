"""Accounts, sessions and tokens: /api/v1/auth, as API.md describes it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mira.auth.models import RefreshToken
from mira.auth.tokens import issue_access_token
from mira.extensions import db, limiter

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ENVELOPE_KEYS = {"detail", "error_code", "timestamp", "request_id"}


def assert_envelope(response, status: int, error_code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert set(body) >= ENVELOPE_KEYS, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert TIMESTAMP.match(body["timestamp"])
    assert body["request_id"] == response.headers["X-Request-ID"]
    if error_code is not None:
        assert body["error_code"] == error_code
    if status != 422:
        assert "errors" not in body
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, email: str, password: str = "correct horse battery"):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def refresh(client, token: str):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


# Register -------------------------------------------------------------------------------------


def test_register_answers_201_with_the_token_response(client, app):
    response = client.post(
        "/api/v1/auth/register", json={"email": "new@example.com", "password": "long enough"}
    )
    assert response.status_code == 201
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == app.config["MIRA_ACCESS_TOKEN_MINUTES"] * 60
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert set(body["user"]) == {"id", "email", "is_active"}
    assert body["user"]["email"] == "new@example.com"
    assert body["user"]["is_active"] is True
    uuid.UUID(body["user"]["id"])


def test_register_creates_a_personal_network_owned_by_the_user(client):
    body = client.post(
        "/api/v1/auth/register", json={"email": "solo@example.com", "password": "long enough"}
    ).json
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json
    assert len(me["networks"]) == 1
    assert me["networks"][0]["role"] == "owner"
    assert me["default_network_id"] == me["networks"][0]["id"]


def test_register_with_a_taken_email_is_409(client, alice):
    response = client.post(
        "/api/v1/auth/register", json={"email": alice.email, "password": "another password"}
    )
    assert_envelope(response, 409)


def test_register_treats_emails_case_insensitively(client, alice):
    response = client.post(
        "/api/v1/auth/register",
        json={"email": alice.email.upper(), "password": "another password"},
    )
    assert_envelope(response, 409)


def test_register_with_a_short_password_is_422_naming_the_field(client):
    response = client.post(
        "/api/v1/auth/register", json={"email": "short@example.com", "password": "1234567"}
    )
    body = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert "password" in body["errors"]
    assert isinstance(body["errors"]["password"], list) and body["errors"]["password"]
    # Nothing was created.
    assert login(client, "short@example.com", "1234567").status_code == 401


def test_register_accepts_a_password_of_exactly_eight_characters(client):
    response = client.post(
        "/api/v1/auth/register", json={"email": "eight@example.com", "password": "12345678"}
    )
    assert response.status_code == 201


def test_register_with_an_invalid_email_is_422(client):
    response = client.post(
        "/api/v1/auth/register", json={"email": "not-an-email", "password": "long enough"}
    )
    body = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert "email" in body["errors"]


def test_register_without_fields_is_422_listing_each(client):
    response = client.post("/api/v1/auth/register", json={})
    body = assert_envelope(response, 422)
    assert {"email", "password"} <= set(body["errors"])


def test_malformed_json_is_400_in_the_error_envelope(client):
    response = client.post(
        "/api/v1/auth/register",
        data='{"email": "x@example.com", "password": ',
        content_type="application/json",
    )
    assert_envelope(response, 400)


def test_malformed_json_on_login_is_400_in_the_error_envelope(client):
    response = client.post("/api/v1/auth/login", data="{nope", content_type="application/json")
    assert_envelope(response, 400)


# Login ----------------------------------------------------------------------------------------


def test_login_answers_200_with_a_fresh_token_pair(client, alice):
    response = login(client, alice.email)
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["user"]["id"] == alice.user_id
    assert body["refresh_token"] != alice.refresh_token
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json["id"] == alice.user_id


def test_login_ignores_the_case_of_the_email(client, alice):
    assert login(client, alice.email.upper()).status_code == 200


def test_login_with_a_wrong_password_is_401(client, alice):
    body = assert_envelope(login(client, alice.email, "wrong password"), 401)
    assert "password" not in body.get("errors", {})


def test_login_with_an_unknown_email_is_401_like_a_wrong_password(client, alice):
    unknown = assert_envelope(login(client, "nobody@example.com"), 401)
    wrong = assert_envelope(login(client, alice.email, "wrong password"), 401)
    # The answer must not reveal whether the account exists.
    assert unknown["detail"] == wrong["detail"]
    assert unknown["error_code"] == wrong["error_code"]


# Refresh and logout ---------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(client, alice):
    response = refresh(client, alice.refresh_token)
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["refresh_token"] != alice.refresh_token
    assert body["user"]["id"] == alice.user_id
    assert client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).status_code == 200
    # The new one keeps working for the next rotation.
    assert refresh(client, body["refresh_token"]).status_code == 200


def test_reused_refresh_token_revokes_the_session(client, alice):
    newest = refresh(client, alice.refresh_token).json["refresh_token"]
    reused = refresh(client, alice.refresh_token)
    assert_envelope(reused, 401)
    # The whole family is revoked: the token the legitimate holder got is dead too.
    assert_envelope(refresh(client, newest), 401)


def test_reuse_revokes_tokens_rotated_further_down_the_family(client, alice):
    second = refresh(client, alice.refresh_token).json["refresh_token"]
    third = refresh(client, second).json["refresh_token"]
    assert_envelope(refresh(client, second), 401)
    assert_envelope(refresh(client, third), 401)


def test_reuse_in_one_session_leaves_other_sessions_alive(client, alice):
    other_session = login(client, alice.email).json["refresh_token"]
    refresh(client, alice.refresh_token)
    assert refresh(client, alice.refresh_token).status_code == 401
    assert refresh(client, other_session).status_code == 200


def test_expired_refresh_token_is_401(client, app, alice):
    db.session.execute(
        db.update(RefreshToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    assert_envelope(refresh(client, alice.refresh_token), 401)


def test_unknown_refresh_token_is_401(client, alice):
    assert_envelope(refresh(client, "not-a-real-refresh-token"), 401)


def test_refresh_without_a_token_is_422(client):
    body = assert_envelope(client.post("/api/v1/auth/refresh", json={}), 422)
    assert "refresh_token" in body["errors"]


def test_logout_then_refresh_is_401(client, alice):
    response = client.post("/api/v1/auth/logout", json={"refresh_token": alice.refresh_token})
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_envelope(refresh(client, alice.refresh_token), 401)


def test_logout_revokes_tokens_already_rotated_from_the_same_login(client, alice):
    newest = refresh(client, alice.refresh_token).json["refresh_token"]
    assert client.post("/api/v1/auth/logout", json={"refresh_token": newest}).status_code == 204
    assert_envelope(refresh(client, newest), 401)


def test_logout_keeps_other_sessions(client, alice):
    other_session = login(client, alice.email).json["refresh_token"]
    client.post("/api/v1/auth/logout", json={"refresh_token": alice.refresh_token})
    assert refresh(client, other_session).status_code == 200


def test_logout_with_an_unknown_token_is_204(client):
    response = client.post("/api/v1/auth/logout", json={"refresh_token": "never-issued"})
    assert response.status_code == 204


# Access tokens --------------------------------------------------------------------------------


def test_expired_access_token_is_401(client, app, alice):
    token, _ = issue_access_token(uuid.UUID(alice.user_id), app.config["SECRET_KEY"], minutes=-1)
    response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


def test_expired_access_token_is_401_on_network_routes(client, app, alice):
    token, _ = issue_access_token(uuid.UUID(alice.user_id), app.config["SECRET_KEY"], minutes=-1)
    assert_envelope(client.get(f"{alice.prefix()}/persons", headers=bearer(token)), 401)
    assert_envelope(client.get("/api/v1/networks", headers=bearer(token)), 401)


def test_access_token_signed_with_another_secret_is_401(client, alice):
    now = datetime.now(UTC)
    forged = jwt.encode(
        {"sub": alice.user_id, "type": "access", "iat": now, "exp": now + timedelta(minutes=5)},
        "not the server secret" * 3,
        algorithm="HS256",
    )
    assert_envelope(client.get("/api/v1/auth/me", headers=bearer(forged)), 401)


def test_unsigned_access_token_is_401(client, alice):
    now = datetime.now(UTC)
    unsigned = jwt.encode(
        {"sub": alice.user_id, "type": "access", "exp": now + timedelta(minutes=5)},
        None,
        algorithm="none",
    )
    assert_envelope(client.get("/api/v1/auth/me", headers=bearer(unsigned)), 401)


def test_refresh_token_is_not_an_access_token(client, alice):
    assert_envelope(client.get("/api/v1/auth/me", headers=bearer(alice.refresh_token)), 401)


@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/api/v1/networks", "/api/v1/persons"])
def test_garbage_token_is_401(client, alice, path):
    assert_envelope(client.get(path, headers=bearer("garbage.token.here")), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/api/v1/networks", "/api/v1/persons"])
def test_missing_token_is_401(client, path):
    assert_envelope(client.get(path), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "header", ["Basic x", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token"]
)
def test_authorization_header_that_is_not_bearer_is_401(client, alice, header):
    response = client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert_envelope(response, 401)
    response = client.get(f"{alice.prefix()}/persons", headers={"Authorization": header})
    assert_envelope(response, 401)


def test_bearer_scheme_is_case_insensitive(client, alice):
    response = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"bearer {alice.access_token}"}
    )
    assert response.status_code == 200


def test_token_of_a_deleted_user_is_401(client, alice):
    assert client.delete("/api/v1/auth/me", headers=alice.headers).status_code == 204
    assert_envelope(client.get("/api/v1/auth/me", headers=alice.headers), 401)
    assert_envelope(client.get("/api/v1/persons", headers=alice.headers), 401)


def test_device_key_on_a_user_only_route_is_403(client, alice, device_key):
    response = client.get(f"{alice.prefix()}/persons", headers=bearer(device_key))
    assert_envelope(response, 403)
    response = client.get(f"{alice.prefix()}/persons", headers={"X-API-Key": device_key})
    assert_envelope(response, 403)


def test_device_key_cannot_read_or_delete_the_account(client, alice, device_key):
    assert_envelope(client.get("/api/v1/auth/me", headers=bearer(device_key)), 403)
    assert_envelope(client.delete("/api/v1/auth/me", headers=bearer(device_key)), 403)
    assert client.get("/api/v1/auth/me", headers=alice.headers).status_code == 200


def test_unknown_device_key_is_401(client, alice):
    response = client.get(
        f"{alice.prefix()}/service/info", headers=bearer("mira_dk_this-key-does-not-exist")
    )
    assert_envelope(response, 401)


# Me -------------------------------------------------------------------------------------------


def test_me_describes_the_caller(client, alice):
    response = client.get("/api/v1/auth/me", headers=alice.headers)
    assert response.status_code == 200
    me = response.json
    assert {"id", "email", "has_password", "created_at", "networks"} <= set(me)
    assert me["id"] == alice.user_id
    assert me["email"] == alice.email
    assert me["has_password"] is True
    assert TIMESTAMP.match(me["created_at"])
    assert me["networks"] == [
        {"id": alice.network_id, "name": me["networks"][0]["name"], "role": "owner"}
    ]


def test_me_lists_networks_shared_with_the_caller_and_their_role(client, alice, bob):
    shared = client.post("/api/v1/networks", json={"name": "Family"}, headers=alice.headers).json
    added = client.post(
        f"/api/v1/networks/{shared['id']}/members",
        json={"email": bob.email, "role": "member"},
        headers=alice.headers,
    )
    assert added.status_code == 201
    networks = client.get("/api/v1/auth/me", headers=bob.headers).json["networks"]
    roles = {n["id"]: n["role"] for n in networks}
    assert roles == {bob.network_id: "owner", shared["id"]: "member"}
    names = {n["id"]: n["name"] for n in networks}
    assert names[shared["id"]] == "Family"


# Delete me ------------------------------------------------------------------------------------


def test_delete_me_removes_the_account(client, alice):
    response = client.delete("/api/v1/auth/me", headers=alice.headers)
    assert response.status_code == 204
    assert_envelope(login(client, alice.email), 401)
    # The email is free again.
    again = client.post(
        "/api/v1/auth/register", json={"email": alice.email, "password": "a new password"}
    )
    assert again.status_code == 201


def test_delete_me_revokes_refresh_tokens(client, alice):
    client.delete("/api/v1/auth/me", headers=alice.headers)
    assert_envelope(refresh(client, alice.refresh_token), 401)


def test_delete_me_deletes_networks_only_they_own(client, alice, bob, register):
    carol = register("carol@example.com")
    co_owned = client.post("/api/v1/networks", json={"name": "Co-owned"}, headers=alice.headers)
    co_owned_id = co_owned.json["id"]
    client.post(
        f"/api/v1/networks/{co_owned_id}/members",
        json={"email": bob.email, "role": "owner"},
        headers=alice.headers,
    )
    solo = client.post("/api/v1/networks", json={"name": "Solo"}, headers=alice.headers).json
    # Carol is only a member of Solo: it is still Alice's alone.
    client.post(
        f"/api/v1/networks/{solo['id']}/members",
        json={"email": carol.email, "role": "member"},
        headers=alice.headers,
    )

    assert client.delete("/api/v1/auth/me", headers=alice.headers).status_code == 204

    survivor = client.get(f"/api/v1/networks/{co_owned_id}", headers=bob.headers)
    assert survivor.status_code == 200
    assert survivor.json["name"] == "Co-owned"
    members = client.get(f"/api/v1/networks/{co_owned_id}/members", headers=bob.headers).json
    assert [m["email"] for m in members] == [bob.email]

    assert client.get(f"/api/v1/networks/{solo['id']}", headers=carol.headers).status_code == 404
    carol_networks = client.get("/api/v1/auth/me", headers=carol.headers).json["networks"]
    assert [n["id"] for n in carol_networks] == [carol.network_id]
    # Alice's personal network went with her, and nothing of Bob's or Carol's did.
    assert client.get(f"{bob.prefix()}/service/info", headers=bob.headers).status_code == 200
    assert client.get(f"{carol.prefix()}/service/info", headers=carol.headers).status_code == 200


def test_delete_me_removes_the_personal_network_and_its_device_keys(client, alice, bob, device_key):
    client.delete("/api/v1/auth/me", headers=alice.headers)
    response = client.get(f"/api/v1/{alice.network_id}/service/info", headers=bearer(device_key))
    assert_envelope(response, 401)


# Rate limit -----------------------------------------------------------------------------------


@pytest.fixture
def limited_client(make_app, app):
    """A client of an app whose auth routes allow 3 requests a minute.

    The limiter is a module-level singleton: building this app switches it on for every app in
    the process, so it is switched back off afterwards.
    """
    was_enabled = limiter.enabled
    limited = make_app(
        RATELIMIT_ENABLED=True,
        MIRA_AUTH_RATE_LIMIT="3 per minute",
        RATELIMIT_STORAGE_URI="memory://",
    )
    try:
        yield limited.test_client()
    finally:
        limiter.enabled = was_enabled


def test_fourth_login_within_a_minute_is_429_with_retry_after(limited_client, alice):
    for _ in range(3):
        assert login(limited_client, alice.email).status_code == 200
    response = login(limited_client, alice.email)
    assert_envelope(response, 429, "RATE_LIMITED")
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60


def test_failed_logins_count_towards_the_rate_limit(limited_client, alice):
    for _ in range(3):
        assert login(limited_client, alice.email, "wrong password").status_code == 401
    # Even the right password is refused now: guessing cannot continue.
    response = login(limited_client, alice.email)
    assert_envelope(response, 429, "RATE_LIMITED")
    assert "Retry-After" in response.headers


def test_rate_limit_does_not_touch_authenticated_routes(limited_client, alice):
    for _ in range(4):
        login(limited_client, alice.email)
    for _ in range(5):
        assert limited_client.get("/api/v1/auth/me", headers=alice.headers).status_code == 200


# CORS and aliases -----------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["null", "http://localhost:5173"])
def test_cors_preflight_allows_patch_with_authorization(client, alice, origin):
    response = client.options(
        f"{alice.prefix()}/service/clients/kitchen",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status_code in (200, 204)
    assert response.headers.get("Access-Control-Allow-Origin") in (origin, "*")
    allowed_methods = response.headers.get("Access-Control-Allow-Methods", "").upper()
    assert "PATCH" in [m.strip() for m in allowed_methods.split(",")]
    allowed_headers = response.headers.get("Access-Control-Allow-Headers", "").lower()
    assert "authorization" in [h.strip() for h in allowed_headers.split(",")]


def test_cors_preflight_on_auth_routes_needs_no_credentials(client):
    response = client.options(
        "/api/v1/auth/me",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert response.status_code in (200, 204)
    assert response.headers.get("Access-Control-Allow-Origin") in ("http://localhost:5173", "*")


def test_cors_exposes_pagination_and_request_id_headers(client, alice):
    response = client.get(
        "/api/v1/networks", headers={**alice.headers, "Origin": "http://localhost:5173"}
    )
    assert response.status_code == 200
    assert response.headers.get("Access-Control-Allow-Origin") in ("http://localhost:5173", "*")
    exposed = response.headers.get("Access-Control-Expose-Headers", "").lower()
    assert "x-total-count" in exposed
    assert "x-request-id" in exposed


def test_v2_auth_alias_serves_the_same_routes(client):
    registered = client.post(
        "/api/v2/auth/register", json={"email": "v2@example.com", "password": "long enough"}
    )
    assert registered.status_code == 201
    logged_in = client.post(
        "/api/v2/auth/login", json={"email": "v2@example.com", "password": "long enough"}
    )
    assert logged_in.status_code == 200
    me = client.get("/api/v2/auth/me", headers=bearer(logged_in.json["access_token"]))
    assert me.status_code == 200
    assert me.json["email"] == "v2@example.com"
    rotated = client.post(
        "/api/v2/auth/refresh", json={"refresh_token": logged_in.json["refresh_token"]}
    )
    assert rotated.status_code == 200
    assert (
        client.post(
            "/api/v2/auth/logout", json={"refresh_token": rotated.json["refresh_token"]}
        ).status_code
        == 204
    )
    assert refresh(client, rotated.json["refresh_token"]).status_code == 401
    assert_envelope(client.post("/api/v2/auth/register", json={}), 422)


def test_each_request_is_answered_for_its_own_caller(client, alice, bob, device_key):
    assert client.get("/api/v1/auth/me", headers=alice.headers).json["email"] == alice.email
    assert client.get("/api/v1/auth/me", headers=bob.headers).json["email"] == bob.email
    # A device key right after a user request does not inherit that user.
    assert_envelope(client.get("/api/v1/auth/me", headers=bearer(device_key)), 403)
    assert_envelope(client.get("/api/v1/auth/me"), 401)
    assert bob.network_id != alice.network_id
    networks = client.get("/api/v1/networks", headers=bob.headers).json
    assert [n["id"] for n in networks] == [bob.network_id]
