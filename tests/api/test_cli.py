"""`flask mira …` admin commands: each prints JSON lines a script can parse."""

from __future__ import annotations

import json
import uuid


def json_lines(result) -> list[dict]:
    assert result.exit_code == 0, (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def one_json(result) -> dict:
    lines = json_lines(result)
    assert len(lines) == 1, lines
    return lines[0]


def create_user(runner, email: str, password: str = "a long password"):
    return runner.invoke(args=["mira", "create-user", email, "--password", password])


def test_create_user_prints_the_user_and_they_can_log_in(runner, client):
    created = one_json(create_user(runner, "admin@example.com"))
    uuid.UUID(created["id"])
    assert created["email"] == "admin@example.com"
    uuid.UUID(created["default_network_id"])

    login = client.post(
        "/api/v1/auth/login", json={"email": "admin@example.com", "password": "a long password"}
    )
    assert login.status_code == 200
    assert login.json["user"]["id"] == created["id"]
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json['access_token']}"}
    ).json
    assert me["default_network_id"] == created["default_network_id"]
    assert [(n["id"], n["role"]) for n in me["networks"]] == [
        (created["default_network_id"], "owner")
    ]


def test_create_user_normalises_the_email(runner):
    created = one_json(create_user(runner, "  Admin@Example.COM "))
    assert created["email"] == "admin@example.com"


def test_create_user_with_a_taken_email_fails(runner, alice):
    result = create_user(runner, alice.email)
    assert result.exit_code != 0
    assert "already" in result.output.lower()


def test_create_user_with_a_short_password_fails(runner, client):
    result = create_user(runner, "shorty@example.com", "short")
    assert result.exit_code != 0
    login = client.post(
        "/api/v1/auth/login", json={"email": "shorty@example.com", "password": "short"}
    )
    assert login.status_code == 401


def test_create_user_prompts_for_the_password(runner, client):
    result = runner.invoke(
        args=["mira", "create-user", "prompted@example.com"],
        input="typed password\ntyped password\n",
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output.strip().splitlines()[-1])
    assert created["email"] == "prompted@example.com"
    login = client.post(
        "/api/v1/auth/login", json={"email": "prompted@example.com", "password": "typed password"}
    )
    assert login.status_code == 200


def test_create_network_with_an_owner(runner, client, alice):
    created = one_json(
        runner.invoke(args=["mira", "create-network", "Office", "--owner", alice.email])
    )
    uuid.UUID(created["id"])
    assert created["name"] == "Office"
    assert created["owner"] == alice.email
    network = client.get(f"/api/v1/networks/{created['id']}", headers=alice.headers)
    assert network.status_code == 200
    assert network.json["role"] == "owner"
    assert network.json["name"] == "Office"


def test_create_network_without_an_owner(runner):
    created = one_json(runner.invoke(args=["mira", "create-network", "Orphanage"]))
    assert created["owner"] is None
    listed = json_lines(runner.invoke(args=["mira", "list-networks"]))
    orphan = next(n for n in listed if n["id"] == created["id"])
    assert orphan["owners"] == []
    assert orphan["members"] == 0


def test_create_network_with_an_unknown_owner_fails(runner):
    result = runner.invoke(
        args=["mira", "create-network", "Nobody's", "--owner", "ghost@example.com"]
    )
    assert result.exit_code != 0
    assert "ghost@example.com" in result.output
    assert json_lines(runner.invoke(args=["mira", "list-networks"])) == []


def test_add_member_gives_access(runner, client, alice, bob):
    added = one_json(runner.invoke(args=["mira", "add-member", alice.network_id, bob.email]))
    assert added == {
        "network_id": alice.network_id,
        "user_id": bob.user_id,
        "email": bob.email,
        "role": "member",
    }
    network = client.get(f"/api/v1/networks/{alice.network_id}", headers=bob.headers)
    assert network.status_code == 200
    assert network.json["role"] == "member"


def test_add_member_as_owner_and_again_changes_the_role(runner, client, alice, bob):
    one_json(runner.invoke(args=["mira", "add-member", alice.network_id, bob.email]))
    promoted = one_json(
        runner.invoke(args=["mira", "add-member", alice.network_id, bob.email, "--role", "owner"])
    )
    assert promoted["role"] == "owner"
    network = client.get(f"/api/v1/networks/{alice.network_id}", headers=bob.headers).json
    assert network["role"] == "owner"
    members = client.get(f"/api/v1/networks/{alice.network_id}/members", headers=alice.headers).json
    assert len(members) == 2


def test_add_member_with_an_unknown_email_fails(runner, client, alice):
    result = runner.invoke(args=["mira", "add-member", alice.network_id, "ghost@example.com"])
    assert result.exit_code != 0
    members = client.get(f"/api/v1/networks/{alice.network_id}/members", headers=alice.headers).json
    assert [m["email"] for m in members] == [alice.email]


def test_add_member_with_a_bad_network_id_fails(runner, alice):
    result = runner.invoke(args=["mira", "add-member", "not-a-uuid", alice.email])
    assert result.exit_code != 0
    assert "not-a-uuid" in result.output


def test_add_member_to_an_unknown_network_fails(runner, alice):
    result = runner.invoke(args=["mira", "add-member", str(uuid.uuid4()), alice.email])
    assert result.exit_code != 0


def test_add_member_with_an_invalid_role_fails(runner, alice, bob):
    result = runner.invoke(
        args=["mira", "add-member", alice.network_id, bob.email, "--role", "admin"]
    )
    assert result.exit_code != 0


def test_created_device_key_works_against_the_api(runner, client, alice):
    created = one_json(
        runner.invoke(args=["mira", "create-device-key", alice.network_id, "--name", "porch"])
    )
    assert created["key"].startswith("mira_dk_")
    assert created["name"] == "porch"
    assert created["network_id"] == alice.network_id
    uuid.UUID(created["id"])
    for prefix in (f"/api/v1/{alice.network_id}", "/api/v1"):
        response = client.get(f"{prefix}/service/info", headers={"X-API-Key": created["key"]})
        assert response.status_code == 200
        assert response.json["network_id"] == alice.network_id
    keys = client.get("/api/v1/service/keys", headers=alice.headers).json
    assert [(k["id"], k["name"]) for k in keys] == [(created["id"], "porch")]


def test_create_device_key_has_a_default_name(runner, alice):
    created = one_json(runner.invoke(args=["mira", "create-device-key", alice.network_id]))
    assert created["name"]


def test_create_device_key_with_a_bad_network_id_fails(runner):
    result = runner.invoke(args=["mira", "create-device-key", "12345"])
    assert result.exit_code != 0
    assert "12345" in result.output


def test_create_device_key_for_an_unknown_network_fails(runner):
    missing = str(uuid.uuid4())
    result = runner.invoke(args=["mira", "create-device-key", missing])
    assert result.exit_code != 0
    assert missing in result.output
    assert "mira_dk_" not in result.output


def test_list_networks_prints_one_json_object_per_network(runner, alice, bob):
    shared = one_json(
        runner.invoke(args=["mira", "create-network", "Shared", "--owner", bob.email])
    )
    one_json(runner.invoke(args=["mira", "add-member", shared["id"], alice.email]))
    listed = json_lines(runner.invoke(args=["mira", "list-networks"]))
    by_id = {n["id"]: n for n in listed}
    assert set(by_id) == {alice.network_id, bob.network_id, shared["id"]}
    assert by_id[shared["id"]]["owners"] == [bob.email]
    assert by_id[shared["id"]]["members"] == 2
    assert by_id[shared["id"]]["name"] == "Shared"
    assert by_id[shared["id"]]["service_enabled"] is True
    assert by_id[alice.network_id]["owners"] == [alice.email]
    assert by_id[alice.network_id]["members"] == 1


def test_list_networks_with_none_prints_nothing(runner):
    result = runner.invoke(args=["mira", "list-networks"])
    assert result.exit_code == 0
    assert result.output.strip() == ""
