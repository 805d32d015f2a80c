"""Auth edges (issue 14): login slowed per account as well as per IP, the client's address
behind trusted proxies, authentication before validation, the device key's reach."""

from __future__ import annotations

import pytest

from mira.extensions import limiter
from tests.api.test_auth import assert_envelope

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def limited(make_app, app):
    """Build apps with the limiter on (a process-wide singleton: switched back off after)."""
    was_enabled = limiter.enabled

    def build(**overrides):
        settings = {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MIRA_AUTH_RATE_LIMIT": "100 per minute",
            "MIRA_LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute",
            **overrides,
        }
        return make_app(**settings).test_client()

    try:
        yield build
    finally:
        limiter.enabled = was_enabled


def login(client, email, password="correct horse battery", ip="198.51.100.1"):
    return client.post(
        LOGIN, json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def test_failed_logins_from_many_addresses_slow_the_account(limited, alice, bob):
    client = limited()
    for i in range(3):
        assert login(client, alice.email, "wrong", ip=f"203.0.113.{i}").status_code == 401
    # A fourth address, and the right password: the account's bucket is spent.
    response = login(client, alice.email, ip="203.0.113.99")
    assert_envelope(response, 429, "RATE_LIMITED")
    assert "Retry-After" in response.headers
    # The same e-mail written differently is the same account.
    assert login(client, "  ALICE@example.com ", ip="203.0.113.98").status_code == 429
    # Another account from the same addresses is not slowed.
    assert login(client, bob.email, ip="203.0.113.0").status_code == 200


def test_successful_logins_do_not_spend_the_account_bucket(limited, alice):
    client = limited()
    for _ in range(5):
        assert login(client, alice.email).status_code == 200


def test_the_per_ip_limit_still_holds_across_accounts(limited, alice, bob):
    client = limited(MIRA_AUTH_RATE_LIMIT="3 per minute", MIRA_LOGIN_ACCOUNT_RATE_LIMIT="50/minute")
    for email in (alice.email, bob.email, "carol@example.com"):
        assert login(client, email, "wrong").status_code == 401
    assert login(client, "dave@example.com", "wrong").status_code == 429


# Trusted proxies -----------------------------------------------------------------------------


def test_behind_a_trusted_proxy_each_client_has_its_own_ip_bucket(limited, alice):
    client = limited(MIRA_AUTH_RATE_LIMIT="2 per minute", MIRA_TRUSTED_PROXIES=1)
    for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        for _ in range(2):
            response = client.post(
                LOGIN,
                json={"email": alice.email, "password": "correct horse battery"},
                headers={"X-Forwarded-For": ip},
                environ_base={"REMOTE_ADDR": "10.0.0.1"},  # the proxy
            )
            assert response.status_code == 200, (ip, response.json)
    response = client.post(
        LOGIN,
        json={"email": alice.email, "password": "correct horse battery"},
        headers={"X-Forwarded-For": "203.0.113.1"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert_envelope(response, 429, "RATE_LIMITED")


def test_only_the_trusted_hops_of_x_forwarded_for_are_believed(make_app, app):
    served = make_app(MIRA_TRUSTED_PROXIES=1)

    @served.get("/_test/remote")
    def remote():
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme}

    client = served.test_client()
    response = client.get(
        "/_test/remote",
        headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    # The client forged 6.6.6.6; the one proxy appended the address it saw.
    assert response.json == {"addr": "203.0.113.7", "scheme": "https"}
    untrusted = make_app()

    @untrusted.get("/_test/remote")
    def remote_untrusted():
        from flask import request

        return {"addr": request.remote_addr}

    response = untrusted.test_client().get(
        "/_test/remote",
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.json == {"addr": "10.0.0.1"}


# Authentication before validation ------------------------------------------------------------


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("POST", "/api/v1/auth/password", {"new_password": 5}),
        ("PATCH", "/api/v1/auth/me", {"default_network_id": "not-a-uuid"}),
        ("POST", "/api/v1/networks", {"name": ""}),
        ("PATCH", "/api/v1/networks/{net}", {"settings": "not an object"}),
        ("POST", "/api/v1/networks/{net}/members", {"role": "emperor"}),
        ("POST", "/api/v1/{net}/interactions", {"text": ""}),
        ("POST", "/api/v1/{net}/persons", {"name": 5}),
        ("GET", "/api/v1/networks?limit=-1", None),
        ("GET", "/api/v1/{net}/interactions?limit=-1", None),
    ],
)
def test_an_invalid_request_without_a_token_is_401_not_422(client, alice, method, url, body):
    url = url.format(net=alice.network_id)
    response = client.open(url, method=method, json=body)
    assert_envelope(response, 401, "UNAUTHORIZED")
    # With the token, the same request is a validation error.
    response = client.open(url, method=method, json=body, headers=alice.headers)
    assert_envelope(response, 422)


def test_an_invalid_request_with_a_device_key_where_it_may_not_go_is_403(client, alice, device_key):
    response = client.post(
        "/api/v1/auth/password", json={"new_password": 5}, headers={"X-API-Key": device_key}
    )
    assert_envelope(response, 403, "DEVICE_KEY_NOT_ALLOWED")
    response = client.post("/api/v1/networks", json={"name": ""}, headers={"X-API-Key": device_key})
    assert_envelope(response, 403, "DEVICE_KEY_NOT_ALLOWED")


def test_public_auth_routes_still_validate_without_a_token(client):
    assert_envelope(client.post(LOGIN, json={"email": 5}), 422)
    assert_envelope(client.post("/api/v1/auth/refresh", json={}), 422)
    assert_envelope(client.post("/api/v1/auth/logout", json={}), 422)


# The device key's reach (decided in docs/api.md) ---------------------------------------------


def test_a_device_key_reads_the_event_feed_but_not_the_resources(client, alice, device_key):
    """Kept on purpose: room devices show the conversation and learn uploads' outcomes from the
    feed, and the socket (which also takes device keys) carries the same events."""
    client.post(f"{alice.prefix()}/interactions", json={"text": "hello"}, headers=alice.headers)
    key = {"X-API-Key": device_key}
    events = client.get(f"{alice.prefix()}/events", headers=key)
    assert events.status_code == 200
    assert any(e["type"] == "interaction.created" for e in events.json["events"])
    for path in ("/interactions", "/persons", "/conversations", "/service/keys"):
        response = client.get(f"{alice.prefix()}{path}", headers=key)
        assert_envelope(response, 403, "DEVICE_KEY_NOT_ALLOWED")
