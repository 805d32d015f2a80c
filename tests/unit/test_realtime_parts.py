"""Realtime parts without a server: socket messages, a connection's queue, session tokens."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from mira.auth.tokens import ExpiredToken, InvalidToken
from mira.realtime import hub, messages, sessions

SECRET = "a test secret that is long enough for HS256"
OTHER_SECRET = "another test secret, also long enough for HS256"


def event(type_: str, data: dict, event_id: int = 7) -> dict:
    return {
        "id": event_id,
        "network_id": str(uuid.uuid4()),
        "type": type_,
        "data": data,
        "created_at": "2026-12-02T10:00:00Z",
    }


@pytest.mark.parametrize(
    ("type_", "name"),
    [
        ("interaction.created", "interaction"),
        ("interaction.updated", "interaction"),
        ("conversation.updated", "conversation"),
        ("action.created", "action"),
        ("action.updated", "action"),
        ("service.status", "service_status"),
        ("person.created", "person.created"),
        ("interaction.deleted", "interaction.deleted"),
    ],
)
def test_outbox_types_become_the_apps_event_names(type_, name):
    message = messages.socket_message(event(type_, {"id": "x", "service_enabled": True}))
    assert message["event"] == name
    assert message["id"] == "7" and message["type"] == type_


def test_service_status_carries_enabled_at_the_top():
    message = messages.socket_message(event("service.status", {"service_enabled": False}))
    assert message["enabled"] is False


@pytest.mark.parametrize(
    ("action_type", "details", "text"),
    [
        ("remind", {"time": "17:00", "description": "call mom"}, "call mom"),
        ("task", {"description": "buy bread"}, "buy bread"),
        ("schedule", {"name": "dentist", "location": "Main St"}, "dentist at Main St"),
        (
            "contact",
            {"name": "Sam", "method": "email", "details": "the report"},
            "email Sam: the report",
        ),
    ],
)
def test_action_details_become_a_json_string_with_canonical_text(action_type, details, text):
    shaped = messages.action_for_apps({"action_type": action_type, "details": details})
    body = json.loads(shaped["details"])
    assert body["canonical_text"] == text
    assert {k: body[k] for k in details} == details


def test_job_progress_does_not_go_to_sockets():
    assert messages.socket_frame(event("job.updated", {"status": "running"})) is None
    event_id, text = messages.socket_frame(event("interaction.created", {"text": "hi"}))
    assert event_id == 7 and json.loads(text)["data"] == {"text": "hi"}


def test_a_connection_sends_each_event_once_and_wakes_its_thread():
    wake = threading.Event()
    conn = hub.Connection(wake, uuid.uuid4(), "desk")
    conn.offer((1, "one"))
    assert wake.is_set()
    conn.offer((1, "one again"))
    conn.offer((2, "two"))
    assert conn.take() == ["one", "two"]
    conn.offer((2, "two"))
    assert conn.take() == []


def test_a_connection_that_falls_behind_is_marked_overflowed():
    conn = hub.Connection(threading.Event(), uuid.uuid4(), "slow")
    for n in range(hub.MAX_PENDING + 1):
        conn.offer((n, "x"))
    assert conn.overflowed


def test_a_connection_forgets_old_ids_so_memory_stays_bounded():
    conn = hub.Connection(threading.Event(), uuid.uuid4(), "long-lived")
    for n in range(hub.REMEMBERED_IDS + 100):
        assert conn.remember(n)
    assert len(conn._sent) == hub.REMEMBERED_IDS


def test_session_tokens_round_trip_and_refuse_forgeries():
    session = sessions.Session(uuid.uuid4(), "client-1", "s1")
    token = sessions.issue(session, SECRET, 60)
    assert sessions.read(token, SECRET) == session
    with pytest.raises(InvalidToken):
        sessions.read(token, OTHER_SECRET)
    with pytest.raises(InvalidToken):
        sessions.read("not.a.token", SECRET)


def test_session_tokens_expire_after_their_leeway(monkeypatch):
    session = sessions.Session(uuid.uuid4(), "client-1", "s1")
    monkeypatch.setattr(sessions, "EXPIRY_LEEWAY_S", 0)
    token = sessions.issue(session, SECRET, 1)
    time.sleep(2.1)
    with pytest.raises(ExpiredToken):
        sessions.read(token, SECRET)


def test_an_access_token_is_no_session_token():
    from mira.auth.tokens import issue_access_token

    access, _ = issue_access_token(uuid.uuid4(), SECRET, 5)
    with pytest.raises(InvalidToken):
        sessions.read(access, SECRET)
