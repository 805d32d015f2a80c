"""Account administration: change or reset a password, close sign-up, choose the default
network, list users."""

from __future__ import annotations

import json

AUTH = "/api/v1/auth"


def test_change_password_needs_the_current_one_and_ends_other_sessions(client, alice):
    wrong = client.post(
        f"{AUTH}/password",
        json={"current_password": "not it", "new_password": "a brand new secret"},
        headers=alice.headers,
    )
    assert wrong.status_code == 403 and wrong.json["error_code"] == "INVALID_CREDENTIALS"
    changed = client.post(
        f"{AUTH}/password",
        json={"current_password": alice.password, "new_password": "a brand new secret"},
        headers=alice.headers,
    )
    assert changed.status_code == 200 and changed.json["refresh_token"]
    # The old session is over; the new tokens work; only the new password logs in.
    old = client.post(f"{AUTH}/refresh", json={"refresh_token": alice.refresh_token})
    assert old.status_code == 401
    new = client.post(f"{AUTH}/refresh", json={"refresh_token": changed.json["refresh_token"]})
    assert new.status_code == 200
    login = client.post(f"{AUTH}/login", json={"email": alice.email, "password": alice.password})
    assert login.status_code == 401
    login = client.post(
        f"{AUTH}/login", json={"email": alice.email, "password": "a brand new secret"}
    )
    assert login.status_code == 200


def test_a_short_new_password_is_refused(client, alice):
    response = client.post(
        f"{AUTH}/password",
        json={"current_password": alice.password, "new_password": "short"},
        headers=alice.headers,
    )
    assert response.status_code == 422 and "new_password" in response.json["errors"]


def test_password_routes_need_a_user(client, device_key):
    response = client.post(f"{AUTH}/password", json={"new_password": "whatever123"})
    assert response.status_code == 401
    keyed = client.post(
        f"{AUTH}/password",
        json={"new_password": "whatever123"},
        headers={"Authorization": f"Bearer {device_key}"},
    )
    assert keyed.status_code == 403


def test_closed_sign_up_refuses_register_but_the_cli_still_makes_accounts(
    client, app, runner, monkeypatch
):
    monkeypatch.setitem(app.config, "MIRA_OPEN_SIGNUP", False)
    refused = client.post(
        f"{AUTH}/register", json={"email": "new@example.com", "password": "long enough pw"}
    )
    assert refused.status_code == 403 and refused.json["error_code"] == "SIGNUP_CLOSED"
    made = runner.invoke(
        args=["mira", "create-user", "new@example.com", "--password", "long enough pw"]
    )
    assert made.exit_code == 0, made.output
    login = client.post(
        f"{AUTH}/login", json={"email": "new@example.com", "password": "long enough pw"}
    )
    assert login.status_code == 200


def test_choose_the_default_network(client, alice, bob):
    team = client.post("/api/v1/networks", json={"name": "Office"}, headers=alice.headers).json
    me = client.patch(f"{AUTH}/me", json={"default_network_id": team["id"]}, headers=alice.headers)
    assert me.status_code == 200 and me.json["default_network_id"] == team["id"]
    # The network-less routes now act on it.
    client.post("/api/v1/persons", json={"name": "Office Ada"}, headers=alice.headers)
    persons = client.get(f"/api/v1/{team['id']}/persons", headers=alice.headers).json
    assert [p["name"] for p in persons] == ["Office Ada"]
    # A network one does not belong to cannot be chosen.
    foreign = client.patch(
        f"{AUTH}/me", json={"default_network_id": bob.network_id}, headers=alice.headers
    )
    assert foreign.status_code == 404


def test_cli_set_password_and_users(client, runner, alice):
    reset = runner.invoke(
        args=["mira", "set-password", alice.email, "--password", "reset by the admin"]
    )
    assert reset.exit_code == 0, reset.output
    assert (
        client.post(f"{AUTH}/refresh", json={"refresh_token": alice.refresh_token}).status_code
        == 401
    )
    login = client.post(
        f"{AUTH}/login", json={"email": alice.email, "password": "reset by the admin"}
    )
    assert login.status_code == 200
    short = runner.invoke(args=["mira", "set-password", alice.email, "--password", "x"])
    assert short.exit_code != 0 and "at least 8" in short.output
    unknown = runner.invoke(
        args=["mira", "set-password", "nobody@example.com", "--password", "12345678"]
    )
    assert unknown.exit_code != 0

    listed = runner.invoke(args=["mira", "users"])
    assert listed.exit_code == 0
    [row] = [json.loads(line) for line in listed.output.splitlines()]
    assert row["email"] == alice.email and row["has_password"] is True and row["networks"] == 1
    assert "password_hash" not in row


def test_signing_out_ends_the_access_token_at_once(client, alice):
    other = client.post(f"{AUTH}/login", json={"email": alice.email, "password": alice.password})
    other_tokens = other.json  # a second device of Alice's
    assert (
        client.post(f"{AUTH}/logout", json={"refresh_token": alice.refresh_token}).status_code
        == 204
    )
    # This session's access token is refused at once, on every kind of route…
    me = client.get(f"{AUTH}/me", headers=alice.headers)
    assert me.status_code == 401 and "revoked" in me.json["detail"]
    assert client.get("/api/v1/persons", headers=alice.headers).status_code == 401
    assert client.get(f"{alice.prefix()}/persons", headers=alice.headers).status_code == 401
    # …and cannot be renewed; the other device refreshes as after any 401 and goes on.
    assert (
        client.post(f"{AUTH}/refresh", json={"refresh_token": alice.refresh_token}).status_code
        == 401
    )
    renewed = client.post(f"{AUTH}/refresh", json={"refresh_token": other_tokens["refresh_token"]})
    assert renewed.status_code == 200
    fresh = {"Authorization": f"Bearer {renewed.json['access_token']}"}
    assert client.get("/api/v1/persons", headers=fresh).status_code == 200


def test_a_password_change_ends_the_old_access_tokens_not_the_new_one(client, alice):
    changed = client.post(
        f"{AUTH}/password",
        json={"current_password": alice.password, "new_password": "another long secret"},
        headers=alice.headers,
    )
    assert changed.status_code == 200
    assert client.get(f"{AUTH}/me", headers=alice.headers).status_code == 401
    fresh = {"Authorization": f"Bearer {changed.json['access_token']}"}
    assert client.get(f"{AUTH}/me", headers=fresh).status_code == 200


def test_a_forged_generation_claim_is_refused(client, alice, app):
    import jwt

    claims = jwt.decode(alice.access_token, options={"verify_signature": False})
    for bad in ("1", True, 1.5):
        forged = jwt.encode({**claims, "gen": bad}, app.config["SECRET_KEY"], algorithm="HS256")
        response = client.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401
