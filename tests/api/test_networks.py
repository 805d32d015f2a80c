"""Networks and their members: /api/v1/networks, as API.md describes it."""

from __future__ import annotations

import re
import uuid

import pytest

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
NETWORK_KEYS = {"id", "name", "service_enabled", "settings", "created_at", "updated_at", "role"}


def assert_error(response, status: int, error_code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert {"detail", "error_code", "timestamp", "request_id"} <= set(body)
    if error_code is not None:
        assert body["error_code"] == error_code
    return body


def create(client, account, name: str = "Family"):
    response = client.post("/api/v1/networks", json={"name": name}, headers=account.headers)
    assert response.status_code == 201, response.json
    return response.json


def add_member(client, owner, network_id: str, email: str, role: str = "member"):
    return client.post(
        f"/api/v1/networks/{network_id}/members",
        json={"email": email, "role": role},
        headers=owner.headers,
    )


@pytest.fixture
def family(client, alice, bob):
    """A network Alice owns with Bob as a plain member."""
    network = create(client, alice, "Family")
    assert add_member(client, alice, network["id"], bob.email).status_code == 201
    return network


# Create and list ------------------------------------------------------------------------------


def test_create_network_makes_the_caller_its_owner(client, alice):
    response = client.post("/api/v1/networks", json={"name": "Office"}, headers=alice.headers)
    assert response.status_code == 201
    body = response.json
    assert set(body) == NETWORK_KEYS
    uuid.UUID(body["id"])
    assert body["name"] == "Office"
    assert body["role"] == "owner"
    assert body["service_enabled"] is True
    assert body["settings"] == {}
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["updated_at"])
    members = client.get(f"/api/v1/networks/{body['id']}/members", headers=alice.headers).json
    assert [(m["email"], m["role"]) for m in members] == [(alice.email, "owner")]


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 129}, {"name": 42}])
def test_create_network_with_a_bad_name_is_422(client, alice, body):
    response = client.post("/api/v1/networks", json=body, headers=alice.headers)
    assert "name" in assert_error(response, 422, "VALIDATION_ERROR")["errors"]


def test_create_network_needs_a_user_token(client, alice, device_key):
    assert_error(client.post("/api/v1/networks", json={"name": "x"}), 401)
    response = client.post(
        "/api/v1/networks", json={"name": "x"}, headers={"Authorization": f"Bearer {device_key}"}
    )
    assert_error(response, 403)


def test_list_networks_shows_only_the_callers_newest_first(client, alice, bob):
    first = create(client, alice, "First")
    second = create(client, alice, "Second")
    create(client, bob, "Bob's other")
    response = client.get("/api/v1/networks", headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "3"
    assert [n["id"] for n in response.json] == [second["id"], first["id"], alice.network_id]
    assert all(set(n) == NETWORK_KEYS for n in response.json)
    assert {n["role"] for n in response.json} == {"owner"}


def test_list_networks_includes_shared_ones_with_the_member_role(client, bob, family):
    networks = client.get("/api/v1/networks", headers=bob.headers).json
    assert {n["id"]: n["role"] for n in networks} == {
        bob.network_id: "owner",
        family["id"]: "member",
    }


def test_list_networks_pages_with_limit_and_offset(client, alice):
    for name in ("A", "B", "C", "D"):
        create(client, alice, name)
    everything = client.get("/api/v1/networks", headers=alice.headers).json
    assert len(everything) == 5
    first = client.get("/api/v1/networks?limit=2", headers=alice.headers)
    assert first.headers["X-Total-Count"] == "5"
    assert [n["id"] for n in first.json] == [n["id"] for n in everything[:2]]
    second = client.get("/api/v1/networks?limit=2&offset=2", headers=alice.headers)
    assert second.headers["X-Total-Count"] == "5"
    assert [n["id"] for n in second.json] == [n["id"] for n in everything[2:4]]
    past_the_end = client.get("/api/v1/networks?offset=10", headers=alice.headers)
    assert past_the_end.status_code == 200
    assert past_the_end.json == []
    assert past_the_end.headers["X-Total-Count"] == "5"


def test_list_networks_accepts_the_largest_page(client, alice):
    response = client.get("/api/v1/networks?limit=500", headers=alice.headers)
    assert response.status_code == 200
    assert len(response.json) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"), ("offset=-1", "offset")],
)
def test_list_networks_with_a_bad_page_is_422(client, alice, query, field):
    response = client.get(f"/api/v1/networks?{query}", headers=alice.headers)
    assert field in assert_error(response, 422, "VALIDATION_ERROR")["errors"]


def test_networks_alias_under_v2(client, alice):
    created = client.post("/api/v2/networks", json={"name": "Via v2"}, headers=alice.headers)
    assert created.status_code == 201
    got = client.get(f"/api/v2/networks/{created.json['id']}", headers=alice.headers)
    assert got.status_code == 200 and got.json["name"] == "Via v2"
    listed = client.get("/api/v2/networks", headers=alice.headers)
    assert listed.headers["X-Total-Count"] == "2"


# Get and patch --------------------------------------------------------------------------------


def test_get_network_shows_the_callers_role(client, alice, bob, family):
    as_owner = client.get(f"/api/v1/networks/{family['id']}", headers=alice.headers)
    assert as_owner.status_code == 200
    assert as_owner.json["role"] == "owner"
    as_member = client.get(f"/api/v1/networks/{family['id']}", headers=bob.headers)
    assert as_member.status_code == 200
    assert as_member.json["role"] == "member"
    assert as_member.json["name"] == "Family"


def test_malformed_network_id_is_422(client, alice):
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(
            "/api/v1/networks/not-a-uuid", json={"name": "x"}, headers=alice.headers
        )
        assert "network_id" in assert_error(response, 422, "VALIDATION_ERROR")["errors"]
    response = client.get("/api/v1/networks/not-a-uuid/members", headers=alice.headers)
    assert_error(response, 422)


def test_foreign_network_is_404(client, alice, bob):
    path = f"/api/v1/networks/{alice.network_id}"
    assert_error(client.get(path, headers=bob.headers), 404, "NOT_FOUND")
    assert_error(client.patch(path, json={"name": "mine"}, headers=bob.headers), 404)
    assert_error(client.get(f"{path}/members", headers=bob.headers), 404)
    assert_error(add_member(client, bob, alice.network_id, bob.email), 404)
    assert client.get(path, headers=alice.headers).json["name"] != "mine"


def test_unknown_network_is_404_like_a_foreign_one(client, alice, bob):
    unknown = client.get(f"/api/v1/networks/{uuid.uuid4()}", headers=alice.headers)
    foreign = client.get(f"/api/v1/networks/{bob.network_id}", headers=alice.headers)
    assert_error(unknown, 404)
    assert_error(foreign, 404)
    assert unknown.json["detail"] == foreign.json["detail"]


def test_foreign_network_cannot_be_deleted(client, alice, bob):
    response = client.delete(f"/api/v1/networks/{alice.network_id}", headers=bob.headers)
    assert_error(response, 404)  # API.md: like any network out of reach
    assert (
        client.get(f"/api/v1/networks/{alice.network_id}", headers=alice.headers).status_code == 200
    )


def test_patch_renames_the_network(client, alice):
    network = create(client, alice, "Old")
    response = client.patch(
        f"/api/v1/networks/{network['id']}", json={"name": "New"}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json["name"] == "New"
    assert response.json["role"] == "owner"
    again = client.get(f"/api/v1/networks/{network['id']}", headers=alice.headers).json
    assert again["name"] == "New"
    assert again["updated_at"] >= network["updated_at"]


def test_patch_merges_settings_and_null_removes_a_key(client, alice):
    path = f"/api/v1/networks/{alice.network_id}"
    first = client.patch(
        path,
        json={"settings": {"wake_words": ["mira"], "conversation_gap_s": 120, "lang": "en"}},
        headers=alice.headers,
    )
    assert first.status_code == 200
    assert first.json["settings"] == {
        "wake_words": ["mira"],
        "conversation_gap_s": 120,
        "lang": "en",
    }
    second = client.patch(
        path,
        json={"settings": {"conversation_gap_s": None, "lang": "de", "timezone": "UTC"}},
        headers=alice.headers,
    )
    assert second.status_code == 200
    expected = {"wake_words": ["mira"], "lang": "de", "timezone": "UTC"}
    assert second.json["settings"] == expected
    # Renaming alone leaves the settings alone.
    renamed = client.patch(path, json={"name": "Home"}, headers=alice.headers).json
    assert renamed["settings"] == expected
    assert client.get(path, headers=alice.headers).json["settings"] == expected


def test_patch_removing_an_absent_setting_is_harmless(client, alice):
    path = f"/api/v1/networks/{alice.network_id}"
    response = client.patch(path, json={"settings": {"nothing": None}}, headers=alice.headers)
    assert response.status_code == 200
    assert response.json["settings"] == {}


@pytest.mark.parametrize("body", [{"settings": ["a"]}, {"settings": "x"}, {"name": ""}])
def test_patch_with_invalid_fields_is_422(client, alice, body):
    response = client.patch(
        f"/api/v1/networks/{alice.network_id}", json=body, headers=alice.headers
    )
    assert_error(response, 422, "VALIDATION_ERROR")


# Delete ---------------------------------------------------------------------------------------


def test_owner_deletes_the_network_and_delete_is_idempotent(client, alice):
    network = create(client, alice, "Temporary")
    path = f"/api/v1/networks/{network['id']}"
    response = client.delete(path, headers=alice.headers)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(client.get(path, headers=alice.headers), 404)
    assert client.delete(path, headers=alice.headers).status_code == 204
    ids = [n["id"] for n in client.get("/api/v1/networks", headers=alice.headers).json]
    assert ids == [alice.network_id]


def test_member_may_not_delete_the_network(client, alice, bob, family):
    path = f"/api/v1/networks/{family['id']}"
    assert_error(client.delete(path, headers=bob.headers), 403, "FORBIDDEN")
    assert client.get(path, headers=alice.headers).status_code == 200
    assert client.get(path, headers=bob.headers).status_code == 200


def test_deleting_a_network_removes_its_device_keys_and_contents(client, alice):
    network = create(client, alice, "With a key")
    prefix = f"/api/v1/{network['id']}"
    key = client.post(f"{prefix}/service/keys", json={"name": "mic"}, headers=alice.headers)
    assert key.status_code == 201
    device = {"X-API-Key": key.json["key"]}
    assert client.get(f"{prefix}/service/info", headers=device).status_code == 200
    assert (
        client.delete(f"/api/v1/networks/{network['id']}", headers=alice.headers).status_code == 204
    )
    assert_error(client.get(f"{prefix}/service/info", headers=device), 401)
    assert_error(client.get(f"{prefix}/service/info", headers=alice.headers), 404)


def test_deleting_the_default_network_leaves_no_default(client, alice):
    assert (
        client.delete(f"/api/v1/networks/{alice.network_id}", headers=alice.headers).status_code
        == 204
    )
    me = client.get("/api/v1/auth/me", headers=alice.headers).json
    assert me["networks"] == []
    assert me["default_network_id"] is None
    assert_error(client.get("/api/v1/service/info", headers=alice.headers), 404)


# Members --------------------------------------------------------------------------------------


def test_owner_adds_a_member_by_email(client, alice, bob):
    network = create(client, alice, "Family")
    response = add_member(client, alice, network["id"], bob.email.upper())
    assert response.status_code == 201
    body = response.json
    assert body["user_id"] == bob.user_id
    assert body["email"] == bob.email
    assert body["role"] == "member"
    assert TIMESTAMP.match(body["joined_at"])
    # Bob now reaches the network's resources through its id.
    info = client.get(f"/api/v1/{network['id']}/service/info", headers=bob.headers)
    assert info.status_code == 200


def test_member_role_defaults_to_member(client, alice, bob):
    network = create(client, alice, "Family")
    response = client.post(
        f"/api/v1/networks/{network['id']}/members",
        json={"email": bob.email},
        headers=alice.headers,
    )
    assert response.status_code == 201
    assert response.json["role"] == "member"


def test_list_members_shows_everyone_with_their_role(client, alice, bob, family):
    for caller in (alice, bob):
        response = client.get(f"/api/v1/networks/{family['id']}/members", headers=caller.headers)
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "2"
        assert {(m["email"], m["role"]) for m in response.json} == {
            (alice.email, "owner"),
            (bob.email, "member"),
        }
        assert {m["user_id"] for m in response.json} == {alice.user_id, bob.user_id}


def test_list_members_pages(client, alice, bob, family, register):
    carol = register("carol@example.com")
    add_member(client, alice, family["id"], carol.email)
    response = client.get(f"/api/v1/networks/{family['id']}/members?limit=2", headers=alice.headers)
    assert response.headers["X-Total-Count"] == "3"
    assert len(response.json) == 2
    rest = client.get(
        f"/api/v1/networks/{family['id']}/members?limit=2&offset=2", headers=alice.headers
    ).json
    emails = {m["email"] for m in response.json + rest}
    assert emails == {alice.email, bob.email, carol.email}
    bad = client.get(f"/api/v1/networks/{family['id']}/members?limit=0", headers=alice.headers)
    assert_error(bad, 422)


def test_adding_an_unknown_email_is_404(client, alice):
    response = add_member(client, alice, alice.network_id, "nobody@example.com")
    assert_error(response, 404)


def test_adding_an_existing_member_is_409(client, alice, bob, family):
    assert_error(add_member(client, alice, family["id"], bob.email), 409)
    assert_error(add_member(client, alice, family["id"], alice.email, "owner"), 409)


def test_adding_with_an_unknown_role_is_422(client, alice, bob):
    response = add_member(client, alice, alice.network_id, bob.email, role="admin")
    assert "role" in assert_error(response, 422, "VALIDATION_ERROR")["errors"]


def test_member_may_not_add_members(client, alice, bob, family, register):
    carol = register("carol@example.com")
    assert_error(add_member(client, bob, family["id"], carol.email), 403, "FORBIDDEN")
    members = client.get(f"/api/v1/networks/{family['id']}/members", headers=alice.headers).json
    assert carol.email not in {m["email"] for m in members}


def test_member_may_not_remove_others(client, alice, bob, family, register):
    carol = register("carol@example.com")
    add_member(client, alice, family["id"], carol.email)
    for target in (carol, alice):
        response = client.delete(
            f"/api/v1/networks/{family['id']}/members/{target.user_id}", headers=bob.headers
        )
        assert_error(response, 403)
    members = client.get(f"/api/v1/networks/{family['id']}/members", headers=alice.headers).json
    assert len(members) == 3


def test_member_may_leave(client, alice, bob, family):
    response = client.delete(
        f"/api/v1/networks/{family['id']}/members/{bob.user_id}", headers=bob.headers
    )
    assert response.status_code == 204
    assert_error(client.get(f"/api/v1/networks/{family['id']}", headers=bob.headers), 404)
    members = client.get(f"/api/v1/networks/{family['id']}/members", headers=alice.headers).json
    assert [m["email"] for m in members] == [alice.email]


def test_owner_removes_a_member(client, alice, bob, family):
    response = client.delete(
        f"/api/v1/networks/{family['id']}/members/{bob.user_id}", headers=alice.headers
    )
    assert response.status_code == 204
    assert_error(client.get(f"/api/v1/{family['id']}/service/info", headers=bob.headers), 404)
    # Removing someone who is no longer a member is a no-op.
    again = client.delete(
        f"/api/v1/networks/{family['id']}/members/{bob.user_id}", headers=alice.headers
    )
    assert again.status_code == 204


def test_last_owner_cannot_be_removed(client, alice, bob, family):
    response = client.delete(
        f"/api/v1/networks/{family['id']}/members/{alice.user_id}", headers=alice.headers
    )
    assert_error(response, 409)
    assert client.get(f"/api/v1/networks/{family['id']}", headers=alice.headers).status_code == 200


def test_an_owner_may_leave_when_another_owner_remains(client, alice, bob):
    network = create(client, alice, "Shared")
    assert add_member(client, alice, network["id"], bob.email, role="owner").status_code == 201
    response = client.delete(
        f"/api/v1/networks/{network['id']}/members/{alice.user_id}", headers=alice.headers
    )
    assert response.status_code == 204
    members = client.get(f"/api/v1/networks/{network['id']}/members", headers=bob.headers).json
    assert [(m["email"], m["role"]) for m in members] == [(bob.email, "owner")]
    # Bob, now the last owner, cannot leave either.
    response = client.delete(
        f"/api/v1/networks/{network['id']}/members/{bob.user_id}", headers=bob.headers
    )
    assert_error(response, 409)


def test_co_owner_may_delete_the_network(client, alice, bob):
    network = create(client, alice, "Shared")
    add_member(client, alice, network["id"], bob.email, role="owner")
    response = client.delete(f"/api/v1/networks/{network['id']}", headers=bob.headers)
    assert response.status_code == 204
    assert_error(client.get(f"/api/v1/networks/{network['id']}", headers=alice.headers), 404)


def test_malformed_member_id_is_422(client, alice):
    response = client.delete(
        f"/api/v1/networks/{alice.network_id}/members/not-a-uuid", headers=alice.headers
    )
    assert "user_id" in assert_error(response, 422)["errors"]
