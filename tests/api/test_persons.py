"""Persons: the people a network knows by voice."""

from __future__ import annotations

import base64
import uuid

import numpy as np
import pytest

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.persons.models import Person, VoiceSample
from tests.api.factories import (
    create_interaction,
    create_person,
    embedding,
    fresh,
    insert_conversation,
    insert_voice_sample,
)


def url(account, *parts: str) -> str:
    return "/".join([f"{account.prefix()}/persons", *parts])


# Listing and creating -------------------------------------------------------------------------


def test_a_new_network_has_no_persons(client, alice):
    response = client.get(url(alice), headers=alice.headers)
    assert response.status_code == 200
    assert response.json == []
    assert response.headers["X-Total-Count"] == "0"


def test_creating_a_person_answers_201_with_the_person(client, alice):
    response = client.post(url(alice), json={"name": "Ada"}, headers=alice.headers)
    assert response.status_code == 201
    person = response.json
    uuid.UUID(person["id"])
    assert person["network_id"] == alice.network_id
    assert person["name"] == "Ada"
    assert person["index"] == 1
    assert person["is_enrolled"] is False
    assert person["voice_sample_count"] == 0
    assert person["interaction_count"] == 0
    assert person["conversation_count"] == 0
    assert person["last_heard_at"] is None
    assert person["created_at"].endswith("Z")
    assert "voice_embedding" not in person


def test_each_new_person_gets_the_next_index(client, alice):
    indexes = [create_person(client, alice, f"P{n}")["index"] for n in range(3)]
    assert indexes == [1, 2, 3]


def test_indexes_count_per_network(client, alice, bob):
    create_person(client, alice, "A1")
    create_person(client, alice, "A2")
    assert create_person(client, bob, "B1")["index"] == 1


def test_the_next_index_follows_the_highest_even_after_a_delete(client, alice):
    create_person(client, alice, "one")
    second = create_person(client, alice, "two")
    client.delete(url(alice, second["id"]), headers=alice.headers)
    assert create_person(client, alice, "three")["index"] == 2
    assert create_person(client, alice, "four")["index"] == 3


def test_persons_are_listed_by_index_with_a_total(client, alice):
    made = [create_person(client, alice, name) for name in ("Zoe", "Adam", "Mia")]
    response = client.get(url(alice), headers=alice.headers)
    assert response.status_code == 200
    assert [p["id"] for p in response.json] == [p["id"] for p in made]
    assert [p["index"] for p in response.json] == [1, 2, 3]
    assert response.headers["X-Total-Count"] == "3"


def test_person_list_is_paginated_with_limit_and_offset(client, alice):
    made = [create_person(client, alice, f"P{n}") for n in range(5)]
    response = client.get(url(alice) + "?limit=2&offset=1", headers=alice.headers)
    assert [p["id"] for p in response.json] == [made[1]["id"], made[2]["id"]]
    assert response.headers["X-Total-Count"] == "5"
    tail = client.get(url(alice) + "?limit=2&offset=4", headers=alice.headers)
    assert [p["id"] for p in tail.json] == [made[4]["id"]]
    past = client.get(url(alice) + "?offset=10", headers=alice.headers)
    assert past.json == []
    assert past.headers["X-Total-Count"] == "5"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "limit=abc"])
def test_bad_pagination_is_422(client, alice, query):
    response = client.get(url(alice) + f"?{query}", headers=alice.headers)
    assert response.status_code == 422
    assert response.json["error_code"] == "VALIDATION_ERROR"


def test_the_default_network_prefix_serves_the_same_persons(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.get("/api/v1/persons", headers=alice.headers)
    assert [p["id"] for p in response.json] == [person["id"]]
    v2 = client.get(f"/api/v2/{alice.network_id}/persons/{person['id']}", headers=alice.headers)
    assert v2.status_code == 200
    assert v2.json["name"] == "Ada"


def test_creating_a_person_records_a_person_created_event(client, alice):
    person = create_person(client, alice, "Ada")
    events = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["events"]
    created = [e for e in events if e["type"] == "person.created"]
    assert [e["data"]["id"] for e in created] == [person["id"]]


# Reading -------------------------------------------------------------------------------------


def test_getting_a_person(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.get(url(alice, person["id"]), headers=alice.headers)
    assert response.status_code == 200
    assert response.json == person


def test_an_unknown_person_is_404(client, alice):
    response = client.get(url(alice, str(uuid.uuid4())), headers=alice.headers)
    assert response.status_code == 404
    assert response.json["error_code"] == "NOT_FOUND"
    assert response.json["detail"] == "Person not found"


def test_include_embedding_gives_the_profile_as_base64_float32(client, alice, app):
    person = create_person(client, alice, "Ada")
    profile = embedding(7)
    row = db.session.get(Person, uuid.UUID(person["id"]))
    row.voice_embedding = profile
    db.session.commit()

    response = client.get(
        url(alice, person["id"]) + "?include_embedding=true", headers=alice.headers
    )
    assert response.status_code == 200
    raw = base64.b64decode(response.json["voice_embedding"])
    assert raw == profile
    vector = np.frombuffer(raw, dtype=np.float32)
    assert vector.shape == (256,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_include_embedding_is_null_without_a_profile(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.get(
        url(alice, person["id"]) + "?include_embedding=true", headers=alice.headers
    )
    assert response.status_code == 200
    assert "voice_embedding" in response.json
    assert response.json["voice_embedding"] is None


def test_the_embedding_is_left_out_unless_asked(client, alice, app):
    person = create_person(client, alice, "Ada")
    row = db.session.get(Person, uuid.UUID(person["id"]))
    row.voice_embedding = embedding(1)
    db.session.commit()
    assert "voice_embedding" not in client.get(url(alice, person["id"]), headers=alice.headers).json
    listed = client.get(url(alice), headers=alice.headers).json
    assert "voice_embedding" not in listed[0]
    with_embedding = client.get(url(alice) + "?include_embedding=true", headers=alice.headers)
    assert base64.b64decode(with_embedding.json[0]["voice_embedding"]) == embedding(1)


def test_counts_reflect_interactions_and_conversations(client, alice, app):
    person = create_person(client, alice, "Ada")
    first = insert_conversation(alice.network_id, participants=[person["id"]])
    insert_conversation(alice.network_id, participants=[person["id"]])
    create_interaction(client, alice, "one", person_id=person["id"], conversation_id=first)
    create_interaction(client, alice, "two", person_id=person["id"])
    create_interaction(client, alice, "someone else")
    got = client.get(url(alice, person["id"]), headers=alice.headers).json
    assert got["interaction_count"] == 2
    assert got["conversation_count"] == 2


# Changing ------------------------------------------------------------------------------------


def test_patching_a_person_with_json_renames_them(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.patch(url(alice, person["id"]), json={"name": "Grace"}, headers=alice.headers)
    assert response.status_code == 200
    assert response.json["name"] == "Grace"
    assert response.json["index"] == person["index"]
    assert client.get(url(alice, person["id"]), headers=alice.headers).json["name"] == "Grace"


def test_patching_a_person_with_a_multipart_form_renames_them(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.patch(
        url(alice, person["id"]),
        data={"name": "Grace Hopper"},
        content_type="multipart/form-data",
        headers=alice.headers,
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Grace Hopper"
    assert (
        client.get(url(alice, person["id"]), headers=alice.headers).json["name"] == "Grace Hopper"
    )


def test_patching_a_person_with_a_urlencoded_form_renames_them(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.patch(url(alice, person["id"]), data={"name": "Lin"}, headers=alice.headers)
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Lin"


def test_patching_a_person_records_a_person_updated_event_with_the_new_name(client, alice):
    person = create_person(client, alice, "Ada")
    client.patch(url(alice, person["id"]), json={"name": "Grace"}, headers=alice.headers)
    events = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["events"]
    updated = [e["data"] for e in events if e["type"] == "person.updated"]
    assert updated[-1]["id"] == person["id"]
    assert updated[-1]["name"] == "Grace"


def test_patching_an_unknown_person_is_404(client, alice):
    response = client.patch(
        url(alice, str(uuid.uuid4())), json={"name": "Grace"}, headers=alice.headers
    )
    assert response.status_code == 404


# Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/merge"),
        ("get", "/voice-samples"),
        ("delete", "/voice-samples/" + str(uuid.UUID(int=1))),
    ],
)
def test_a_malformed_person_id_is_422(client, alice, method, suffix):
    body = {"into": str(uuid.uuid4())} if suffix == "/merge" else {"name": "x"}
    kwargs = {"json": body} if method in {"patch", "post"} else {}
    response = getattr(client, method)(
        url(alice, "not-a-uuid") + suffix, headers=alice.headers, **kwargs
    )
    assert response.status_code == 422
    assert response.json["error_code"] == "VALIDATION_ERROR"
    assert "person_id" in response.json["errors"]


def test_a_malformed_sample_id_is_422(client, alice):
    person = create_person(client, alice)
    response = client.delete(
        url(alice, person["id"], "voice-samples", "nope"), headers=alice.headers
    )
    assert response.status_code == 422
    assert "sample_id" in response.json["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 129}, "name"),
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": None}, "name"),
        ({"name": 5}, "name"),
        ({"name": "Ada", "colour": "blue"}, "colour"),
    ],
)
def test_creating_a_person_with_bad_input_is_422(client, alice, body, field):
    response = client.post(url(alice), json=body, headers=alice.headers)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert client.get(url(alice), headers=alice.headers).json == []


def test_a_name_of_128_characters_is_accepted(client, alice):
    assert create_person(client, alice, "x" * 128)["name"] == "x" * 128


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 129}, "name"),
        ({"name": ""}, "name"),
        ({"nickname": "Addy"}, "nickname"),
    ],
)
def test_patching_a_person_with_bad_input_is_422_and_changes_nothing(client, alice, body, field):
    person = create_person(client, alice, "Ada")
    response = client.patch(url(alice, person["id"]), json=body, headers=alice.headers)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert client.get(url(alice, person["id"]), headers=alice.headers).json["name"] == "Ada"


def test_patching_a_person_with_a_too_long_form_name_is_422(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.patch(
        url(alice, person["id"]),
        data={"name": "x" * 129},
        content_type="multipart/form-data",
        headers=alice.headers,
    )
    assert response.status_code == 422
    assert client.get(url(alice, person["id"]), headers=alice.headers).json["name"] == "Ada"


# Deleting ------------------------------------------------------------------------------------


def test_deleting_a_person_keeps_their_interactions_unattributed(client, alice):
    person = create_person(client, alice, "Ada")
    said = create_interaction(client, alice, "I said this", person_id=person["id"])
    response = client.delete(url(alice, person["id"]), headers=alice.headers)
    assert response.status_code == 204
    assert response.data == b""
    assert client.get(url(alice, person["id"]), headers=alice.headers).status_code == 404
    kept = client.get(f"{alice.prefix()}/interactions/{said['id']}", headers=alice.headers)
    assert kept.status_code == 200
    assert kept.json["text"] == "I said this"
    assert kept.json["person_id"] is None
    assert kept.json["speaker_id"] is None


def test_deleting_a_person_removes_their_voice_samples_and_conversation_links(client, alice, app):
    person = create_person(client, alice, "Ada")
    sample_id = insert_voice_sample(alice.network_id, person["id"])
    conversation_id = insert_conversation(alice.network_id, participants=[person["id"]])
    assert client.delete(url(alice, person["id"]), headers=alice.headers).status_code == 204
    assert fresh(VoiceSample, sample_id) is None
    conversation = client.get(
        f"{alice.prefix()}/conversations/{conversation_id}", headers=alice.headers
    ).json
    assert conversation["participants"] == []


def test_deleting_a_person_twice_answers_204_both_times(client, alice):
    person = create_person(client, alice, "Ada")
    assert client.delete(url(alice, person["id"]), headers=alice.headers).status_code == 204
    assert client.delete(url(alice, person["id"]), headers=alice.headers).status_code == 204


def test_deleting_a_person_leaves_the_others(client, alice):
    keep = create_person(client, alice, "Keep")
    drop = create_person(client, alice, "Drop")
    client.delete(url(alice, drop["id"]), headers=alice.headers)
    listed = client.get(url(alice), headers=alice.headers)
    assert [p["id"] for p in listed.json] == [keep["id"]]
    assert listed.headers["X-Total-Count"] == "1"


# Merging -------------------------------------------------------------------------------------


def test_merging_moves_interactions_samples_and_conversations(client, alice, app):
    source = create_person(client, alice, None)
    target = create_person(client, alice, "Ada")
    shared = insert_conversation(alice.network_id, participants=[source["id"], target["id"]])
    only_source = insert_conversation(alice.network_id, participants=[source["id"]])
    said = [
        create_interaction(client, alice, f"line {n}", person_id=source["id"]) for n in range(3)
    ]
    target_said = create_interaction(client, alice, "mine", person_id=target["id"])
    samples = [insert_voice_sample(alice.network_id, source["id"], seed=n) for n in range(2)]
    insert_voice_sample(alice.network_id, target["id"], seed=9)

    response = client.post(
        url(alice, source["id"], "merge"), json={"into": target["id"]}, headers=alice.headers
    )
    assert response.status_code == 200, response.json
    merged = response.json
    assert merged["id"] == target["id"]
    assert merged["name"] == "Ada"
    assert merged["interaction_count"] == 4
    assert merged["voice_sample_count"] == 3
    assert merged["is_enrolled"] is True
    assert merged["conversation_count"] == 2

    for interaction in [*said, target_said]:
        got = client.get(
            f"{alice.prefix()}/interactions/{interaction['id']}", headers=alice.headers
        ).json
        assert got["person_id"] == target["id"]
    listed = client.get(url(alice, target["id"], "voice-samples"), headers=alice.headers)
    assert set(samples) <= {s["id"] for s in listed.json}
    assert listed.headers["X-Total-Count"] == "3"
    for conversation_id in (shared, only_source):
        conversation = client.get(
            f"{alice.prefix()}/conversations/{conversation_id}", headers=alice.headers
        ).json
        assert conversation["participants"] == [target["id"]]


def test_the_merged_source_person_is_gone(client, alice):
    source = create_person(client, alice, "Dup")
    target = create_person(client, alice, "Ada")
    client.post(
        url(alice, source["id"], "merge"), json={"into": target["id"]}, headers=alice.headers
    )
    assert client.get(url(alice, source["id"]), headers=alice.headers).status_code == 404
    assert [p["id"] for p in client.get(url(alice), headers=alice.headers).json] == [target["id"]]
    again = client.post(
        url(alice, source["id"], "merge"), json={"into": target["id"]}, headers=alice.headers
    )
    assert again.status_code == 404


def test_merging_a_named_source_into_an_unnamed_target_keeps_the_name(client, alice):
    source = create_person(client, alice, "Known")
    target = create_person(client, alice, None)
    merged = client.post(
        url(alice, source["id"], "merge"), json={"into": target["id"]}, headers=alice.headers
    ).json
    assert merged["name"] == "Known"


def test_merging_a_person_into_itself_is_422(client, alice):
    person = create_person(client, alice, "Ada")
    create_interaction(client, alice, "mine", person_id=person["id"])
    response = client.post(
        url(alice, person["id"], "merge"), json={"into": person["id"]}, headers=alice.headers
    )
    assert response.status_code == 422
    assert "into" in response.json["errors"]
    assert (
        client.get(url(alice, person["id"]), headers=alice.headers).json["interaction_count"] == 1
    )


def test_merging_into_another_networks_person_is_404_and_moves_nothing(client, alice, bob):
    source = create_person(client, alice, "Ada")
    said = create_interaction(client, alice, "mine", person_id=source["id"])
    foreign = create_person(client, bob, "Bob's")
    response = client.post(
        url(alice, source["id"], "merge"), json={"into": foreign["id"]}, headers=alice.headers
    )
    assert response.status_code == 404
    assert client.get(url(alice, source["id"]), headers=alice.headers).status_code == 200
    got = client.get(f"{alice.prefix()}/interactions/{said['id']}", headers=alice.headers).json
    assert got["person_id"] == source["id"]
    assert client.get(url(bob, foreign["id"]), headers=bob.headers).json["interaction_count"] == 0


def test_merging_into_an_unknown_person_is_404(client, alice):
    source = create_person(client, alice, "Ada")
    response = client.post(
        url(alice, source["id"], "merge"), json={"into": str(uuid.uuid4())}, headers=alice.headers
    )
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{}, {"into": "nope"}, {"into": None}])
def test_merging_without_a_valid_target_is_422(client, alice, body):
    source = create_person(client, alice, "Ada")
    response = client.post(url(alice, source["id"], "merge"), json=body, headers=alice.headers)
    assert response.status_code == 422
    assert "into" in response.json["errors"]


# Voice samples --------------------------------------------------------------------------------


def test_voice_samples_are_listed_with_a_total(client, alice, app):
    person = create_person(client, alice, "Ada")
    samples = {
        insert_voice_sample(alice.network_id, person["id"], seed=n, expected_text=f"t{n}")
        for n in range(3)
    }
    response = client.get(url(alice, person["id"], "voice-samples"), headers=alice.headers)
    assert response.status_code == 200
    assert {s["id"] for s in response.json} == samples
    assert response.headers["X-Total-Count"] == "3"
    first = response.json[0]
    assert set(first) >= {"id", "person_id", "description", "expected_text", "created_at"}
    assert first["person_id"] == person["id"]
    assert "embedding" not in first
    page = client.get(url(alice, person["id"], "voice-samples") + "?limit=1", headers=alice.headers)
    assert len(page.json) == 1
    assert page.headers["X-Total-Count"] == "3"


def test_a_person_without_samples_lists_none(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.get(url(alice, person["id"], "voice-samples"), headers=alice.headers)
    assert response.json == []
    assert response.headers["X-Total-Count"] == "0"


def test_voice_samples_of_an_unknown_person_are_404(client, alice):
    response = client.get(url(alice, str(uuid.uuid4()), "voice-samples"), headers=alice.headers)
    assert response.status_code == 404


def test_deleting_voice_samples_updates_count_and_enrolment(client, alice, app):
    person = create_person(client, alice, "Ada")
    first = insert_voice_sample(alice.network_id, person["id"], seed=1)
    second = insert_voice_sample(alice.network_id, person["id"], seed=2)
    got = client.get(url(alice, person["id"]), headers=alice.headers).json
    assert (got["voice_sample_count"], got["is_enrolled"]) == (2, True)

    response = client.delete(
        url(alice, person["id"], "voice-samples", first), headers=alice.headers
    )
    assert response.status_code == 204
    got = client.get(url(alice, person["id"]) + "?include_embedding=true", headers=alice.headers)
    assert (got.json["voice_sample_count"], got.json["is_enrolled"]) == (1, True)
    assert got.json["voice_embedding"] is not None
    listed = client.get(url(alice, person["id"], "voice-samples"), headers=alice.headers).json
    assert [s["id"] for s in listed] == [second]

    client.delete(url(alice, person["id"], "voice-samples", second), headers=alice.headers)
    got = client.get(url(alice, person["id"]) + "?include_embedding=true", headers=alice.headers)
    assert (got.json["voice_sample_count"], got.json["is_enrolled"]) == (0, False)
    assert got.json["voice_embedding"] is None


def test_deleting_a_voice_sample_twice_answers_204(client, alice, app):
    person = create_person(client, alice, "Ada")
    sample = insert_voice_sample(alice.network_id, person["id"])
    path = url(alice, person["id"], "voice-samples", sample)
    assert client.delete(path, headers=alice.headers).status_code == 204
    assert client.delete(path, headers=alice.headers).status_code == 204


def test_a_sample_cannot_be_deleted_through_another_person(client, alice, app):
    owner = create_person(client, alice, "Ada")
    other = create_person(client, alice, "Grace")
    sample = insert_voice_sample(alice.network_id, owner["id"])
    response = client.delete(
        url(alice, other["id"], "voice-samples", sample), headers=alice.headers
    )
    assert response.status_code == 204
    assert fresh(VoiceSample, sample) is not None
    assert (
        client.get(url(alice, owner["id"]), headers=alice.headers).json["voice_sample_count"] == 1
    )


def test_deleting_a_person_through_the_api_drops_nothing_of_other_persons(client, alice, app):
    keep = create_person(client, alice, "Keep")
    drop = create_person(client, alice, "Drop")
    kept_sample = insert_voice_sample(alice.network_id, keep["id"])
    said = create_interaction(client, alice, "kept", person_id=keep["id"])
    client.delete(url(alice, drop["id"]), headers=alice.headers)
    assert fresh(VoiceSample, kept_sample) is not None
    assert str(fresh(Interaction, said["id"]).person_id) == keep["id"]
