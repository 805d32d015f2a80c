"""Actions: reminders, events, messages and tasks Mira noticed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mira.actions.models import Action
from tests.api.factories import (
    T0,
    create_interaction,
    create_person,
    fresh,
    insert_action,
    insert_conversation,
    iso,
)


def url(account, *parts: str) -> str:
    return "/".join([f"{account.prefix()}/actions", *parts])


def test_a_new_network_has_no_actions(client, alice):
    response = client.get(url(alice), headers=alice.headers)
    assert response.status_code == 200
    assert response.json == []
    assert response.headers["X-Total-Count"] == "0"


def test_actions_are_listed_newest_first_with_a_total(client, alice, app):
    old = insert_action(alice.network_id, created_at=T0 - timedelta(hours=1))
    new = insert_action(alice.network_id, created_at=T0 + timedelta(hours=1))
    mid = insert_action(alice.network_id, created_at=T0)
    response = client.get(url(alice), headers=alice.headers)
    assert [a["id"] for a in response.json] == [new, mid, old]
    assert response.headers["X-Total-Count"] == "3"
    page = client.get(url(alice) + "?limit=1&offset=1", headers=alice.headers)
    assert [a["id"] for a in page.json] == [mid]
    assert page.headers["X-Total-Count"] == "3"


def test_filtering_actions_by_status(client, alice, app):
    pending = insert_action(alice.network_id, status="pending", created_at=T0)
    done = insert_action(alice.network_id, status="completed", created_at=T0)
    insert_action(alice.network_id, status="dismissed", created_at=T0)
    response = client.get(url(alice) + "?status=pending", headers=alice.headers)
    assert [a["id"] for a in response.json] == [pending]
    assert response.headers["X-Total-Count"] == "1"
    completed = client.get(url(alice) + "?status=completed", headers=alice.headers).json
    assert [a["id"] for a in completed] == [done]
    assert client.get(url(alice) + "?status=confirmed", headers=alice.headers).json == []


def test_filtering_actions_by_kind(client, alice, app):
    remind = insert_action(alice.network_id, action_type="remind")
    task = insert_action(
        alice.network_id, action_type="task", details={"description": "taxes", "due": None}
    )
    both = insert_action(alice.network_id, action_type="task", status="completed")
    response = client.get(url(alice) + "?action_type=task", headers=alice.headers)
    assert {a["id"] for a in response.json} == {task, both}
    assert [
        a["id"] for a in client.get(url(alice) + "?action_type=remind", headers=alice.headers).json
    ] == [remind]
    combined = client.get(url(alice) + "?action_type=task&status=pending", headers=alice.headers)
    assert [a["id"] for a in combined.json] == [task]


@pytest.mark.parametrize("query", ["status=done", "action_type=email", "limit=0"])
def test_bad_action_filters_are_422(client, alice, query):
    response = client.get(url(alice) + f"?{query}", headers=alice.headers)
    assert response.status_code == 422
    assert query.split("=")[0] in response.json["errors"]


def test_getting_an_action_shows_every_field(client, alice, app):
    person = create_person(client, alice, "Ada")
    conversation_id = insert_conversation(alice.network_id)
    said = create_interaction(client, alice, "remind me", conversation_id=conversation_id)
    action_id = insert_action(
        alice.network_id,
        action_type="schedule",
        details={"start_time": "2026-01-03T18:00:00Z", "end_time": None, "name": "Dinner"},
        scheduled_time=T0 + timedelta(days=1),
        person_id=uuid.UUID(person["id"]),
        interaction_id=uuid.UUID(said["id"]),
        conversation_id=uuid.UUID(conversation_id),
    )
    response = client.get(url(alice, action_id), headers=alice.headers)
    assert response.status_code == 200
    body = response.json
    assert body["id"] == action_id
    assert body["network_id"] == alice.network_id
    assert body["action_type"] == "schedule"
    assert body["status"] == "pending"
    assert body["details"]["name"] == "Dinner"
    assert body["scheduled_time"] == iso(T0 + timedelta(days=1))
    assert body["completed_time"] is None
    assert body["person_id"] == person["id"]
    assert body["interaction_id"] == said["id"]
    assert body["conversation_id"] == conversation_id
    assert body["created_at"].endswith("Z")
    assert body["updated_at"].endswith("Z")


def test_an_unknown_action_is_404(client, alice):
    response = client.get(url(alice, str(uuid.uuid4())), headers=alice.headers)
    assert response.status_code == 404
    assert response.json["detail"] == "Action not found"


def test_a_malformed_action_id_is_422(client, alice):
    response = client.get(url(alice, "42"), headers=alice.headers)
    assert response.status_code == 422
    assert "action_id" in response.json["errors"]


@pytest.mark.parametrize("status", ["confirmed", "dismissed", "pending"])
def test_patching_the_status(client, alice, app, status):
    action_id = insert_action(
        alice.network_id, status="pending" if status != "pending" else "confirmed"
    )
    response = client.patch(url(alice, action_id), json={"status": status}, headers=alice.headers)
    assert response.status_code == 200
    assert response.json["status"] == status
    assert response.json["completed_time"] is None
    assert client.get(url(alice, action_id), headers=alice.headers).json["status"] == status


def test_completing_an_action_sets_its_completed_time(client, alice, app):
    action_id = insert_action(alice.network_id)
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.patch(
        url(alice, action_id), json={"status": "completed"}, headers=alice.headers
    )
    after = datetime.now(UTC)
    assert response.status_code == 200
    assert response.json["status"] == "completed"
    completed = datetime.strptime(response.json["completed_time"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )
    assert before <= completed <= after
    assert fresh(Action, action_id).completed_time is not None


def test_reopening_a_completed_action_clears_its_completed_time(client, alice, app):
    action_id = insert_action(alice.network_id)
    client.patch(url(alice, action_id), json={"status": "completed"}, headers=alice.headers)
    response = client.patch(
        url(alice, action_id), json={"status": "pending"}, headers=alice.headers
    )
    assert response.json["completed_time"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": None}, "status"),
        ({}, "status"),
        ({"status": "completed", "details": {}}, "details"),
    ],
)
def test_patching_with_bad_input_is_422_and_changes_nothing(client, alice, app, body, field):
    action_id = insert_action(alice.network_id)
    response = client.patch(url(alice, action_id), json=body, headers=alice.headers)
    assert response.status_code == 422
    assert field in response.json["errors"]
    got = client.get(url(alice, action_id), headers=alice.headers).json
    assert got["status"] == "pending"
    assert got["completed_time"] is None


def test_patching_an_unknown_action_is_404(client, alice):
    response = client.patch(
        url(alice, str(uuid.uuid4())), json={"status": "completed"}, headers=alice.headers
    )
    assert response.status_code == 404


def test_patching_an_action_records_an_action_updated_event_with_the_resource(client, alice, app):
    action_id = insert_action(alice.network_id)
    patched = client.patch(
        url(alice, action_id), json={"status": "confirmed"}, headers=alice.headers
    ).json
    events = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["events"]
    [event] = [e for e in events if e["type"] == "action.updated"]
    assert event["data"] == patched


def test_device_keys_cannot_read_actions(client, alice, device_key, app):
    action_id = insert_action(alice.network_id)
    response = client.get(url(alice, action_id), headers={"X-API-Key": device_key})
    assert response.status_code == 403
    assert response.json["error_code"] == "DEVICE_KEY_NOT_ALLOWED"
