"""The realtime socket ({prefix}/realtime/ws) with a real WebSocket client against the app
served on a real port: what the Mira apps do with it, and what a hostile client gets."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from tests.realtime_client import Socket


def open_socket(live, account=None, token=None, **query) -> Socket:
    return Socket(live, token=token or account.access_token, **query)


def test_a_socket_starts_with_session_ready_then_service_status(live, alice):
    socket = open_socket(live, alice, client_id="desktop-client")
    ready = socket.next()
    assert ready["event"] == "session_ready"
    assert ready["client_id"] == "desktop-client"
    assert isinstance(ready["session_id"], str) and ready["session_id"]
    assert isinstance(ready["session_token"], str) and ready["session_token"]
    assert isinstance(ready["expires_in_seconds"], int) and ready["expires_in_seconds"] > 60
    status = socket.next()
    assert status == {"event": "service_status", "enabled": True}
    socket.send({"type": "ping"})
    assert socket.next() == {"event": "pong"}
    socket.close()


def test_a_socket_without_client_id_gets_one(live, alice):
    socket = open_socket(live, alice)
    ready = socket.wait_for("session_ready")
    assert ready["client_id"].startswith("client-") and len(ready["client_id"]) == 15
    socket.close()


def test_network_path_and_v2_serve_the_same_socket(live, alice):
    for path in (
        f"/api/v1/{alice.network_id}/realtime/ws",
        "/api/v2/realtime/ws",
        f"/api/v2/{alice.network_id}/realtime/ws",
    ):
        socket = Socket(live, path, token=alice.access_token, client_id="desk")
        assert socket.wait_for("session_ready")["network_id"] == alice.network_id
        socket.close()


def test_device_keys_may_hold_a_socket(live, alice, device_key):
    socket = Socket(live, token=device_key, client_id="kitchen")
    assert socket.wait_for("session_ready")["network_id"] == alice.network_id
    socket.close()


def test_enable_and_disable_reach_every_socket_even_without_a_change(client, live, alice):
    sockets = [open_socket(live, alice, client_id=f"app{i}") for i in range(3)]
    for socket in sockets:
        socket.wait_for("service_status", enabled=True)
    for path in ("/api/v1/service/network/enable", "/api/v2/service/network/enable"):
        started = time.monotonic()
        response = client.patch(path, headers=alice.headers)
        assert response.status_code == 200 and response.json["service_enabled"] is True
        for socket in sockets:
            message = socket.wait_for("service_status", timeout=5)
            assert message["enabled"] is True
        assert time.monotonic() - started < 5
    assert client.patch("/api/v1/service/network/disable", headers=alice.headers).status_code == 200
    for socket in sockets:
        assert socket.wait_for("service_status")["enabled"] is False
        socket.close()


def test_events_never_reach_another_networks_socket(client, live, alice, bob):
    alices = open_socket(live, alice, client_id="a")
    bobs = open_socket(live, bob, client_id="b")
    alices.wait_for("service_status")
    bobs.wait_for("service_status")
    client.patch("/api/v1/service/network/disable", headers=alice.headers)
    client.post("/api/v1/interactions", json={"text": "alice only"}, headers=alice.headers)
    alices.wait_for("interaction")
    bobs.send({"type": "ping"})
    bobs.wait_for("pong")
    # Bob's socket got nothing of Alice's: only its own opening messages and the pong.
    assert [m["event"] for m in bobs.seen] == ["session_ready", "service_status", "pong"]
    # Nor can Bob open a socket on Alice's network.
    foreign = Socket(live, f"/api/v1/{alice.network_id}/realtime/ws", token=bob.access_token)
    assert foreign.closed_with()[0] == 4003
    alices.close()
    bobs.close()


def test_a_typed_interaction_arrives_in_the_apps_shape(client, live, alice):
    socket = open_socket(live, alice, client_id="web-client")
    socket.wait_for("service_status")
    created = client.post(
        "/api/v1/interactions", json={"text": "hello there"}, headers=alice.headers
    ).json
    message = socket.wait_for("interaction")
    data = message["data"]
    assert data["id"] == created["id"]
    for key in ("text", "timestamp", "network_id", "person_id", "conversation_id", "sentiment"):
        assert key in data
    assert message["type"] in ("interaction.created", "interaction.updated")
    assert message["id"].isdigit()
    socket.close()


def test_a_reconnecting_socket_gets_what_it_missed(client, live, alice):
    first = open_socket(live, alice, client_id="desk")
    first.wait_for("service_status")
    client.post("/api/v1/interactions", json={"text": "one"}, headers=alice.headers)
    last_seen = first.wait_for("interaction")["id"]
    first.close()
    for text in ("two", "three"):
        client.post("/api/v1/interactions", json={"text": text}, headers=alice.headers)
    again = open_socket(live, alice, client_id="desk", last_event_id=last_seen)
    texts = []
    while len(texts) < 2:
        message = again.wait_for("interaction")
        assert int(message["id"]) > int(last_seen)
        if message["type"] == "interaction.created":
            texts.append(message["data"]["text"])
    assert texts == ["two", "three"]
    again.close()


def test_the_socket_registers_its_client_and_releases_it_on_close(client, live, alice):
    socket = open_socket(live, alice, client_id="client-1234abcd")
    socket.wait_for("service_status")
    assert client.get("/api/v1/service/clients", headers=alice.headers).json == ["client-1234abcd"]
    socket.close()
    # Closed: the name is free for another app at once, and the client goes after the grace.
    deadline = time.monotonic() + 5
    while True:
        taken = client.post(
            "/api/v1/service/clients", json={"client_id": "client-1234abcd"}, headers=alice.headers
        )
        if taken.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert taken.status_code == 201, taken.json


def test_logout_then_sign_in_again_with_the_same_client_id(client, live, alice):
    """The website's logout: its socket closes and its deregister goes without a token (401).
    Signing in again with the same client id must work, not answer 409 forever."""
    body = {"client_id": "web-client", "metadata": {"local_ip": "10.0.0.2"}}
    assert (
        client.post("/api/v1/service/clients", json=body, headers=alice.headers).status_code == 201
    )
    socket = open_socket(live, alice, client_id="web-client")
    socket.wait_for("service_status")
    # A second app may not take the name while the socket holds it.
    assert (
        client.post("/api/v1/service/clients", json=body, headers=alice.headers).status_code == 409
    )
    socket.close()
    assert client.delete("/api/v1/service/clients/web-client").status_code == 401
    login = client.post(
        "/api/v1/auth/login", json={"email": alice.email, "password": alice.password}
    ).json
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    deadline = time.monotonic() + 5
    while (
        again := client.post("/api/v1/service/clients", json=body, headers=headers)
    ).status_code != 201:
        assert time.monotonic() < deadline, again.json
        time.sleep(0.05)
    socket = open_socket(live, token=login["access_token"], client_id="web-client")
    socket.wait_for("service_status")
    socket.close()


@pytest.mark.parametrize(
    ("token", "code"),
    [(None, 4001), ("not-a-token", 4001), ("mira_dk_unknown", 4001)],
)
def test_bad_credentials_close_with_a_code_the_apps_do_not_retry(live, token, code):
    socket = Socket(live, token=token, client_id="x")
    assert socket.closed_with()[0] == code


class LateReader(threading.Thread):
    """A socket reader thread that starts late, as on a busy machine: the server's close goes
    out before the reader runs, and the reader then sees the socket closed and leaves."""

    def run(self):
        time.sleep(0.3)
        super().run()


def test_a_rejected_socket_is_closed_at_once_even_when_its_reader_starts_late(
    live, app, monkeypatch
):
    """The client answers the close frame and waits for the server to end the TCP connection
    (as browsers do); the server must not leave it waiting for a client-side timeout."""
    options = {**app.config["SOCK_SERVER_OPTIONS"], "thread_class": LateReader}
    monkeypatch.setitem(app.config, "SOCK_SERVER_OPTIONS", options)
    for _ in range(3):
        started = time.monotonic()
        assert Socket(live, token="not-a-token").closed_with(timeout=5)[0] == 4001
        assert time.monotonic() - started < 4


def test_an_expired_token_closes_with_a_code_the_apps_retry(live, app, alice):
    import jwt

    claims = jwt.decode(alice.access_token, options={"verify_signature": False})
    expired = jwt.encode(
        {**claims, "exp": int(time.time()) - 10}, app.config["SECRET_KEY"], algorithm="HS256"
    )
    code, reason = Socket(live, token=expired).closed_with()
    assert code == 4401 and "expired" in reason.lower()


def test_a_plain_get_on_the_socket_path_is_an_error_envelope(client, alice):
    response = client.get("/api/v1/realtime/ws", headers=alice.headers)
    assert response.status_code == 400
    assert {"detail", "error_code", "request_id"} <= set(response.json)


@pytest.mark.parametrize(
    ("frame", "code"),
    [("not json", 1007), ("[1, 2]", 1007), (b"\x00\x01binary", 1003), ("x" * 5000, 1009)],
)
def test_malformed_frames_close_with_a_clear_code(live, alice, frame, code):
    socket = open_socket(live, alice, client_id="bad")
    socket.wait_for("service_status")
    socket.send(frame)
    assert socket.closed_with()[0] == code


def test_unknown_frames_get_an_error_event(live, alice):
    socket = open_socket(live, alice, client_id="odd")
    socket.wait_for("service_status")
    socket.send({"type": "subscribe", "channel": "everything"})
    assert "subscribe" in socket.wait_for("error")["detail"]
    socket.close()


def test_a_flood_of_pings_is_cut_off_and_others_are_not_disturbed(client, live, alice):
    calm = open_socket(live, alice, client_id="calm")
    calm.wait_for("service_status")
    flood = open_socket(live, alice, client_id="flood")
    flood.wait_for("service_status")
    for _ in range(200):
        try:
            flood.send({"type": "ping"})
        except Exception:
            break
    assert flood.closed_with()[0] == 1008
    client.patch("/api/v1/service/network/enable", headers=alice.headers)
    calm.wait_for("service_status", timeout=5)
    calm.send({"type": "ping"})
    calm.wait_for("pong")
    calm.close()


def test_a_full_server_turns_new_sockets_away(live, app, alice, monkeypatch):
    monkeypatch.setitem(app.config, "MIRA_REALTIME_MAX_SOCKETS", 1)
    first = open_socket(live, alice, client_id="one")
    first.wait_for("service_status")
    assert open_socket(live, alice, client_id="two").closed_with()[0] == 1013
    first.close()


def test_session_ready_is_sent_again_before_it_expires(live, app, alice, monkeypatch):
    monkeypatch.setitem(app.config, "MIRA_SESSION_TOKEN_S", 2)
    socket = open_socket(live, alice, client_id="desk")
    first = socket.wait_for("session_ready")
    second = socket.wait_for("session_ready", timeout=4)
    assert second["session_token"] != first["session_token"]
    assert second["session_id"] == first["session_id"]
    socket.close()


def test_an_idle_socket_is_never_silent_for_long(live, alice, monkeypatch):
    from mira.realtime import socket as realtime_socket

    monkeypatch.setattr(realtime_socket, "HEARTBEAT_S", 0.5)
    socket = open_socket(live, alice, client_id="idle")
    socket.wait_for("service_status")
    assert socket.wait_for("heartbeat", timeout=3)
    socket.close()


def test_events_from_another_process_arrive_through_the_table(client, live, app, alice):
    """A commit whose publish never reached this process (another host with Redis down) is read
    back from the events table."""
    from mira.events.models import Event
    from mira.extensions import db
    from mira.realtime.hub import hub_for

    socket = open_socket(live, alice, client_id="desk")
    socket.wait_for("service_status")
    hub = hub_for(app)
    # Written behind the hub's back, as another process would.
    db.session.add(
        Event(network_id=uuid.UUID(alice.network_id), type="person.created", data={"id": "p1"})
    )
    db.session.info.pop("mira_outbox_staged", None)
    db.session.commit()
    message = socket.wait_for("person.created", timeout=app.config["MIRA_REALTIME_POLL_S"] + 20)
    assert message["data"] == {"id": "p1"}
    assert hub.count() >= 1
    socket.close()


def test_many_sockets_of_one_network_each_get_an_event_once(client, live, alice):
    sockets = [open_socket(live, alice, client_id=f"s{i}") for i in range(20)]
    for socket in sockets:
        socket.wait_for("service_status")
    client.patch("/api/v1/service/network/enable", headers=alice.headers)
    ids = set()
    for socket in sockets:
        ids.add(socket.wait_for("service_status", timeout=5)["id"])
    assert len(ids) == 1
    # Nothing is sent twice (pub/sub and the read-back overlap).
    time.sleep(0.5)
    for socket in sockets:
        socket.send({"type": "ping"})
        socket.wait_for("pong")
        repeated = [m for m in socket.seen if m.get("id") in ids]
        assert len(repeated) == 1
        socket.close()


def test_sockets_open_and_close_concurrently_without_errors(live, alice):
    errors = []

    def one(i):
        try:
            socket = open_socket(live, alice, client_id=f"c{i % 3}")
            socket.wait_for("service_status")
            socket.close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []


def test_root_leaves_version_out_so_the_desktop_apps_start(client):
    root = client.get("/").json
    assert "version" not in root
    assert root["mira_version"]
    health = client.get("/health").json
    assert health["version"] == root["mira_version"]


def test_frames_are_json_objects_with_an_event_field(live, alice):
    socket = open_socket(live, alice, client_id="desk")
    for message in (socket.next(), socket.next()):
        assert isinstance(message, dict) and isinstance(message["event"], str)
    socket.send(json.dumps({"type": "ping"}))
    assert socket.next()["event"] == "pong"
    socket.close()


def test_a_stopping_process_closes_its_sockets_with_a_code_the_apps_reconnect_on(live, app, alice):
    from mira.realtime.hub import hub_for

    socket = open_socket(live, alice, client_id="desk")
    socket.wait_for("service_status")
    hub_for(app).close_all()
    assert socket.closed_with()[0] == 1012


def test_an_app_hears_of_its_own_change_after_its_request_answered(app, live, alice):
    """The apps start waiting for `service_status` once their PATCH answered: the event goes
    out after the response, never before it."""
    socket = open_socket(live, alice, client_id="desk")
    socket.wait_for("service_status")
    raw = app.test_client()  # a response left open: not yet fully sent
    response = raw.patch("/api/v1/service/network/enable", headers=alice.headers, buffered=False)
    assert response.status_code == 200
    socket.send({"type": "ping"})
    socket.wait_for("pong")
    assert not [m for m in socket.seen if m.get("type") == "service.status"]
    response.close()
    assert socket.wait_for("service_status")["type"] == "service.status"
    socket.close()


def test_a_new_socket_gets_no_replay_of_what_happened_before_it(
    client, live, app, alice, monkeypatch
):
    monkeypatch.setitem(app.config, "MIRA_REALTIME_POLL_S", 0.2)
    for text in ("before one", "before two"):
        client.post("/api/v1/interactions", json={"text": text}, headers=alice.headers)
    client.patch("/api/v1/service/network/disable", headers=alice.headers)
    socket = open_socket(live, alice, client_id="late-comer")
    assert socket.wait_for("service_status") == {"event": "service_status", "enabled": False}
    time.sleep(1.5)  # several read-backs of the table
    socket.send({"type": "ping"})
    socket.wait_for("pong")
    assert [m["event"] for m in socket.seen] == ["session_ready", "service_status", "pong"]
    socket.close()


def test_renaming_then_dropping_the_socket_frees_the_new_name(client, live, alice):
    """The website renames its client, then closes its socket and never deregisters: after a
    sign-out and sign-in its stored (new) name must not answer 409."""
    body = {"client_id": "web-client", "metadata": {}}
    assert (
        client.post("/api/v1/service/clients", json=body, headers=alice.headers).status_code == 201
    )
    socket = open_socket(live, alice, client_id="web-client")
    socket.wait_for("service_status")
    renamed = client.patch(
        "/api/v1/service/clients/web-client/rename",
        json={"new_client_id": "trial-browser"},
        headers=alice.headers,
    )
    assert renamed.status_code == 200
    socket.close()
    body = {"client_id": "trial-browser", "metadata": {}}
    deadline = time.monotonic() + 5
    while (
        again := client.post("/api/v1/service/clients", json=body, headers=alice.headers)
    ).status_code != 201:
        assert again.status_code == 409 and time.monotonic() < deadline, again.json
        time.sleep(0.05)


def test_the_read_back_starts_where_the_first_socket_started(app, alice):
    """An event committed after a socket connected but before the hub's thread first looked
    (a loaded machine) is still read back: the floor is the socket's start, not the thread's."""
    from mira.events.models import Event
    from mira.extensions import db
    from mira.realtime.hub import Connection, ReadBack, hub_for

    network_id = uuid.UUID(alice.network_id)
    newest = db.session.scalar(db.select(db.func.max(Event.id))) or 0
    hub = hub_for(app)
    conn = Connection(threading.Event(), network_id, after_id=newest)
    with hub._lock:
        hub._by_network.setdefault(network_id, set()).add(conn)
    from datetime import timedelta

    from mira.realtime.hub import READ_BACK_MIN_AGE_S
    from mira.types import utcnow

    committed = utcnow() - timedelta(seconds=READ_BACK_MIN_AGE_S + 1)
    db.session.add(
        Event(
            network_id=network_id, type="person.created", data={"id": "late"}, created_at=committed
        )
    )
    # A fresh one is left to pub/sub (it may come from a request whose response is not out yet).
    db.session.add(Event(network_id=network_id, type="person.created", data={"id": "fresh"}))
    db.session.info.pop("mira_outbox_staged", None)
    db.session.commit()
    delivered = []
    hub.deliver = delivered.append
    ReadBack(hub, newest).run()
    assert [event["data"] for event in delivered] == [{"id": "late"}]
