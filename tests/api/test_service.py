"""Service state, clients and device keys: {P}/service, as API.md describes it."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CLIENT_KEYS = {"client_id", "ip", "connected_at", "last_seen", "metadata", "stream"}

# Every route exists with the network in the path and, for the default network, without it;
# /api/v2 serves the same routes.
PREFIXES = {
    "v1-network": "/api/v1/{network_id}",
    "v1-default": "/api/v1",
    "v2-network": "/api/v2/{network_id}",
    "v2-default": "/api/v2",
}


@pytest.fixture(params=list(PREFIXES.values()), ids=list(PREFIXES))
def P(request, alice) -> str:
    """A prefix that reaches Alice's default network."""
    return request.param.format(network_id=alice.network_id)


@pytest.fixture(params=["v1-network", "v2-network"])
def REST(request, alice) -> str:
    """A prefix with the network in the path: API.md's answers (the network-less paths follow
    the Mira apps' contract where it differs; see test_apps_api.py)."""
    return PREFIXES[request.param].format(network_id=alice.network_id)


def assert_error(response, status: int, error_code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert {"detail", "error_code", "timestamp", "request_id"} <= set(body)
    if error_code is not None:
        assert body["error_code"] == error_code
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_key(token: str) -> dict[str, str]:
    return {"X-API-Key": token}


def register_client(client, prefix: str, client_id: str, headers, **kwargs):
    return client.post(
        f"{prefix}/service/client/register/{quote(client_id, safe='')}", headers=headers, **kwargs
    )


def new_network(client, account, name: str = "Second") -> str:
    response = client.post("/api/v1/networks", json={"name": name}, headers=account.headers)
    assert response.status_code == 201
    return response.json["id"]


def new_key(client, account, network_id: str, name: str = "mic") -> dict:
    response = client.post(
        f"/api/v1/{network_id}/service/keys", json={"name": name}, headers=account.headers
    )
    assert response.status_code == 201, response.json
    return response.json


# Service info ---------------------------------------------------------------------------------


def test_service_info_with_a_device_key(client, alice, device_key, P):
    for headers in (bearer(device_key), api_key(device_key)):
        response = client.get(f"{P}/service/info", headers=headers)
        assert response.status_code == 200
        body = response.json
        assert set(body) >= {
            "network_id",
            "name",
            "service_enabled",
            "connected_clients",
            "queue",
            "version",
        }
        assert body["network_id"] == alice.network_id
        assert body["service_enabled"] is True
        assert body["connected_clients"] == {}
        assert body["queue"] == {"queued": 0, "running": 0, "failed": 0}
        assert isinstance(body["version"], str) and body["version"]


def test_service_info_with_a_user_token(client, alice, P):
    response = client.get(f"{P}/service/info", headers=alice.headers)
    assert response.status_code == 200
    assert response.json["network_id"] == alice.network_id
    me = client.get("/api/v1/auth/me", headers=alice.headers).json
    assert response.json["name"] == me["networks"][0]["name"]


def test_service_info_of_a_shared_network_by_id(client, alice, bob):
    family = new_network(client, alice, "Family")
    client.post(
        f"/api/v1/networks/{family}/members", json={"email": bob.email}, headers=alice.headers
    )
    response = client.get(f"/api/v1/{family}/service/info", headers=bob.headers)
    assert response.status_code == 200
    assert response.json["network_id"] == family
    assert response.json["name"] == "Family"
    # Without the id, Bob still lands in his own default network.
    default = client.get("/api/v1/service/info", headers=bob.headers)
    assert default.json["network_id"] == bob.network_id


def test_service_info_needs_credentials(client, alice):
    assert_error(client.get(f"{alice.prefix()}/service/info"), 401)
    assert_error(client.get("/api/v1/service/info"), 401)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_malformed_network_id_in_the_path_is_422(client, alice, device_key, version):
    response = client.get(f"/api/{version}/not-a-uuid/service/info", headers=alice.headers)
    assert "network_id" in assert_error(response, 422, "VALIDATION_ERROR")["errors"]
    response = client.get(f"/api/{version}/1234/service/info", headers=api_key(device_key))
    assert_error(response, 422)


def test_foreign_network_is_404_for_users(client, alice, bob):
    for path in ("service/info", "service/clients", "service/keys"):
        response = client.get(f"/api/v1/{bob.network_id}/{path}", headers=alice.headers)
        assert_error(response, 404, "NOT_FOUND")
    response = client.get(f"/api/v1/{uuid.uuid4()}/service/info", headers=alice.headers)
    assert_error(response, 404)


# Client register / deregister (device routes) -------------------------------------------------


def test_device_registers_a_client(client, alice, device_key, P):
    response = register_client(
        client, P, "kitchen", api_key(device_key), json={"metadata": {"platform": "linux"}}
    )
    assert response.status_code == 200
    body = response.json
    assert isinstance(body["message"], str) and body["message"]
    assert set(body["client"]) >= CLIENT_KEYS
    assert body["client"]["client_id"] == "kitchen"
    assert body["client"]["metadata"] == {"platform": "linux"}
    assert TIMESTAMP.match(body["client"]["connected_at"])
    assert TIMESTAMP.match(body["client"]["last_seen"])
    info = client.get(f"{P}/service/info", headers=api_key(device_key)).json
    assert list(info["connected_clients"]) == ["kitchen"]
    entry = info["connected_clients"]["kitchen"]
    assert set(entry) >= {"ip", "connected_at", "last_seen", "metadata"}
    assert entry["metadata"] == {"platform": "linux"}


def test_register_without_a_body_is_accepted(client, alice, device_key):
    response = register_client(client, "/api/v1", "bare", api_key(device_key))
    assert response.status_code == 200
    assert response.json["client"]["client_id"] == "bare"
    assert response.json["client"]["metadata"] == {}


def test_re_registering_updates_the_client(client, alice, device_key):
    headers = api_key(device_key)
    first = register_client(client, "/api/v1", "desk", headers, json={"metadata": {"v": "1.0"}})
    second = register_client(
        client, "/api/v1", "desk", headers, json={"metadata": {"v": "1.1", "os": "mac"}}
    )
    assert first.status_code == second.status_code == 200
    assert second.json["client"]["metadata"]["v"] == "1.1"
    assert second.json["client"]["metadata"]["os"] == "mac"
    assert second.json["client"]["connected_at"] == first.json["client"]["connected_at"]
    info = client.get("/api/v1/service/info", headers=headers).json
    assert list(info["connected_clients"]) == ["desk"]
    assert info["connected_clients"]["desk"]["metadata"]["v"] == "1.1"
    listed = client.get(f"{alice.prefix()}/service/clients", headers=alice.headers)
    assert listed.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    "client_id", ["Living Room", "Bob's phone", "Mum's kitchen mic (2)", "x" * 128, "日本語"]
)
def test_client_ids_with_spaces_and_apostrophes_round_trip(client, alice, device_key, client_id):
    headers = api_key(device_key)
    response = register_client(client, "/api/v1", client_id, headers)
    assert response.status_code == 200, response.json
    assert response.json["client"]["client_id"] == client_id
    info = client.get("/api/v1/service/info", headers=headers).json
    assert list(info["connected_clients"]) == [client_id]
    listed = client.get(f"{alice.prefix()}/service/clients", headers=alice.headers).json
    assert [c["client_id"] for c in listed] == [client_id]
    gone = client.delete(
        f"/api/v1/service/client/deregister/{quote(client_id, safe='')}", headers=headers
    )
    assert gone.status_code == 200
    assert client.get("/api/v1/service/info", headers=headers).json["connected_clients"] == {}


def test_client_id_longer_than_128_characters_is_422(client, alice, device_key):
    response = register_client(client, "/api/v1", "x" * 129, api_key(device_key))
    assert "client_id" in assert_error(response, 422, "VALIDATION_ERROR")["errors"]
    info = client.get("/api/v1/service/info", headers=api_key(device_key)).json
    assert info["connected_clients"] == {}


def test_legacy_register_body_is_kept_in_metadata(client, alice, device_key):
    response = register_client(
        client,
        "/api/v1",
        "old-phone",
        api_key(device_key),
        json={"local_ip_address": "192.168.1.20", "external_ip_address": "203.0.113.7"},
    )
    assert response.status_code == 200
    metadata = response.json["client"]["metadata"]
    assert metadata["local_ip_address"] == "192.168.1.20"
    assert metadata["external_ip_address"] == "203.0.113.7"
    info = client.get("/api/v1/service/info", headers=api_key(device_key)).json
    assert info["connected_clients"]["old-phone"]["metadata"] == metadata


def test_register_with_non_object_metadata_is_422(client, alice, device_key):
    response = register_client(
        client, "/api/v1", "odd", api_key(device_key), json={"metadata": ["not", "an", "object"]}
    )
    assert "metadata" in assert_error(response, 422)["errors"]


def test_user_token_may_register_a_client_too(client, alice, P):
    response = register_client(client, P, "from-the-app", alice.headers)
    assert response.status_code == 200
    listed = client.get(f"{alice.prefix()}/service/clients", headers=alice.headers).json
    assert [c["client_id"] for c in listed] == ["from-the-app"]
    assert client.get(f"{P}/service/info", headers=alice.headers).json["connected_clients"]


def test_deregister_removes_the_client(client, alice, device_key, P):
    headers = api_key(device_key)
    register_client(client, P, "Bob's room", headers)
    response = client.delete(f"{P}/service/client/deregister/Bob%27s%20room", headers=headers)
    assert response.status_code == 200
    assert isinstance(response.json["message"], str) and response.json["message"]
    assert client.get(f"{P}/service/info", headers=headers).json["connected_clients"] == {}
    again = client.delete(f"{P}/service/client/deregister/Bob%27s%20room", headers=headers)
    assert_error(again, 404)


def test_deregister_unknown_client_is_404(client, alice, device_key, P):
    response = client.delete(
        f"{P}/service/client/deregister/never-seen", headers=api_key(device_key)
    )
    assert_error(response, 404)


def test_clients_are_per_network(client, alice, bob, device_key):
    register_client(client, "/api/v1", "shared-name", api_key(device_key))
    # Bob may use the same client id in his own network, and cannot deregister Alice's.
    assert register_client(client, "/api/v1", "shared-name", bob.headers).status_code == 200
    assert (
        client.delete(
            "/api/v1/service/client/deregister/shared-name", headers=bob.headers
        ).status_code
        == 200
    )
    assert_error(
        client.delete("/api/v1/service/client/deregister/shared-name", headers=bob.headers), 404
    )
    info = client.get("/api/v1/service/info", headers=api_key(device_key)).json
    assert list(info["connected_clients"]) == ["shared-name"]


# Clients (user routes) ------------------------------------------------------------------------


def test_create_client_assigns_ids_when_none_given(client, alice, P):
    first = client.post(f"{P}/service/clients", json={}, headers=alice.headers)
    second = client.post(
        f"{P}/service/clients", json={"metadata": {"room": "hall"}}, headers=alice.headers
    )
    assert first.status_code == second.status_code == 201
    assert first.json["client_id"] == "client1"
    assert second.json["client_id"] == "client2"
    assert second.json["metadata"] == {"room": "hall"}
    assert set(first.json) >= CLIENT_KEYS
    assert set(first.json["stream"]) == {"score", "is_best"}
    assert first.json["stream"]["score"] is None
    assert first.json["stream"]["is_best"] is False


def test_assigned_ids_skip_ids_already_taken(client, alice):
    client.post("/api/v1/service/clients", json={"client_id": "client1"}, headers=alice.headers)
    response = client.post("/api/v1/service/clients", json={}, headers=alice.headers)
    assert response.json["client_id"] == "client2"


def test_create_client_with_a_taken_id_is_409(client, alice, device_key):
    created = client.post(
        "/api/v1/service/clients", json={"client_id": "porch"}, headers=alice.headers
    )
    assert created.status_code == 201
    again = client.post(
        "/api/v1/service/clients", json={"client_id": "porch"}, headers=alice.headers
    )
    assert_error(again, 409)
    register_client(client, "/api/v1", "registered", api_key(device_key))
    taken = client.post(
        "/api/v1/service/clients", json={"client_id": "registered"}, headers=alice.headers
    )
    assert_error(taken, 409)
    listed = client.get(f"{alice.prefix()}/service/clients", headers=alice.headers)
    assert listed.headers["X-Total-Count"] == "2"


@pytest.mark.parametrize("body", [{"client_id": ""}, {"client_id": "x" * 129}, {"metadata": 3}])
def test_create_client_with_invalid_fields_is_422(client, alice, body):
    response = client.post("/api/v1/service/clients", json=body, headers=alice.headers)
    assert_error(response, 422, "VALIDATION_ERROR")


def test_list_clients_pages_and_counts(client, alice, REST):
    P = REST
    for _ in range(3):
        client.post(f"{P}/service/clients", json={}, headers=alice.headers)
    response = client.get(f"{P}/service/clients", headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "3"
    assert sorted(c["client_id"] for c in response.json) == ["client1", "client2", "client3"]
    page = client.get(f"{P}/service/clients?limit=2&offset=1", headers=alice.headers)
    assert page.headers["X-Total-Count"] == "3"
    assert len(page.json) == 2
    assert_error(client.get(f"{P}/service/clients?limit=0", headers=alice.headers), 422)
    assert_error(client.get(f"{P}/service/clients?limit=501", headers=alice.headers), 422)


def test_rename_client(client, alice, device_key, P):
    register_client(client, P, "old name", api_key(device_key), json={"metadata": {"k": 1}})
    response = client.patch(
        f"{P}/service/clients/old%20name", json={"client_id": "Kid's room"}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json["client_id"] == "Kid's room"
    assert response.json["metadata"] == {"k": 1}
    info = client.get(f"{P}/service/info", headers=api_key(device_key)).json
    assert list(info["connected_clients"]) == ["Kid's room"]


def test_rename_to_a_taken_id_is_409(client, alice):
    for name in ("a", "b"):
        client.post("/api/v1/service/clients", json={"client_id": name}, headers=alice.headers)
    response = client.patch(
        "/api/v1/service/clients/a", json={"client_id": "b"}, headers=alice.headers
    )
    assert_error(response, 409)
    listed = client.get(f"{alice.prefix()}/service/clients", headers=alice.headers).json
    assert sorted(c["client_id"] for c in listed) == ["a", "b"]


def test_rename_to_the_same_id_is_a_no_op(client, alice):
    client.post("/api/v1/service/clients", json={"client_id": "same"}, headers=alice.headers)
    response = client.patch(
        "/api/v1/service/clients/same", json={"client_id": "same"}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json["client_id"] == "same"


def test_rename_unknown_client_is_404(client, alice):
    response = client.patch(
        "/api/v1/service/clients/ghost", json={"client_id": "x"}, headers=alice.headers
    )
    assert_error(response, 404)


@pytest.mark.parametrize("body", [{}, {"client_id": ""}, {"client_id": "y" * 129}])
def test_rename_with_an_invalid_id_is_422(client, alice, body):
    client.post("/api/v1/service/clients", json={"client_id": "c"}, headers=alice.headers)
    response = client.patch("/api/v1/service/clients/c", json=body, headers=alice.headers)
    assert "client_id" in assert_error(response, 422)["errors"]


def test_delete_client_is_idempotent(client, alice, device_key, P):
    register_client(client, P, "Gran's tablet", api_key(device_key))
    path = f"{P}/service/clients/Gran%27s%20tablet"
    first = client.delete(path, headers=alice.headers)
    assert first.status_code == 204
    assert first.get_data() == b""
    assert client.get(f"{P}/service/clients", headers=alice.headers).json == []
    assert client.delete(path, headers=alice.headers).status_code == 204
    assert client.delete(f"{P}/service/clients/never-was", headers=alice.headers).status_code == 204


def test_delete_client_does_not_touch_other_networks(client, alice, bob):
    client.post("/api/v1/service/clients", json={"client_id": "mic"}, headers=alice.headers)
    assert client.delete("/api/v1/service/clients/mic", headers=bob.headers).status_code == 204
    listed = client.get(f"{alice.prefix()}/service/clients", headers=alice.headers).json
    assert [c["client_id"] for c in listed] == ["mic"]


def test_device_key_cannot_manage_clients(client, alice, device_key):
    headers = api_key(device_key)
    assert_error(client.get("/api/v1/service/clients", headers=headers), 403)
    assert_error(client.post("/api/v1/service/clients", json={}, headers=headers), 403)
    register_client(client, "/api/v1", "mine", headers)
    assert_error(
        client.patch("/api/v1/service/clients/mine", json={"client_id": "x"}, headers=headers),
        403,
    )
    assert_error(client.delete("/api/v1/service/clients/mine", headers=headers), 403)


# Enable / disable -----------------------------------------------------------------------------


def test_disable_and_enable_flip_the_service(client, alice, device_key, P):
    response = client.patch(f"{P}/service/disable", headers=alice.headers)
    assert response.status_code == 200
    assert response.json["service_enabled"] is False
    assert isinstance(response.json["message"], str) and response.json["message"]
    info = client.get(f"{P}/service/info", headers=api_key(device_key)).json
    assert info["service_enabled"] is False
    network = client.get(f"/api/v1/networks/{alice.network_id}", headers=alice.headers).json
    assert network["service_enabled"] is False

    response = client.patch(f"{P}/service/enable", headers=alice.headers)
    assert response.status_code == 200
    assert response.json["service_enabled"] is True
    assert client.get(f"{P}/service/info", headers=alice.headers).json["service_enabled"] is True


def test_switching_the_service_records_service_status_events(client, alice, device_key, P):
    client.patch(f"{P}/service/disable", headers=alice.headers)
    client.patch(f"{P}/service/enable", headers=alice.headers)
    response = client.get(f"{P}/events", headers=alice.headers)
    assert response.status_code == 200
    statuses = [e for e in response.json["events"] if e["type"] == "service.status"]
    assert [e["data"]["service_enabled"] for e in statuses] == [False, True]
    assert all(TIMESTAMP.match(e["created_at"]) for e in statuses)
    # Devices follow the same feed.
    as_device = client.get(f"{P}/events", headers=api_key(device_key)).json
    assert [e["id"] for e in as_device["events"]] == [e["id"] for e in response.json["events"]]


def test_service_switch_is_per_network(client, alice, bob):
    client.patch("/api/v1/service/disable", headers=alice.headers)
    assert client.get("/api/v1/service/info", headers=bob.headers).json["service_enabled"] is True
    assert client.get("/api/v1/events", headers=bob.headers).json["events"] == []


def test_device_key_cannot_switch_the_service(client, alice, device_key):
    assert_error(client.patch("/api/v1/service/disable", headers=api_key(device_key)), 403)
    assert client.get("/api/v1/service/info", headers=alice.headers).json["service_enabled"]


def test_service_switch_on_a_foreign_network_is_404(client, alice, bob):
    response = client.patch(f"/api/v1/{alice.network_id}/service/disable", headers=bob.headers)
    assert_error(response, 404)
    assert client.get("/api/v1/service/info", headers=alice.headers).json["service_enabled"]


# Device keys ----------------------------------------------------------------------------------


def test_create_device_key_shows_the_key_once(client, alice, P):
    response = client.post(f"{P}/service/keys", json={"name": "hall mic"}, headers=alice.headers)
    assert response.status_code == 201
    body = response.json
    assert {"id", "name", "key", "created_at"} <= set(body)
    uuid.UUID(body["id"])
    assert body["name"] == "hall mic"
    assert body["key"].startswith("mira_dk_")
    assert len(body["key"]) > len("mira_dk_") + 20
    assert TIMESTAMP.match(body["created_at"])

    listed = client.get(f"{P}/service/keys", headers=alice.headers)
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "1"
    assert [k["id"] for k in listed.json] == [body["id"]]
    assert "key" not in listed.json[0]
    assert body["key"] not in listed.get_data(as_text=True)

    got = client.get(f"{P}/service/keys/{body['id']}", headers=alice.headers)
    assert got.status_code == 200
    assert got.json["name"] == "hall mic"
    assert "key" not in got.json
    assert body["key"] not in got.get_data(as_text=True)


def test_each_device_key_is_different(client, alice):
    keys = {new_key(client, alice, alice.network_id)["key"] for _ in range(3)}
    assert len(keys) == 3


def test_new_device_key_works_with_either_header(client, alice):
    key = new_key(client, alice, alice.network_id)["key"]
    for headers in (bearer(key), api_key(key)):
        response = client.get("/api/v1/service/info", headers=headers)
        assert response.status_code == 200
        assert response.json["network_id"] == alice.network_id


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "n" * 129}])
def test_create_device_key_with_a_bad_name_is_422(client, alice, body):
    response = client.post("/api/v1/service/keys", json=body, headers=alice.headers)
    assert "name" in assert_error(response, 422)["errors"]


def test_delete_device_key_revokes_it(client, alice, P):
    created = new_key(client, alice, alice.network_id)
    assert client.get(f"{P}/service/info", headers=api_key(created["key"])).status_code == 200
    response = client.delete(f"{P}/service/keys/{created['id']}", headers=alice.headers)
    assert response.status_code == 204
    assert_error(client.get(f"{P}/service/info", headers=api_key(created["key"])), 401)
    assert_error(client.get(f"{P}/service/keys/{created['id']}", headers=alice.headers), 404)
    assert client.get(f"{P}/service/keys", headers=alice.headers).json == []
    again = client.delete(f"{P}/service/keys/{created['id']}", headers=alice.headers)
    assert again.status_code == 204


def test_unknown_or_malformed_key_id(client, alice):
    assert_error(client.get(f"/api/v1/service/keys/{uuid.uuid4()}", headers=alice.headers), 404)
    response = client.get("/api/v1/service/keys/not-a-uuid", headers=alice.headers)
    assert "key_id" in assert_error(response, 422)["errors"]


def test_member_may_not_create_or_delete_device_keys(client, alice, bob):
    family = new_network(client, alice, "Family")
    client.post(
        f"/api/v1/networks/{family}/members", json={"email": bob.email}, headers=alice.headers
    )
    response = client.post(
        f"/api/v1/{family}/service/keys", json={"name": "sneaky"}, headers=bob.headers
    )
    assert_error(response, 403, "FORBIDDEN")
    existing = new_key(client, alice, family)
    response = client.delete(f"/api/v1/{family}/service/keys/{existing['id']}", headers=bob.headers)
    assert_error(response, 403)
    listed = client.get(f"/api/v1/{family}/service/keys", headers=alice.headers).json
    assert [k["id"] for k in listed] == [existing["id"]]
    assert client.get("/api/v1/service/info", headers=api_key(existing["key"])).status_code == 200


def test_keys_of_another_network_are_not_visible(client, alice, bob):
    alices = new_key(client, alice, alice.network_id)
    response = client.get(f"/api/v1/service/keys/{alices['id']}", headers=bob.headers)
    assert_error(response, 404)
    assert client.get("/api/v1/service/keys", headers=bob.headers).json == []
    assert (
        client.delete(f"/api/v1/service/keys/{alices['id']}", headers=bob.headers).status_code
        == 204
    )
    assert client.get("/api/v1/service/info", headers=api_key(alices["key"])).status_code == 200


def test_device_key_with_another_networks_id_is_404(client, alice, bob, device_key):
    other = new_network(client, alice, "Alice's second")
    for network_id in (other, bob.network_id, str(uuid.uuid4())):
        for version in ("v1", "v2"):
            response = client.get(
                f"/api/{version}/{network_id}/service/info", headers=api_key(device_key)
            )
            assert_error(response, 404)
            response = register_client(
                client, f"/api/{version}/{network_id}", "intruder", bearer(device_key)
            )
            assert_error(response, 404)
    # Nothing was registered anywhere.
    for account, network_id in ((alice, other), (bob, bob.network_id)):
        info = client.get(f"/api/v1/{network_id}/service/info", headers=account.headers).json
        assert info["connected_clients"] == {}


def test_device_key_without_a_network_segment_uses_its_own_network(client, alice, bob):
    other = new_network(client, alice, "Garage")
    key = new_key(client, alice, other)["key"]
    response = client.get("/api/v1/service/info", headers=api_key(key))
    assert response.json["network_id"] == other
    register_client(client, "/api/v2", "garage mic", api_key(key))
    info = client.get(f"/api/v1/{other}/service/info", headers=alice.headers).json
    assert list(info["connected_clients"]) == ["garage mic"]
    default = client.get("/api/v1/service/info", headers=alice.headers).json
    assert default["connected_clients"] == {}


def test_device_key_cannot_manage_device_keys(client, alice, device_key):
    headers = api_key(device_key)
    assert_error(client.get("/api/v1/service/keys", headers=headers), 403)
    assert_error(client.post("/api/v1/service/keys", json={"name": "x"}, headers=headers), 403)
    assert len(client.get("/api/v1/service/keys", headers=alice.headers).json) == 1


def test_device_key_records_when_it_was_last_used(client, alice):
    created = new_key(client, alice, alice.network_id)
    before = client.get(f"/api/v1/service/keys/{created['id']}", headers=alice.headers).json
    assert before["last_used_at"] is None
    client.get("/api/v1/service/info", headers=api_key(created["key"]))
    after = client.get(f"/api/v1/service/keys/{created['id']}", headers=alice.headers).json
    assert TIMESTAMP.match(after["last_used_at"])
