"""Interactions: what was said or typed, by whom, when."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

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

FIELDS = {
    "id",
    "network_id",
    "text",
    "timestamp",
    "person_id",
    "speaker_id",
    "conversation_id",
    "client_id",
    "interaction_type",
    "duration_s",
    "language",
    "confidence",
    "sentiment",
    "audio_quality",
    "metadata",
    "created_at",
}


def url(account, *parts: str) -> str:
    return "/".join([f"{account.prefix()}/interactions", *parts])


def listed_ids(client, account, query: str = "") -> list[str]:
    response = client.get(url(account) + query, headers=account.headers)
    assert response.status_code == 200, response.json
    return [i["id"] for i in response.json]


# Creating ------------------------------------------------------------------------------------


def test_creating_a_text_interaction_answers_201(client, alice):
    response = client.post(url(alice), json={"text": "Buy milk"}, headers=alice.headers)
    assert response.status_code == 201
    body = response.json
    assert set(body) >= FIELDS
    uuid.UUID(body["id"])
    assert body["network_id"] == alice.network_id
    assert body["text"] == "Buy milk"
    assert body["interaction_type"] == "text"
    assert body["person_id"] is None
    assert body["speaker_id"] is None
    assert body["conversation_id"] is None
    assert body["metadata"] == {}
    assert body["timestamp"].endswith("Z")
    assert client.get(url(alice, body["id"]), headers=alice.headers).json == body


def test_content_is_an_alias_of_text(client, alice):
    response = client.post(
        url(alice), json={"content": "From an old client"}, headers=alice.headers
    )
    assert response.status_code == 201
    assert response.json["text"] == "From an old client"
    assert "content" not in response.json


@pytest.mark.parametrize("kind", ["audio", "text", "system"])
def test_every_documented_interaction_type_is_accepted(client, alice, kind):
    response = client.post(
        url(alice), json={"text": "x", "interaction_type": kind}, headers=alice.headers
    )
    assert response.status_code == 201
    assert response.json["interaction_type"] == kind


@pytest.mark.parametrize("kind", ["video", "", "TEXT", "command"])
def test_an_unknown_interaction_type_is_422(client, alice, kind):
    response = client.post(
        url(alice), json={"text": "x", "interaction_type": kind}, headers=alice.headers
    )
    assert response.status_code == 422
    assert "interaction_type" in response.json["errors"]
    assert listed_ids(client, alice) == []


def test_metadata_is_stored_and_returned(client, alice):
    metadata = {"source": "keyboard", "tags": ["shopping"], "nested": {"n": 1}}
    body = create_interaction(client, alice, "x", metadata=metadata)
    assert body["metadata"] == metadata
    assert client.get(url(alice, body["id"]), headers=alice.headers).json["metadata"] == metadata


def test_a_timestamp_with_an_offset_is_normalised_to_utc_whole_seconds(client, alice):
    body = create_interaction(client, alice, "x", timestamp="2026-03-04T14:30:15.750+02:00")
    assert body["timestamp"] == "2026-03-04T12:30:15Z"
    assert client.get(url(alice, body["id"]), headers=alice.headers).json["timestamp"] == (
        "2026-03-04T12:30:15Z"
    )


def test_a_timestamp_without_an_offset_is_taken_as_utc(client, alice):
    body = create_interaction(client, alice, "x", timestamp="2026-03-04T14:30:15")
    assert body["timestamp"] == "2026-03-04T14:30:15Z"


def test_a_person_and_conversation_of_the_network_are_linked(client, alice, app):
    person = create_person(client, alice, "Ada")
    conversation_id = insert_conversation(alice.network_id)
    body = create_interaction(
        client, alice, "x", person_id=person["id"], conversation_id=conversation_id
    )
    assert body["person_id"] == person["id"]
    assert body["speaker_id"] == person["id"]
    assert body["conversation_id"] == conversation_id


def test_a_person_of_another_network_is_404_and_nothing_is_made(client, alice, bob):
    foreign = create_person(client, bob, "Bob")
    response = client.post(
        url(alice), json={"text": "x", "person_id": foreign["id"]}, headers=alice.headers
    )
    assert response.status_code == 404
    assert response.json["detail"] == "Person not found"
    assert listed_ids(client, alice) == []


def test_a_conversation_of_another_network_is_404_and_nothing_is_made(client, alice, bob, app):
    foreign = insert_conversation(bob.network_id)
    response = client.post(
        url(alice), json={"text": "x", "conversation_id": foreign}, headers=alice.headers
    )
    assert response.status_code == 404
    assert response.json["detail"] == "Conversation not found"
    assert listed_ids(client, alice) == []
    assert listed_ids(client, bob) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 10_001}, "text"),
        ({"content": "x" * 10_001}, "content"),
        ({"text": "x", "person_id": "nope"}, "person_id"),
        ({"text": "x", "conversation_id": "nope"}, "conversation_id"),
        ({"text": "x", "timestamp": "yesterday"}, "timestamp"),
        ({"text": "x", "metadata": "not an object"}, "metadata"),
        ({"text": "x", "mood": "happy"}, "mood"),
    ],
)
def test_creating_with_bad_input_is_422(client, alice, body, field):
    response = client.post(url(alice), json=body, headers=alice.headers)
    assert response.status_code == 422
    assert field in response.json["errors"], response.json
    assert listed_ids(client, alice) == []


def test_text_of_exactly_the_maximum_length_is_accepted(client, alice):
    assert len(create_interaction(client, alice, "x" * 10_000)["text"]) == 10_000


def test_creating_an_interaction_records_an_interaction_created_event(client, alice):
    body = create_interaction(client, alice, "hello")
    events = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["events"]
    [event] = [e for e in events if e["type"] == "interaction.created"]
    assert event["data"] == body


# Listing -------------------------------------------------------------------------------------


def test_interactions_are_listed_newest_first(client, alice, app):
    old = insert_interaction(alice.network_id, "old", T0 - timedelta(hours=1))
    new = insert_interaction(alice.network_id, "new", T0 + timedelta(hours=1))
    mid = insert_interaction(alice.network_id, "mid", T0)
    response = client.get(url(alice), headers=alice.headers)
    assert [i["id"] for i in response.json] == [new, mid, old]
    assert response.headers["X-Total-Count"] == "3"


def test_interactions_are_paginated_with_a_total(client, alice, app):
    ids = [
        insert_interaction(alice.network_id, f"n{n}", T0 - timedelta(minutes=n)) for n in range(6)
    ]
    response = client.get(url(alice) + "?limit=2&offset=3", headers=alice.headers)
    assert [i["id"] for i in response.json] == ids[3:5]
    assert response.headers["X-Total-Count"] == "6"
    assert listed_ids(client, alice, "?offset=6") == []


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-5"])
def test_bad_pagination_of_interactions_is_422(client, alice, query):
    assert client.get(url(alice) + f"?{query}", headers=alice.headers).status_code == 422


def test_the_default_limit_is_50_and_500_is_allowed(client, alice, app):
    for n in range(55):
        insert_interaction(alice.network_id, f"n{n}", T0 + timedelta(seconds=n))
    default = client.get(url(alice), headers=alice.headers)
    assert len(default.json) == 50
    assert default.headers["X-Total-Count"] == "55"
    assert len(client.get(url(alice) + "?limit=500", headers=alice.headers).json) == 55


def test_filtering_by_person(client, alice, app):
    ada = create_person(client, alice, "Ada")
    grace = create_person(client, alice, "Grace")
    mine = insert_interaction(alice.network_id, "a", person_id=ada["id"])
    insert_interaction(alice.network_id, "g", person_id=grace["id"])
    insert_interaction(alice.network_id, "nobody")
    response = client.get(url(alice) + f"?person_id={ada['id']}", headers=alice.headers)
    assert [i["id"] for i in response.json] == [mine]
    assert response.headers["X-Total-Count"] == "1"


def test_filtering_by_one_conversation(client, alice, app):
    first = insert_conversation(alice.network_id)
    second = insert_conversation(alice.network_id)
    inside = insert_interaction(alice.network_id, "in", conversation_id=first)
    insert_interaction(alice.network_id, "other", conversation_id=second)
    insert_interaction(alice.network_id, "loose")
    assert listed_ids(client, alice, f"?conversation_id={first}") == [inside]


def test_filtering_by_repeated_conversation_ids(client, alice, app):
    first, second, third = (insert_conversation(alice.network_id) for _ in range(3))
    a = insert_interaction(alice.network_id, "a", T0, conversation_id=first)
    b = insert_interaction(alice.network_id, "b", T0 + timedelta(seconds=1), conversation_id=second)
    insert_interaction(alice.network_id, "c", conversation_id=third)
    insert_interaction(alice.network_id, "loose")
    query = f"?conversation_ids={first}&conversation_ids={second}"
    assert listed_ids(client, alice, query) == [b, a]


def test_orphans_only_lists_interactions_outside_any_conversation(client, alice, app):
    conversation_id = insert_conversation(alice.network_id)
    insert_interaction(alice.network_id, "in", conversation_id=conversation_id)
    loose = insert_interaction(alice.network_id, "loose")
    assert listed_ids(client, alice, "?orphans_only=true") == [loose]
    assert len(listed_ids(client, alice, "?orphans_only=false")) == 2


def test_orphans_only_with_conversation_ids_lists_both(client, alice, app):
    first = insert_conversation(alice.network_id)
    second = insert_conversation(alice.network_id)
    a = insert_interaction(alice.network_id, "a", T0, conversation_id=first)
    insert_interaction(alice.network_id, "b", T0, conversation_id=second)
    loose = insert_interaction(alice.network_id, "loose", T0 - timedelta(seconds=1))
    assert listed_ids(client, alice, f"?conversation_ids={first}&orphans_only=true") == [a, loose]


def test_since_and_until_bound_the_timestamps_inclusively(client, alice, app):
    ids = [insert_interaction(alice.network_id, f"h{h}", T0 + timedelta(hours=h)) for h in range(4)]
    since, until = iso(T0 + timedelta(hours=1)), iso(T0 + timedelta(hours=2))
    assert listed_ids(client, alice, f"?since={since}") == [ids[3], ids[2], ids[1]]
    assert listed_ids(client, alice, f"?until={until}") == [ids[2], ids[1], ids[0]]
    assert listed_ids(client, alice, f"?since={since}&until={until}") == [ids[2], ids[1]]


def test_since_accepts_an_offset(client, alice, app):
    before = insert_interaction(alice.network_id, "before", T0 - timedelta(minutes=1))
    after = insert_interaction(alice.network_id, "after", T0 + timedelta(minutes=1))
    # 14:00+02:00 is 12:00Z, i.e. T0.
    response = client.get(
        url(alice), query_string={"since": "2026-01-02T14:00:00+02:00"}, headers=alice.headers
    )
    assert [i["id"] for i in response.json] == [after]
    assert before not in [i["id"] for i in response.json]


def test_a_malformed_since_is_422(client, alice):
    response = client.get(url(alice) + "?since=last-tuesday", headers=alice.headers)
    assert response.status_code == 422
    assert "since" in response.json["errors"]


def test_q_searches_text_case_insensitively(client, alice, app):
    hit = insert_interaction(alice.network_id, "Please BUY some Milk", T0)
    also = insert_interaction(alice.network_id, "buying milk later", T0 - timedelta(seconds=1))
    insert_interaction(alice.network_id, "call mum")
    assert listed_ids(client, alice, "?q=buy") == [hit, also]
    assert listed_ids(client, alice, "?q=MILK") == [hit, also]
    assert listed_ids(client, alice, "?q=nothing-like-this") == []


def test_q_treats_percent_and_underscore_literally(client, alice, app):
    percent = insert_interaction(alice.network_id, "battery at 50% now", T0)
    insert_interaction(alice.network_id, "battery at 500 now", T0 - timedelta(seconds=1))
    underscore = insert_interaction(
        alice.network_id, "file my_notes.txt", T0 - timedelta(seconds=2)
    )
    insert_interaction(alice.network_id, "file my notes.txt", T0 - timedelta(seconds=3))
    insert_interaction(alice.network_id, "file myXnotes.txt", T0 - timedelta(seconds=4))
    assert listed_ids(client, alice, "?q=50%25") == [percent]
    assert listed_ids(client, alice, "?q=%25") == [percent]
    assert listed_ids(client, alice, "?q=my_notes") == [underscore]
    assert listed_ids(client, alice, "?q=_") == [underscore]


def test_q_treats_a_backslash_literally(client, alice, app):
    hit = insert_interaction(alice.network_id, r"path C:\temp", T0)
    insert_interaction(alice.network_id, "path C:temp")
    assert listed_ids(client, alice, "?q=C:%5Ctemp") == [hit]


def test_filters_combine(client, alice, app):
    ada = create_person(client, alice, "Ada")
    conversation_id = insert_conversation(alice.network_id)
    hit = insert_interaction(
        alice.network_id, "milk", T0, person_id=ada["id"], conversation_id=conversation_id
    )
    insert_interaction(alice.network_id, "milk", T0, conversation_id=conversation_id)
    insert_interaction(
        alice.network_id, "bread", T0, person_id=ada["id"], conversation_id=conversation_id
    )
    insert_interaction(
        alice.network_id,
        "milk",
        T0 - timedelta(days=2),
        person_id=ada["id"],
        conversation_id=conversation_id,
    )
    query = (
        f"?person_id={ada['id']}&conversation_id={conversation_id}&q=MILK"
        f"&since={iso(T0 - timedelta(days=1))}"
    )
    response = client.get(url(alice) + query, headers=alice.headers)
    assert [i["id"] for i in response.json] == [hit]
    assert response.headers["X-Total-Count"] == "1"


def test_the_total_counts_filtered_rows_not_the_page(client, alice, app):
    for n in range(4):
        insert_interaction(alice.network_id, f"milk {n}", T0 + timedelta(seconds=n))
    insert_interaction(alice.network_id, "bread")
    response = client.get(url(alice) + "?q=milk&limit=1", headers=alice.headers)
    assert len(response.json) == 1
    assert response.headers["X-Total-Count"] == "4"


@pytest.mark.parametrize(
    "query", ["person_id=x", "conversation_id=x", "conversation_ids=x", "orphans_only=maybe"]
)
def test_malformed_filters_are_422(client, alice, query):
    response = client.get(url(alice) + f"?{query}", headers=alice.headers)
    assert response.status_code == 422
    assert query.split("=")[0] in response.json["errors"]


# Reading, changing, deleting -----------------------------------------------------------------


def test_getting_an_unknown_interaction_is_404(client, alice):
    response = client.get(url(alice, str(uuid.uuid4())), headers=alice.headers)
    assert response.status_code == 404
    assert response.json["detail"] == "Interaction not found"


def test_a_malformed_interaction_id_is_422(client, alice):
    response = client.get(url(alice, "abc"), headers=alice.headers)
    assert response.status_code == 422
    assert "interaction_id" in response.json["errors"]


def test_speaker_id_always_equals_person_id(client, alice, app):
    ada = create_person(client, alice, "Ada")
    insert_interaction(alice.network_id, "a", person_id=ada["id"])
    insert_interaction(alice.network_id, "b")
    listed = client.get(url(alice), headers=alice.headers).json
    assert {i["speaker_id"] for i in listed} == {ada["id"], None}
    assert all(i["speaker_id"] == i["person_id"] for i in listed)


def test_patching_the_text(client, alice):
    body = create_interaction(client, alice, "Mira set a timmer")
    response = client.patch(
        url(alice, body["id"]), json={"text": "Mira set a timer"}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json["text"] == "Mira set a timer"
    assert client.get(url(alice, body["id"]), headers=alice.headers).json["text"] == (
        "Mira set a timer"
    )


def test_patching_the_person_corrects_the_speaker(client, alice):
    ada = create_person(client, alice, "Ada")
    grace = create_person(client, alice, "Grace")
    body = create_interaction(client, alice, "x", person_id=ada["id"])
    response = client.patch(
        url(alice, body["id"]), json={"person_id": grace["id"]}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json["person_id"] == grace["id"]
    assert response.json["speaker_id"] == grace["id"]
    assert (
        client.get(f"{alice.prefix()}/persons/{grace['id']}", headers=alice.headers).json[
            "interaction_count"
        ]
        == 1
    )
    assert (
        client.get(f"{alice.prefix()}/persons/{ada['id']}", headers=alice.headers).json[
            "interaction_count"
        ]
        == 0
    )


def test_speaker_id_is_accepted_as_an_alias_of_person_id(client, alice):
    ada = create_person(client, alice, "Ada")
    body = create_interaction(client, alice, "x")
    response = client.patch(
        url(alice, body["id"]), json={"speaker_id": ada["id"]}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json["person_id"] == ada["id"]
    assert response.json["speaker_id"] == ada["id"]


def test_patching_the_person_to_null_unattributes(client, alice):
    ada = create_person(client, alice, "Ada")
    body = create_interaction(client, alice, "x", person_id=ada["id"])
    response = client.patch(url(alice, body["id"]), json={"person_id": None}, headers=alice.headers)
    assert response.status_code == 200
    assert response.json["person_id"] is None


def test_patching_the_conversation_moves_the_interaction(client, alice, app):
    first = insert_conversation(alice.network_id)
    second = insert_conversation(alice.network_id)
    body = create_interaction(client, alice, "x", conversation_id=first)
    response = client.patch(
        url(alice, body["id"]), json={"conversation_id": second}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json["conversation_id"] == second
    assert listed_ids(client, alice, f"?conversation_id={first}") == []
    assert listed_ids(client, alice, f"?conversation_id={second}") == [body["id"]]


def test_patching_one_field_keeps_the_others(client, alice, app):
    ada = create_person(client, alice, "Ada")
    conversation_id = insert_conversation(alice.network_id)
    body = create_interaction(
        client, alice, "keep", person_id=ada["id"], conversation_id=conversation_id
    )
    patched = client.patch(url(alice, body["id"]), json={"text": "kept"}, headers=alice.headers)
    assert patched.json["person_id"] == ada["id"]
    assert patched.json["conversation_id"] == conversation_id
    assert patched.json["timestamp"] == body["timestamp"]


@pytest.mark.parametrize("field", ["person_id", "conversation_id"])
def test_patching_to_another_networks_row_is_404_and_changes_nothing(
    client, alice, bob, app, field
):
    foreign = (
        create_person(client, bob, "Bob")["id"]
        if field == "person_id"
        else insert_conversation(bob.network_id)
    )
    body = create_interaction(client, alice, "x")
    response = client.patch(url(alice, body["id"]), json={field: foreign}, headers=alice.headers)
    assert response.status_code == 404
    assert client.get(url(alice, body["id"]), headers=alice.headers).json[field] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x" * 10_001}, "text"),
        ({"person_id": "nope"}, "person_id"),
        ({"interaction_type": "system"}, "interaction_type"),
    ],
)
def test_patching_with_bad_input_is_422(client, alice, body, field):
    made = create_interaction(client, alice, "original")
    response = client.patch(url(alice, made["id"]), json=body, headers=alice.headers)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert client.get(url(alice, made["id"]), headers=alice.headers).json == made


def test_patching_an_unknown_interaction_is_404(client, alice):
    response = client.patch(
        url(alice, str(uuid.uuid4())), json={"text": "x"}, headers=alice.headers
    )
    assert response.status_code == 404


def test_deleting_an_interaction_answers_204_twice(client, alice):
    body = create_interaction(client, alice, "x")
    first = client.delete(url(alice, body["id"]), headers=alice.headers)
    assert first.status_code == 204
    assert first.data == b""
    assert client.get(url(alice, body["id"]), headers=alice.headers).status_code == 404
    assert fresh(Interaction, body["id"]) is None
    assert client.delete(url(alice, body["id"]), headers=alice.headers).status_code == 204


def test_deleting_an_interaction_records_one_event(client, alice):
    body = create_interaction(client, alice, "x")
    client.delete(url(alice, body["id"]), headers=alice.headers)
    client.delete(url(alice, body["id"]), headers=alice.headers)
    events = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["events"]
    deleted = [e["data"] for e in events if e["type"] == "interaction.deleted"]
    assert deleted == [{"id": body["id"]}]


def test_deleting_an_interaction_keeps_the_others(client, alice):
    keep = create_interaction(client, alice, "keep")
    drop = create_interaction(client, alice, "drop")
    client.delete(url(alice, drop["id"]), headers=alice.headers)
    assert listed_ids(client, alice) == [keep["id"]]
