"""The Mira apps' listening sessions against real processes: gunicorn (two workers, and a second
gunicorn standing for another host), `flask mira worker`, PostgreSQL, Redis, and real WebSocket
clients. The embedded default (SQLite, no Redis) does the same in one process."""

from __future__ import annotations

import io
import json
import time

import pytest
import requests

from tests.audio_data import flite_speech, wav_bytes
from tests.e2e.conftest import embedded_stack
from tests.realtime_client import Socket

pytestmark = pytest.mark.e2e

PASSWORD = "listening session!"


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://")


def sign_up(base_url: str, email: str) -> dict:
    response = requests.post(
        f"{base_url}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def upload(base_url, headers, client_id, audio: bytes, **form) -> requests.Response:
    return requests.post(
        f"{base_url}/api/v1/interactions/register",
        headers=headers,
        files={"audio": ("audio.wav", io.BytesIO(audio), "audio/wav")},
        data={"client_id": client_id, **form},
        timeout=30,
    )


def turn_listening_on(base_url, headers, socket: Socket, prefix: str = "/api/v1") -> None:
    """What the apps do: PATCH enable, then wait at most 5 s for `service_status` on the socket."""
    started = time.monotonic()
    enable = requests.patch(
        f"{base_url}{prefix}/service/network/enable", headers=headers, timeout=10
    )
    assert enable.status_code == 200, enable.text
    assert socket.wait_for("service_status", timeout=5)["enabled"] is True
    assert time.monotonic() - started < 5


def set_reminder_a_minute_ahead(base_url, headers) -> None:
    typed = requests.post(
        f"{base_url}/api/v1/interactions",
        json={"text": "Remind me to stretch in one minute", "interaction_type": "text"},
        headers=headers,
        timeout=10,
    )
    assert typed.status_code == 201, typed.text


def spoken_by_flite(message: dict) -> bool:
    """An interaction that came from an upload (not the typed reminder)."""
    return message["data"].get("interaction_type") != "text"


def _stretch(message: dict) -> bool:
    return json.loads(message["data"]["details"]).get("canonical_text") == "stretch"


def wait_for_the_reminder(socket: Socket) -> dict:
    """The reminder's `action` events: created (pending), then due once, within 90 s."""
    created = due = None
    deadline = time.monotonic() + 100
    while due is None:
        assert time.monotonic() < deadline, socket.seen
        message = socket.wait_for("action", timeout=deadline - time.monotonic())
        if not _stretch(message):
            continue
        if message["data"]["status"] == "pending":
            created = message
        elif message["data"]["status"] == "due":
            due = message
    assert created is not None and due["data"]["id"] == created["data"]["id"]
    # Exactly once: nothing more about it for a few seconds (several processes keep time).
    end = time.monotonic() + 5
    while time.monotonic() < end:
        socket.next(timeout=0.5)
    dues = [
        m
        for m in socket.seen
        if m.get("event") == "action" and _stretch(m) and m["data"]["status"] == "due"
    ]
    assert len(dues) == 1, dues
    return due


def test_desktop_app_session_across_workers_and_hosts(stack):
    """desktop-app / website: version gate, sign-up, REST client, socket on another host, enable,
    a spoken utterance, a reminder a minute ahead, logout and sign-in with the same client."""
    host_a = stack.start_web()  # two gunicorn workers
    host_b = stack.start_web("web-b", GUNICORN_WORKERS="1")  # another host
    stack.start_worker()

    root = requests.get(f"{host_a}/", timeout=10).json()
    assert "version" not in root  # the desktop apps' major-version gate lets them start

    tokens = sign_up(host_a, "desk@example.com")
    headers = bearer(tokens)
    registered = requests.post(
        f"{host_a}/api/v1/service/clients",
        json={"client_id": "desktop-client", "metadata": {"local_ip": "127.0.0.1"}},
        headers=headers,
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    socket = Socket(ws_url(host_b), token=tokens["access_token"], client_id="desktop-client")
    socket.wait_for("session_ready")
    socket.wait_for("service_status")

    set_reminder_a_minute_ahead(host_a, headers)

    turn_listening_on(host_a, headers, socket)

    spoken = wav_bytes(flite_speech("The weather was lovely at the beach today."))
    response = upload(host_a, headers, "desktop-client", spoken)
    assert response.status_code == 204, response.text
    interaction = socket.wait_for("interaction", 60, where=spoken_by_flite)["data"]
    assert "beach" in interaction["text"].lower()
    listed = requests.get(
        f"{host_a}/api/v1/interactions?limit=50&offset=0", headers=headers, timeout=10
    ).json()
    assert interaction["id"] in [i["id"] for i in listed]

    due = wait_for_the_reminder(socket)
    action = requests.get(
        f"{host_b}/api/v1/actions/{due['data']['id']}", headers=headers, timeout=10
    ).json()
    assert action["status"] == "due" and action["late"] is False

    # Logout: the socket closes, the deregister goes without a token.
    socket.close()
    gone = requests.delete(f"{host_a}/api/v1/service/clients/desktop-client", timeout=10)
    assert gone.status_code == 401
    login = requests.post(
        f"{host_b}/api/v1/auth/login",
        json={"email": "desk@example.com", "password": PASSWORD},
        timeout=10,
    ).json()
    deadline = time.monotonic() + 10
    while True:
        again = requests.post(
            f"{host_b}/api/v1/service/clients",
            json={"client_id": "desktop-client", "metadata": {}},
            headers=bearer(login),
            timeout=10,
        )
        if again.status_code == 201:
            break
        assert again.status_code == 409 and time.monotonic() < deadline, again.text
        time.sleep(0.2)
    socket = Socket(ws_url(host_a), token=login["access_token"], client_id="desktop-client")
    assert socket.wait_for("service_status")["enabled"] is True
    socket.close()


def test_dadei_session_registers_by_socket_and_uploads_with_its_session(stack):
    host = stack.start_web()
    stack.start_worker()
    tokens = sign_up(host, "dadei@example.com")
    headers = bearer(tokens)
    me = requests.get(f"{host}/api/v1/auth/me", headers=headers, timeout=10).json()
    assert me["has_password"] is True
    socket = Socket(ws_url(host), token=tokens["access_token"], client_id="client-0a1b2c3d")
    ready = socket.wait_for("session_ready")
    socket.wait_for("service_status")
    socket.send({"type": "ping"})
    socket.wait_for("pong")
    for path in (
        "/api/v1/conversations?limit=10&offset=0",
        "/api/v1/interactions?limit=500&offset=0&orphans_only=true",
        "/api/v1/persons",
        "/api/v1/actions?limit=100&offset=0",
    ):
        assert requests.get(f"{host}{path}", headers=headers, timeout=10).status_code == 200, path
    turn_listening_on(host, headers, socket)
    now_ms = int(time.time() * 1000)
    spoken = wav_bytes(flite_speech("We had a lovely walk by the river this morning."))
    response = upload(
        host,
        headers,
        ready["client_id"],
        spoken,
        session_token=ready["session_token"],
        chunk_start_ms=str(now_ms - 2500),
        chunk_end_ms=str(now_ms),
    )
    assert response.status_code == 204, response.text
    interaction = socket.wait_for("interaction", 60, where=spoken_by_flite)["data"]
    assert "river" in interaction["text"].lower()
    conversation = socket.wait_for("conversation", timeout=30)["data"]
    assert conversation["id"] == interaction["conversation_id"]
    bootstrap = requests.get(
        f"{host}/api/v1/interactions",
        params={"limit": 500, "offset": 0, "conversation_ids": [conversation["id"]]},
        headers=headers,
        timeout=10,
    ).json()
    assert [i["id"] for i in bootstrap] == [interaction["id"]]

    # A spoken command (the app heard its own name first) answered as Server-Sent Events.
    command = wav_bytes(flite_speech("Remind me to call mom at five."))
    started = time.monotonic()
    first_at, events = None, []
    with requests.post(
        f"{host}/api/v1/actions/voice",
        headers=headers,
        files={"audio": ("audio.wav", io.BytesIO(command), "audio/wav")},
        data={"client_id": ready["client_id"], "session_token": ready["session_token"]},
        stream=True,
        timeout=60,
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                first_at = first_at or time.monotonic() - started
                events.append(json.loads(line[5:]))
    types = [e["type"] for e in events]
    assert types[0] == "transcript" and types[-1] == "done" and "error" not in types, events
    assert {"tool": "create_reminder", "ok": True}.items() <= next(
        e for e in events if e["type"] == "tool_result"
    ).items()
    assert first_at <= 2.0, first_at
    assert socket.wait_for("action", 10)["data"]["action_type"] == "remind"
    socket.close()


def test_embedded_default_runs_the_session_without_redis(tmp_path):
    """What `make run` starts: one gunicorn worker, jobs on threads, SQLite, no Redis."""
    stack = embedded_stack(tmp_path)
    try:
        stack.flask("db", "upgrade")
        host = stack.start_web()
        tokens = sign_up(host, "home@example.com")
        headers = bearer(tokens)
        socket = Socket(ws_url(host), token=tokens["access_token"], client_id="web-client")
        socket.wait_for("session_ready")
        socket.wait_for("service_status")
        set_reminder_a_minute_ahead(host, headers)
        turn_listening_on(host, headers, socket, prefix="/api/v2")
        spoken = wav_bytes(flite_speech("The garden looks lovely after the rain."))
        assert upload(host, headers, "web-client", spoken).status_code == 204
        heard = socket.wait_for("interaction", 60, where=spoken_by_flite)["data"]["text"]
        assert "garden" in heard.lower()
        wait_for_the_reminder(socket)
        socket.close()
    finally:
        stack.stop_all()
