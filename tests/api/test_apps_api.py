"""The Mira apps' API: the network-less paths answer as the apps expect (204 uploads, id arrays,
rename, `details` as a string), the network paths keep API.md; clients expire."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from mira.clients.models import Client
from mira.extensions import db
from mira.types import utcnow
from tests.audio_data import speech, wav_bytes
from tests.openapi import full_paths
from tests.realtime_client import Socket

APPS = ["/api/v1", "/api/v2"]


def upload(client, path, headers, client_id, **form):
    return client.post(
        f"{path}/interactions/register",
        headers=headers,
        data={
            "audio": (__import__("io").BytesIO(wav_bytes(speech(0))), "audio.wav"),
            "client_id": client_id,
            **form,
        },
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("prefix", APPS)
def test_an_upload_on_the_apps_api_answers_204(client, alice, prefix):
    client.post(
        f"{prefix}/service/clients", json={"client_id": "desktop-client"}, headers=alice.headers
    )
    response = upload(client, prefix, alice.headers, "desktop-client")
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.get_data() == b""
    jobs = client.get(f"{alice.prefix()}/jobs", headers=alice.headers).json
    assert [j["status"] for j in jobs] == ["succeeded"]


def test_the_network_path_keeps_202_with_the_job(client, alice):
    client.post(
        f"{alice.prefix()}/service/clients", json={"client_id": "mic"}, headers=alice.headers
    )
    response = upload(client, alice.prefix(), alice.headers, "mic")
    assert response.status_code == 202
    assert response.json["status"] in ("queued", "succeeded")
    assert response.json["job_id"]


def test_dadei_uploads_with_the_client_and_session_its_socket_announced(client, live, alice):
    socket = Socket(live, token=alice.access_token, client_id="client-5e5e5e5e")
    ready = socket.wait_for("session_ready")
    socket.wait_for("service_status")
    now_ms = int(utcnow().timestamp() * 1000)
    response = upload(
        client,
        "/api/v1",
        alice.headers,
        ready["client_id"],
        session_token=ready["session_token"],
        chunk_start_ms=str(now_ms - 3000),
        chunk_end_ms=str(now_ms),
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    interaction = socket.wait_for("interaction", timeout=30)["data"]
    assert interaction["network_id"] == alice.network_id
    assert interaction["text"]
    socket.close()


def test_a_session_token_of_another_client_or_network_is_refused(client, live, alice, bob):
    mine = Socket(live, token=alice.access_token, client_id="mine")
    token = mine.wait_for("session_ready")["session_token"]
    client.post("/api/v1/service/clients", json={"client_id": "other"}, headers=alice.headers)
    wrong_client = upload(client, "/api/v1", alice.headers, "other", session_token=token)
    assert wrong_client.status_code == 403
    assert wrong_client.json["error_code"] == "INVALID_SESSION_TOKEN"
    client.post("/api/v1/service/clients", json={"client_id": "mine"}, headers=bob.headers)
    wrong_network = upload(client, "/api/v1", bob.headers, "mine", session_token=token)
    assert wrong_network.status_code == 403
    garbage = upload(client, "/api/v1", alice.headers, "mine", session_token="x.y.z")
    assert garbage.status_code == 403
    mine.close()


def test_a_valid_session_token_restores_an_expired_client(client, live, alice):
    socket = Socket(live, token=alice.access_token, client_id="gone-soon")
    token = socket.wait_for("session_ready")["session_token"]
    socket.close()
    client.delete("/api/v1/service/clients/gone-soon", headers=alice.headers)
    response = upload(client, "/api/v1", alice.headers, "gone-soon", session_token=token)
    assert response.status_code == 204


def test_an_unknown_client_without_a_session_is_404(client, alice):
    response = upload(client, "/api/v1", alice.headers, "never-registered")
    assert response.status_code == 404
    assert response.json["error_code"] == "CLIENT_NOT_REGISTERED"


@pytest.mark.parametrize("prefix", APPS)
def test_the_client_list_is_an_array_of_ids_on_the_apps_api(client, alice, prefix):
    for name in ("web-client", "Ankur's MacBook Air"):
        client.post(f"{prefix}/service/clients", json={"client_id": name}, headers=alice.headers)
    listed = client.get(f"{prefix}/service/clients", headers=alice.headers)
    assert listed.status_code == 200
    assert listed.json == ["Ankur's MacBook Air", "web-client"]
    rest = client.get(f"{alice.prefix()}/service/clients", headers=alice.headers).json
    assert sorted(c["client_id"] for c in rest) == ["Ankur's MacBook Air", "web-client"]


@pytest.mark.parametrize("prefix", APPS)
def test_rename_the_apps_way_then_delete_the_old_id(client, alice, prefix):
    client.post(
        f"{prefix}/service/clients", json={"client_id": "desktop-client"}, headers=alice.headers
    )
    renamed = client.patch(
        f"{prefix}/service/clients/desktop-client/rename",
        json={"new_client_id": "study"},
        headers=alice.headers,
    )
    assert renamed.status_code == 200 and renamed.json["client_id"] == "study"
    # The apps then delete the old id, which no longer exists: never a 5xx.
    assert (
        client.delete(f"{prefix}/service/clients/desktop-client", headers=alice.headers).status_code
        == 204
    )
    assert client.get(f"{prefix}/service/clients", headers=alice.headers).json == ["study"]
    # It keeps uploading under the new id.
    assert upload(client, prefix, alice.headers, "study").status_code == 204


def test_rename_to_a_live_name_is_409_and_bad_bodies_are_422(client, alice):
    for name in ("a", "b"):
        client.post("/api/v1/service/clients", json={"client_id": name}, headers=alice.headers)
    taken = client.patch(
        "/api/v1/service/clients/a/rename", json={"new_client_id": "b"}, headers=alice.headers
    )
    assert taken.status_code == 409
    for body in ({}, {"new_client_id": ""}, {"new_client_id": "x" * 129}, {"client_id": "c"}):
        bad = client.patch("/api/v1/service/clients/a/rename", json=body, headers=alice.headers)
        assert bad.status_code == 422, body
    missing = client.patch(
        "/api/v1/service/clients/ghost/rename", json={"new_client_id": "c"}, headers=alice.headers
    )
    assert missing.status_code == 404


def _action(network_id, **fields):
    from mira.actions.models import Action

    action = Action(
        network_id=uuid.UUID(network_id),
        action_type=fields.pop("action_type", "remind"),
        status=fields.pop("status", "pending"),
        details=fields.pop("details", {"time": "17:00", "description": "call mom"}),
        **fields,
    )
    db.session.add(action)
    db.session.commit()
    return str(action.id)


@pytest.mark.parametrize("prefix", APPS)
def test_action_details_are_a_string_on_the_apps_api(client, alice, prefix):
    action_id = _action(alice.network_id)
    listed = client.get(f"{prefix}/actions?limit=100&offset=0", headers=alice.headers)
    assert listed.headers["X-Total-Count"] == "1"
    [item] = listed.json
    assert isinstance(item["details"], str)
    details = json.loads(item["details"])
    assert details["canonical_text"] == "call mom"
    assert details["time"] == "17:00"
    one = client.get(f"{prefix}/actions/{action_id}", headers=alice.headers).json
    assert json.loads(one["details"])["canonical_text"] == "call mom"
    patched = client.patch(
        f"{prefix}/actions/{action_id}", json={"status": "confirmed"}, headers=alice.headers
    ).json
    assert patched["status"] == "confirmed" and isinstance(patched["details"], str)
    rest = client.get(f"{alice.prefix()}/actions/{action_id}", headers=alice.headers).json
    assert rest["details"] == {"time": "17:00", "description": "call mom"}


def test_action_events_on_the_socket_carry_details_as_a_string(client, live, alice):
    socket = Socket(live, token=alice.access_token, client_id="desk")
    socket.wait_for("service_status")
    action_id = _action(
        alice.network_id,
        action_type="contact",
        details={"name": "Sam", "method": "message", "details": "running late"},
    )
    client.patch(
        f"/api/v1/actions/{action_id}", json={"status": "confirmed"}, headers=alice.headers
    )
    message = socket.wait_for("action")
    assert message["data"]["id"] == action_id
    assert message["data"]["status"] == "confirmed"
    assert json.loads(message["data"]["details"])["canonical_text"] == "message Sam: running late"
    socket.close()


def test_the_apps_routes_are_in_the_openapi_document(client):
    paths = full_paths(client.get("/openapi.json").json)
    for path in (
        "/api/v1/service/network/enable",
        "/api/v1/service/network/disable",
        "/api/v1/service/clients/{client_id}/rename",
        "/api/v1/{network_id}/service/network/enable",
    ):
        assert path in paths, path
    register = paths["/api/v1/interactions/register"]["post"]["responses"]
    assert {"202", "204"} <= set(register)


# Clients expire ----------------------------------------------------------------------------


def _client_row(network_id, client_id):
    return db.session.scalar(
        db.select(Client).where(
            Client.network_id == uuid.UUID(network_id), Client.client_id == client_id
        )
    )


def _age(network_id, client_id, **columns):
    row = _client_row(network_id, client_id)
    for column, seconds in columns.items():
        setattr(row, column, utcnow() - timedelta(seconds=seconds))
    db.session.commit()


def test_released_socket_clients_go_after_the_grace_period(client, live, app, alice):
    from mira.clients.services import expire_clients

    for name in ("recent", "old"):
        socket = Socket(live, token=alice.access_token, client_id=name)
        socket.wait_for("service_status")
        socket.close()
    grace = app.config["MIRA_CLIENT_GRACE_S"]
    deadline = utcnow() + timedelta(seconds=5)
    while _client_row(alice.network_id, "old").released_at is None:
        assert utcnow() < deadline
        db.session.rollback()
    _age(alice.network_id, "old", released_at=grace + 1)
    assert expire_clients() == 1
    assert client.get("/api/v1/service/clients", headers=alice.headers).json == ["recent"]


def test_a_socket_client_whose_server_died_is_released_after_the_lease(client, app, alice):
    from mira.clients.services import attach_socket, expire_clients

    attach_socket(uuid.UUID(alice.network_id), "orphan", None)
    body = {"client_id": "orphan"}
    assert (
        client.post("/api/v1/service/clients", json=body, headers=alice.headers).status_code == 409
    )
    _age(alice.network_id, "orphan", socket_seen_at=app.config["MIRA_SOCKET_LEASE_S"] + 1)
    assert expire_clients() == 0  # released by the lease, still within the grace period
    assert (
        client.post("/api/v1/service/clients", json=body, headers=alice.headers).status_code == 201
    )


def test_rest_clients_expire_after_the_ttl(client, app, alice, device_key):
    from mira.clients.services import expire_clients

    for name in ("fresh", "stale"):
        client.post(f"/api/v1/service/client/register/{name}", headers={"X-API-Key": device_key})
    _age(alice.network_id, "stale", last_seen=app.config["MIRA_CLIENT_TTL_S"] + 1)
    assert expire_clients() == 1
    assert client.get("/api/v1/service/clients", headers=alice.headers).json == ["fresh"]


def test_uploading_keeps_a_client_whose_socket_closed(client, live, app, alice):
    """An app that dropped its socket but keeps uploading is alive: its client is held by the
    uploads from then on, not deleted with the socket."""
    from mira.clients.services import expire_clients

    socket = Socket(live, token=alice.access_token, client_id="renamed-app")
    socket.wait_for("service_status")
    socket.close()
    deadline = utcnow() + timedelta(seconds=5)
    while _client_row(alice.network_id, "renamed-app").released_at is None:
        assert utcnow() < deadline
        db.session.rollback()
    assert upload(client, "/api/v1", alice.headers, "renamed-app").status_code == 204
    db.session.rollback()
    row = _client_row(alice.network_id, "renamed-app")
    assert row.released_at is None and row.socket_seen_at is None
    _age(alice.network_id, "renamed-app", last_seen=app.config["MIRA_CLIENT_GRACE_S"] + 60)
    assert expire_clients() == 0
