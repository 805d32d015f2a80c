"""Conversations: interactions grouped by time and speakers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from mira.conversations.models import Conversation
from mira.interactions.models import Interaction
from tests.api.factories import (
    T0,
    create_interaction,
    create_person,
    fresh,
    insert_conversation,
    insert_interaction,
    iso,
)


def url(account, *parts: str) -> str:
    return "/".join([f"{account.prefix()}/conversations", *parts])


def test_conversations_are_listed_newest_start_first(client, alice, app):
    middle = insert_conversation(alice.network_id, started_at=T0)
    oldest = insert_conversation(alice.network_id, started_at=T0 - timedelta(days=1))
    newest = insert_conversation(alice.network_id, started_at=T0 + timedelta(hours=1))
    response = client.get(url(alice), headers=alice.headers)
    assert response.status_code == 200
    assert [c["id"] for c in response.json] == [newest, middle, oldest]
    assert response.headers["X-Total-Count"] == "3"


def test_conversation_list_is_paginated(client, alice, app):
    ids = [
        insert_conversation(alice.network_id, started_at=T0 - timedelta(minutes=n))
        for n in range(5)
    ]
    response = client.get(url(alice) + "?limit=2&offset=2", headers=alice.headers)
    assert [c["id"] for c in response.json] == ids[2:4]
    assert response.headers["X-Total-Count"] == "5"


def test_an_empty_network_has_no_conversations(client, alice):
    response = client.get(url(alice), headers=alice.headers)
    assert response.json == []
    assert response.headers["X-Total-Count"] == "0"


def test_getting_a_conversation_shows_participants_and_interaction_count(client, alice, app):
    ada = create_person(client, alice, "Ada")
    grace = create_person(client, alice, "Grace")
    conversation_id = insert_conversation(
        alice.network_id,
        started_at=T0,
        participants=[ada["id"], grace["id"]],
        title="Dinner",
        topic_summary="Pasta",
        context_summary="Two people plan dinner",
    )
    for n in range(3):
        insert_interaction(
            alice.network_id,
            f"line {n}",
            T0 + timedelta(seconds=n),
            person_id=ada["id"],
            conversation_id=conversation_id,
        )
    insert_interaction(alice.network_id, "elsewhere")
    response = client.get(url(alice, conversation_id), headers=alice.headers)
    assert response.status_code == 200
    body = response.json
    assert body["id"] == conversation_id
    assert body["network_id"] == alice.network_id
    assert sorted(body["participants"]) == sorted([ada["id"], grace["id"]])
    assert body["interaction_count"] == 3
    assert body["title"] == "Dinner"
    assert body["topic_summary"] == "Pasta"
    assert body["context_summary"] == "Two people plan dinner"
    assert body["started_at"] == iso(T0)
    assert body["ended_at"] is None
    # Started at T0, long ago, with nothing said since: its gap has passed, it is over.
    assert body["is_active"] is False
    assert body["created_at"].endswith("Z")
    assert body["updated_at"].endswith("Z")


def test_listed_conversations_carry_their_interaction_counts(client, alice, app):
    busy = insert_conversation(alice.network_id, started_at=T0)
    quiet = insert_conversation(alice.network_id, started_at=T0 - timedelta(hours=1))
    for n in range(2):
        insert_interaction(alice.network_id, f"n{n}", conversation_id=busy)
    listed = {c["id"]: c for c in client.get(url(alice), headers=alice.headers).json}
    assert listed[busy]["interaction_count"] == 2
    assert listed[quiet]["interaction_count"] == 0


def test_an_unknown_conversation_is_404(client, alice):
    response = client.get(url(alice, str(uuid.uuid4())), headers=alice.headers)
    assert response.status_code == 404
    assert response.json["detail"] == "Conversation not found"


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("patch", ""), ("delete", ""), ("get", "/interactions")]
)
def test_a_malformed_conversation_id_is_422(client, alice, method, suffix):
    kwargs = {"json": {"title": "x"}} if method == "patch" else {}
    response = getattr(client, method)(url(alice, "123") + suffix, headers=alice.headers, **kwargs)
    assert response.status_code == 422
    assert "conversation_id" in response.json["errors"]


def test_patching_title_and_topic_summary(client, alice, app):
    conversation_id = insert_conversation(alice.network_id, title="Old", topic_summary="old")
    response = client.patch(
        url(alice, conversation_id),
        json={"title": "Weekend plans", "topic_summary": "Hiking on Saturday"},
        headers=alice.headers,
    )
    assert response.status_code == 200
    assert response.json["title"] == "Weekend plans"
    assert response.json["topic_summary"] == "Hiking on Saturday"
    got = client.get(url(alice, conversation_id), headers=alice.headers).json
    assert (got["title"], got["topic_summary"]) == ("Weekend plans", "Hiking on Saturday")


def test_patching_only_the_title_keeps_the_topic(client, alice, app):
    conversation_id = insert_conversation(alice.network_id, title="Old", topic_summary="Topic")
    response = client.patch(
        url(alice, conversation_id), json={"title": "New"}, headers=alice.headers
    )
    assert response.json["title"] == "New"
    assert response.json["topic_summary"] == "Topic"


def test_patching_the_title_to_null_clears_it(client, alice, app):
    conversation_id = insert_conversation(alice.network_id, title="Old")
    response = client.patch(
        url(alice, conversation_id), json={"title": None}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json["title"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x" * 257}, "title"),
        ({"title": 5}, "title"),
        ({"topic_summary": "x" * 10_001}, "topic_summary"),
        ({"started_at": "2026-01-01T00:00:00Z"}, "started_at"),
    ],
)
def test_patching_a_conversation_with_bad_input_is_422(client, alice, app, body, field):
    conversation_id = insert_conversation(alice.network_id, title="Kept")
    response = client.patch(url(alice, conversation_id), json=body, headers=alice.headers)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert client.get(url(alice, conversation_id), headers=alice.headers).json["title"] == "Kept"


def test_patching_a_conversation_records_a_conversation_updated_event(client, alice, app):
    conversation_id = insert_conversation(alice.network_id)
    patched = client.patch(
        url(alice, conversation_id), json={"title": "Named"}, headers=alice.headers
    ).json
    events = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["events"]
    [event] = [e for e in events if e["type"] == "conversation.updated"]
    assert event["data"] == patched


def test_patching_an_unknown_conversation_is_404(client, alice):
    response = client.patch(
        url(alice, str(uuid.uuid4())), json={"title": "x"}, headers=alice.headers
    )
    assert response.status_code == 404


def test_deleting_a_conversation_deletes_its_interactions(client, alice, app):
    person = create_person(client, alice, "Ada")
    conversation_id = insert_conversation(alice.network_id, participants=[person["id"]])
    inside = [
        create_interaction(
            client, alice, f"inside {n}", conversation_id=conversation_id, person_id=person["id"]
        )["id"]
        for n in range(3)
    ]
    outside = create_interaction(client, alice, "outside", person_id=person["id"])["id"]

    response = client.delete(url(alice, conversation_id), headers=alice.headers)
    assert response.status_code == 204
    assert response.data == b""

    for interaction_id in inside:
        gone = client.get(f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers)
        assert gone.status_code == 404
        assert fresh(Interaction, interaction_id) is None
    kept = client.get(f"{alice.prefix()}/interactions/{outside}", headers=alice.headers)
    assert kept.status_code == 200
    listed = client.get(f"{alice.prefix()}/interactions", headers=alice.headers)
    assert [i["id"] for i in listed.json] == [outside]
    assert (
        client.get(f"{alice.prefix()}/persons/{person['id']}", headers=alice.headers).status_code
        == 200
    )


def test_a_deleted_conversation_is_404(client, alice, app):
    conversation_id = insert_conversation(alice.network_id)
    client.delete(url(alice, conversation_id), headers=alice.headers)
    assert client.get(url(alice, conversation_id), headers=alice.headers).status_code == 404
    assert (
        client.get(url(alice, conversation_id, "interactions"), headers=alice.headers).status_code
        == 404
    )
    assert (
        client.patch(
            url(alice, conversation_id), json={"title": "x"}, headers=alice.headers
        ).status_code
        == 404
    )
    assert fresh(Conversation, conversation_id) is None
    assert client.get(url(alice), headers=alice.headers).json == []


def test_deleting_a_conversation_twice_answers_204(client, alice, app):
    conversation_id = insert_conversation(alice.network_id)
    assert client.delete(url(alice, conversation_id), headers=alice.headers).status_code == 204
    assert client.delete(url(alice, conversation_id), headers=alice.headers).status_code == 204


def test_deleting_a_conversation_reports_its_interactions_as_deleted(client, alice, app):
    conversation_id = insert_conversation(alice.network_id)
    inside = create_interaction(client, alice, "inside", conversation_id=conversation_id)["id"]
    cursor = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["cursor"]
    client.delete(url(alice, conversation_id), headers=alice.headers)
    events = client.get(f"{alice.prefix()}/events?after={cursor}", headers=alice.headers).json[
        "events"
    ]
    assert {"type": "interaction.deleted", "id": inside} in [
        {"type": e["type"], "id": e["data"].get("id")} for e in events
    ]


def test_a_conversations_interactions_are_listed_oldest_first(client, alice, app):
    conversation_id = insert_conversation(alice.network_id)
    other = insert_conversation(alice.network_id)
    late = insert_interaction(
        alice.network_id, "late", T0 + timedelta(minutes=2), conversation_id=conversation_id
    )
    early = insert_interaction(alice.network_id, "early", T0, conversation_id=conversation_id)
    middle = insert_interaction(
        alice.network_id, "middle", T0 + timedelta(minutes=1), conversation_id=conversation_id
    )
    insert_interaction(alice.network_id, "other", T0, conversation_id=other)
    insert_interaction(alice.network_id, "loose", T0)

    response = client.get(url(alice, conversation_id, "interactions"), headers=alice.headers)
    assert response.status_code == 200
    assert [i["id"] for i in response.json] == [early, middle, late]
    assert [i["text"] for i in response.json] == ["early", "middle", "late"]
    assert all(i["conversation_id"] == conversation_id for i in response.json)
    assert response.headers["X-Total-Count"] == "3"

    page = client.get(
        url(alice, conversation_id, "interactions") + "?limit=1&offset=1", headers=alice.headers
    )
    assert [i["id"] for i in page.json] == [middle]
    assert page.headers["X-Total-Count"] == "3"


def test_the_interactions_of_an_unknown_conversation_are_404(client, alice):
    response = client.get(url(alice, str(uuid.uuid4()), "interactions"), headers=alice.headers)
    assert response.status_code == 404
