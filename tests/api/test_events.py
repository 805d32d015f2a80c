"""Events: a per-network feed of changes, followed with a cursor and long-polling."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from mira.events import services as events_service
from mira.extensions import db
from tests.api.factories import create_interaction, create_person, insert_action, insert_job


def feed(client, account, query: str = "", headers=None):
    response = client.get(f"{account.prefix()}/events{query}", headers=headers or account.headers)
    assert response.status_code == 200, response.json
    return response.json


def events_of(client, account, type_: str) -> list[dict]:
    return [e for e in feed(client, account)["events"] if e["type"] == type_]


def test_a_new_network_has_an_empty_feed(client, alice):
    body = feed(client, alice)
    assert body["events"] == []
    assert isinstance(body["cursor"], str)


def test_each_event_has_id_type_data_and_created_at(client, alice):
    create_person(client, alice, "Ada")
    [event] = feed(client, alice)["events"]
    assert set(event) == {"id", "type", "data", "created_at"}
    assert event["type"] == "person.created"
    assert event["created_at"].endswith("Z")
    int(event["id"])


def test_person_events_carry_the_rest_representation(client, alice):
    person = create_person(client, alice, "Ada")
    [created] = events_of(client, alice, "person.created")
    assert created["data"] == person
    renamed = client.patch(
        f"{alice.prefix()}/persons/{person['id']}", json={"name": "Grace"}, headers=alice.headers
    ).json
    [updated] = events_of(client, alice, "person.updated")
    assert updated["data"] == renamed
    assert (
        updated["data"]
        == client.get(f"{alice.prefix()}/persons/{person['id']}", headers=alice.headers).json
    )


def test_interaction_events_carry_the_rest_representation(client, alice):
    person = create_person(client, alice, "Ada")
    interaction = create_interaction(client, alice, "hello", person_id=person["id"])
    [created] = events_of(client, alice, "interaction.created")
    assert created["data"] == interaction
    patched = client.patch(
        f"{alice.prefix()}/interactions/{interaction['id']}",
        json={"text": "hello there"},
        headers=alice.headers,
    ).json
    later = [e for e in feed(client, alice)["events"] if e["data"].get("id") == interaction["id"]]
    assert later[-1]["data"] == patched
    assert later[-1]["data"]["text"] == "hello there"
    client.delete(f"{alice.prefix()}/interactions/{interaction['id']}", headers=alice.headers)
    [deleted] = events_of(client, alice, "interaction.deleted")
    assert deleted["data"] == {"id": interaction["id"]}


def test_action_events_carry_the_rest_representation(client, alice, app):
    action_id = insert_action(alice.network_id)
    patched = client.patch(
        f"{alice.prefix()}/actions/{action_id}", json={"status": "completed"}, headers=alice.headers
    ).json
    [updated] = events_of(client, alice, "action.updated")
    assert updated["data"] == patched
    assert (
        updated["data"]
        == client.get(f"{alice.prefix()}/actions/{action_id}", headers=alice.headers).json
    )


def test_job_events_carry_the_rest_representation(client, alice, app):
    job_id = insert_job(alice.network_id, kind="enroll", status="failed")
    client.post(f"{alice.prefix()}/jobs/{job_id}/retry", headers=alice.headers)
    updates = events_of(client, alice, "job.updated")
    assert updates, "a retry reports the job's progress"
    assert (
        updates[-1]["data"]
        == client.get(f"{alice.prefix()}/jobs/{job_id}", headers=alice.headers).json
    )


def test_events_are_oldest_first_and_the_cursor_is_the_last_id(client, alice):
    for name in ("A", "B", "C"):
        create_person(client, alice, name)
    body = feed(client, alice)
    ids = [int(e["id"]) for e in body["events"]]
    assert ids == sorted(ids)
    assert [e["data"]["name"] for e in body["events"]] == ["A", "B", "C"]
    assert body["cursor"] == str(ids[-1])


def test_after_a_cursor_only_newer_events_come(client, alice):
    create_person(client, alice, "Old")
    cursor = feed(client, alice)["cursor"]
    assert feed(client, alice, f"?after={cursor}")["events"] == []
    newer = create_person(client, alice, "New")
    body = feed(client, alice, f"?after={cursor}")
    assert [e["data"]["id"] for e in body["events"]] == [newer["id"]]
    assert int(body["cursor"]) > int(cursor)
    assert feed(client, alice, f"?after={body['cursor']}")["events"] == []


def test_with_nothing_newer_the_cursor_stays(client, alice):
    create_person(client, alice, "Old")
    cursor = feed(client, alice)["cursor"]
    assert feed(client, alice, f"?after={cursor}")["cursor"] == cursor


def test_after_zero_replays_from_the_start_in_pages(client, alice):
    for n in range(5):
        create_person(client, alice, f"P{n}")
    first = feed(client, alice, "?after=0&limit=2")
    assert [e["data"]["name"] for e in first["events"]] == ["P0", "P1"]
    second = feed(client, alice, f"?after={first['cursor']}&limit=2")
    assert [e["data"]["name"] for e in second["events"]] == ["P2", "P3"]


def test_without_after_the_most_recent_events_come(client, alice):
    for n in range(5):
        create_person(client, alice, f"P{n}")
    body = feed(client, alice, "?limit=2")
    assert [e["data"]["name"] for e in body["events"]] == ["P3", "P4"]
    assert body["cursor"] == body["events"][-1]["id"]


def test_a_fresh_cursor_on_an_empty_feed_still_sees_the_first_event(client, alice):
    cursor = feed(client, alice)["cursor"]
    person = create_person(client, alice, "First")
    assert [e["data"]["id"] for e in feed(client, alice, f"?after={cursor}")["events"]] == [
        person["id"]
    ]


def test_events_of_other_networks_are_not_in_the_feed(client, alice, bob):
    cursor = feed(client, alice)["cursor"]
    create_person(client, bob, "Bob's")
    assert feed(client, alice, f"?after={cursor}")["events"] == []
    assert feed(client, alice)["events"] == []


def _write_event_later(app, network_id: str, delay_s: float) -> threading.Thread:
    def work():
        time.sleep(delay_s)
        with app.app_context():
            events_service.record(uuid.UUID(network_id), "service.status", {"from": "thread"})
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_a_long_poll_returns_early_when_an_event_is_written(client, alice, app):
    cursor = feed(client, alice)["cursor"]
    thread = _write_event_later(app, alice.network_id, 0.3)
    started = time.monotonic()
    body = feed(client, alice, f"?after={cursor}&wait=10")
    elapsed = time.monotonic() - started
    thread.join(timeout=5)
    assert [e["data"] for e in body["events"]] == [{"from": "thread"}]
    assert 0.25 <= elapsed < 5
    assert int(body["cursor"]) > int(cursor)


def test_a_waiting_long_poll_is_woken_by_the_event_not_by_reading_the_table(
    client, alice, app, monkeypatch
):
    """The table is read only every MIRA_EVENTS_POLL_S (here longer than the wait): the event
    must reach the poll through the process's hub, or the poll ends empty."""
    monkeypatch.setitem(app.config, "MIRA_EVENTS_POLL_S", 60.0)
    cursor = feed(client, alice)["cursor"]
    thread = _write_event_later(app, alice.network_id, 0.3)
    started = time.monotonic()
    body = feed(client, alice, f"?after={cursor}&wait=8")
    elapsed = time.monotonic() - started
    thread.join(timeout=5)
    assert [e["data"] for e in body["events"]] == [{"from": "thread"}]
    assert elapsed < 6


def test_waiting_long_polls_leave_no_waiter_behind(client, alice, bob, app):
    from mira.realtime.hub import hub_for

    cursor = feed(client, alice)["cursor"]
    thread = _write_event_later(app, bob.network_id, 0.1)
    feed(client, alice, f"?after={cursor}&wait=0.3")
    thread.join(timeout=5)
    assert hub_for(app)._waiters == {}


def test_a_long_poll_with_nothing_happening_returns_empty_after_the_wait(client, alice):
    create_person(client, alice, "Ada")
    cursor = feed(client, alice)["cursor"]
    started = time.monotonic()
    body = feed(client, alice, f"?after={cursor}&wait=0.6")
    elapsed = time.monotonic() - started
    assert body == {"events": [], "cursor": cursor}
    assert 0.55 <= elapsed < 3


def test_a_long_poll_ignores_events_of_other_networks(client, alice, bob, app):
    cursor = feed(client, alice)["cursor"]
    thread = _write_event_later(app, bob.network_id, 0.1)
    started = time.monotonic()
    body = feed(client, alice, f"?after={cursor}&wait=0.8")
    thread.join(timeout=5)
    assert body["events"] == []
    assert time.monotonic() - started >= 0.75


@pytest.mark.parametrize("query", ["wait=25.5", "wait=26", "wait=-1", "after=-1", "after=abc"])
def test_bad_event_queries_are_422(client, alice, query):
    response = client.get(f"{alice.prefix()}/events?{query}", headers=alice.headers)
    assert response.status_code == 422
    assert query.split("=")[0] in response.json["errors"]


def test_a_wait_of_25_is_accepted(client, alice):
    # With no `after` the feed answers at once, so the maximum wait is accepted without waiting.
    response = client.get(f"{alice.prefix()}/events?wait=25", headers=alice.headers)
    assert response.status_code == 200


def test_a_device_key_can_read_events(client, alice, device_key):
    person = create_person(client, alice, "Ada")
    body = feed(client, alice, headers={"X-API-Key": device_key})
    assert [e["data"]["id"] for e in body["events"]] == [person["id"]]
    default_prefix = client.get("/api/v1/events", headers={"X-API-Key": device_key})
    assert default_prefix.status_code == 200
    assert default_prefix.json == body
