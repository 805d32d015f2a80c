"""Owner invitations: how a household grows on a server whose sign-up is closed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mira.auth.models import User
from mira.extensions import db
from mira.networks.models import Invitation
from mira.types import utcnow
from tests.oauth_provider import CLIENTS, FakeProviders, Person

AUTH = "/api/v1/auth"


def _invite(client, owner, email="bob@example.com", role="member"):
    return client.post(
        f"/api/v1/networks/{owner.network_id}/invitations",
        json={"email": email, "role": role},
        headers=owner.headers,
    )


def _sign_up(client, email, invitation=None, password="correct horse battery"):
    body = {"email": email, "password": password}
    if invitation is not None:
        body["invitation"] = invitation
    return client.post(f"{AUTH}/register", json=body)


@pytest.fixture
def closed(app, monkeypatch):
    monkeypatch.setitem(app.config, "MIRA_OPEN_SIGNUP", False)


def test_an_invited_person_signs_up_while_sign_up_is_closed_and_joins_the_network(
    client, alice, closed
):
    invited = _invite(client, alice)
    assert invited.status_code == 201, invited.json
    token = invited.json["token"]
    assert token.startswith("mira_inv_") and invited.json["email"] == "bob@example.com"
    # Without the invitation the door stays shut.
    assert _sign_up(client, "bob@example.com").json["error_code"] == "SIGNUP_CLOSED"
    joined = _sign_up(client, "Bob@Example.com", token)
    assert joined.status_code == 201, joined.json
    headers = {"Authorization": f"Bearer {joined.json['access_token']}"}
    me = client.get(f"{AUTH}/me", headers=headers).json
    # The invited network is the only one and the default: no empty personal network.
    assert me["default_network_id"] == alice.network_id
    assert [(n["id"], n["role"]) for n in me["networks"]] == [(alice.network_id, "member")]
    assert client.get("/api/v1/persons", headers=headers).status_code == 200
    members = client.get(f"/api/v1/networks/{alice.network_id}/members", headers=alice.headers)
    assert sorted(m["email"] for m in members.json) == ["alice@example.com", "bob@example.com"]
    # Spent: the same token makes no second account, and the invitation is no longer pending.
    db.session.execute(db.delete(User).where(User.email == "bob@example.com"))
    db.session.commit()
    again = _sign_up(client, "bob@example.com", token)
    assert again.status_code == 403 and again.json["error_code"] == "INVITATION_INVALID"
    pending = client.get(f"/api/v1/networks/{alice.network_id}/invitations", headers=alice.headers)
    assert pending.json == []


@pytest.mark.parametrize("case", ["wrong address", "unknown token", "expired", "revoked"])
def test_an_invitation_only_opens_the_door_it_was_made_for(client, alice, closed, case):
    invited = _invite(client, alice)
    token, email = invited.json["token"], "bob@example.com"
    if case == "wrong address":
        email = "mallory@example.com"
    elif case == "unknown token":
        token = "mira_inv_" + "x" * 32
    elif case == "expired":
        db.session.execute(db.update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    elif case == "revoked":
        gone = client.delete(
            f"/api/v1/networks/{alice.network_id}/invitations/{invited.json['id']}",
            headers=alice.headers,
        )
        assert gone.status_code == 204
    refused = _sign_up(client, email, token)
    assert refused.status_code == 403 and refused.json["error_code"] == "INVITATION_INVALID"
    assert db.session.scalar(db.select(User).where(User.email == email)) is None


def test_only_owners_invite_list_and_revoke_and_other_networks_stay_out_of_reach(
    client, alice, register
):
    bob = register("bob@example.com")
    invited = _invite(client, alice, "carol@example.com")
    add_bob = client.post(
        f"/api/v1/networks/{alice.network_id}/members",
        json={"email": bob.email},
        headers=alice.headers,
    )
    assert add_bob.status_code == 201
    # A member is not an owner; a stranger does not see the network at all.
    path = f"/api/v1/networks/{alice.network_id}/invitations"
    by_bob = client.post(path, json={"email": "dan@example.com"}, headers=bob.headers)
    assert by_bob.status_code == 403 and by_bob.json["error_code"] == "FORBIDDEN"
    assert client.get(path, headers=bob.headers).status_code == 403
    mallory = register("mallory@example.com")
    assert client.get(path, headers=mallory.headers).status_code == 404
    assert (
        client.post(path, json={"email": "x@example.com"}, headers=mallory.headers).status_code
        == 404
    )
    assert client.delete(f"{path}/{invited.json['id']}", headers=mallory.headers).status_code == 404
    # Mallory's own network cannot reach Alice's invitation by its id either.
    foreign = f"/api/v1/networks/{mallory.network_id}/invitations/{invited.json['id']}"
    assert client.delete(foreign, headers=mallory.headers).status_code == 404
    listed = client.get(path, headers=alice.headers)
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
    assert [i["email"] for i in listed.json] == ["carol@example.com"]
    assert "token" not in listed.json[0]  # shown once, at creation


def test_inviting_an_address_that_has_an_account_points_to_members(client, alice, register):
    register("bob@example.com")
    response = _invite(client, alice, "bob@example.com")
    assert response.status_code == 409 and response.json["error_code"] == "ALREADY_REGISTERED"
    bad = _invite(client, alice, "not an address")
    assert bad.status_code == 422


def test_an_owner_invitation_makes_an_owner(client, alice, closed):
    token = _invite(client, alice, role="owner").json["token"]
    joined = _sign_up(client, "bob@example.com", token)
    headers = {"Authorization": f"Bearer {joined.json['access_token']}"}
    me = client.get(f"{AUTH}/me", headers=headers).json
    assert me["networks"][0]["role"] == "owner"


def test_google_sign_in_with_the_invited_verified_address_joins_while_sign_up_is_closed(
    client, app, alice, closed, monkeypatch
):
    providers = FakeProviders()
    client_id, secret = CLIENTS["google"]
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", client_id)
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_SECRET", secret)
    monkeypatch.setitem(app.config, "MIRA_OAUTH_TRANSPORT", providers)
    _invite(client, alice, "dora@example.com")

    def sign_in(person):
        started = client.get(f"{AUTH}/google/url?redirect_port=4280").json
        redirect = providers.consent(started["url"], person)
        return client.post(f"{AUTH}/google/callback", json=redirect)

    stranger = sign_in(Person("g-1", "eve@example.com"))
    assert stranger.status_code == 403 and stranger.json["error_code"] == "SIGNUP_CLOSED"
    unverified = sign_in(Person("g-3", "dora@example.com", email_verified=False))
    assert unverified.status_code == 403
    dora = sign_in(Person("g-2", "dora@example.com"))
    assert dora.status_code == 200, dora.json
    me = client.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {dora.json['access_token']}"})
    assert me.json["default_network_id"] == alice.network_id
    assert me.json["has_password"] is False


def test_the_cli_invites_too(app, runner, alice):
    result = runner.invoke(args=["mira", "invite", alice.network_id, "erin@example.com"])
    assert result.exit_code == 0, result.output
    token = json.loads(result.output)["token"]
    assert _sign_up(app.test_client(), "erin@example.com", token).status_code == 201
    unknown = runner.invoke(
        args=["mira", "invite", "00000000-0000-0000-0000-000000000000", "f@example.com"]
    )
    assert unknown.exit_code != 0 and "not found" in unknown.output.lower()
