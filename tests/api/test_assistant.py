"""What was said and what Mira did: transcripts, conversations, commands, actions."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mira.actions.models import Action
from mira.conversations.filing import file_interaction
from mira.conversations.models import Conversation
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs.models import Job
from mira.persons.models import Person
from tests.api.factories import create_interaction
from tests.audio_data import flite_speech, speech, wav_bytes


def say(client, alice, mic, samples, captured_at: str | None = None) -> dict:
    form = {"audio": (io.BytesIO(wav_bytes(samples)), "clip.wav"), "client_id": "kitchen"}
    if captured_at:
        form["captured_at"] = captured_at
    response = client.post(
        f"{alice.prefix()}/interactions/register?wait=20",
        data=form,
        headers=mic,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "succeeded", response.json
    return response.json


def events_of(client, alice, kind: str) -> list[dict]:
    body = client.get(f"{alice.prefix()}/events", headers=alice.headers).json
    return [e["data"] for e in body["events"] if e["type"] == kind]


def set_settings(client, alice, **settings):
    response = client.patch(
        f"/api/v1/networks/{alice.network_id}", json={"settings": settings}, headers=alice.headers
    )
    assert response.status_code == 200, response.json
    return response


def test_a_spoken_reminder_becomes_a_command_and_a_remind_action_at_five(client, alice, mic):
    set_settings(client, alice, timezone="Europe/Berlin")
    job = say(
        client,
        alice,
        mic,
        flite_speech("Mira, remind me to call mom at five."),
        captured_at="2026-03-02T14:00:00+01:00",
    )
    [interaction_id] = job["result"]["interaction_ids"]
    interaction = client.get(
        f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
    ).json
    assert interaction["interaction_type"] == "command"
    assert "remind me to call mom" in interaction["text"].lower()
    assert interaction["metadata"]["response"]
    assert interaction["metadata"]["assistant"]["intent"] == "remind"
    [action] = client.get(f"{alice.prefix()}/actions", headers=alice.headers).json
    assert action["action_type"] == "remind"
    assert action["interaction_id"] == interaction_id
    # 17:00 in Berlin (CET, +01:00) on the day it was said.
    assert action["scheduled_time"] == "2026-03-02T16:00:00Z"
    assert "call mom" in action["details"]["description"].lower()
    [created] = events_of(client, alice, "interaction.created")
    assert created["metadata"]["response"] == interaction["metadata"]["response"]
    assert [a["id"] for a in events_of(client, alice, "action.created")] == [action["id"]]


def test_stop_listening_disables_the_service(client, alice, mic):
    say(client, alice, mic, flite_speech("Mira, stop listening."))
    info = client.get(f"{alice.prefix()}/service/info", headers=mic).json
    assert info["service_enabled"] is False
    assert events_of(client, alice, "service.status")[-1] == {"service_enabled": False}
    refused = client.post(
        f"{alice.prefix()}/interactions/register",
        data={"audio": (io.BytesIO(wav_bytes(speech(0))), "a.wav"), "client_id": "kitchen"},
        headers=mic,
        content_type="multipart/form-data",
    )
    assert refused.status_code == 503


def test_speech_without_the_wake_word_is_transcribed_and_filed(client, alice, mic):
    job = say(client, alice, mic, speech(3))
    [interaction_id] = job["result"]["interaction_ids"]
    assert job["result"]["transcript"]["empty"] is False
    interaction = client.get(
        f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
    ).json
    assert interaction["interaction_type"] == "audio"
    assert len(interaction["text"].split()) >= 5
    assert interaction["language"] == "en"
    conversation = client.get(
        f"{alice.prefix()}/conversations/{interaction['conversation_id']}", headers=alice.headers
    ).json
    assert conversation["interaction_count"] == 1
    assert conversation["participants"] == [interaction["person_id"]]
    assert conversation["title"] and conversation["topic_summary"]
    assert events_of(client, alice, "conversation.updated")[-1]["id"] == conversation["id"]
    assert client.get(f"{alice.prefix()}/actions", headers=alice.headers).json == []


def test_running_the_analysis_again_acts_once(client, alice, mic, app):
    from jobs.runner import run_job

    job = say(client, alice, mic, flite_speech("Mira, remind me to call mom at five."))
    row = db.session.get(Job, uuid.UUID(job["id"]))
    row.status = "queued"
    db.session.commit()
    run_job(job["id"])
    assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Action)) == 1
    assert len(events_of(client, alice, "interaction.created")) == 1


def test_typed_commitments_become_actions_and_inference_does_not_duplicate(client, alice):
    interaction = create_interaction(
        client, alice, "Remind me to water the plants tomorrow morning"
    )
    [action] = client.get(f"{alice.prefix()}/actions", headers=alice.headers).json
    assert action["action_type"] == "remind"
    assert action["interaction_id"] == interaction["id"]
    response = client.post(
        f"{alice.prefix()}/interactions/{interaction['id']}/inference", headers=alice.headers
    )
    assert response.status_code == 202
    job = client.get(response.json["status_url"], headers=alice.headers).json
    assert job["kind"] == "inference" and job["status"] == "succeeded", job
    assert job["result"]["action_ids"] == []
    assert len(client.get(f"{alice.prefix()}/actions", headers=alice.headers).json) == 1


def test_small_talk_makes_no_action(client, alice):
    create_interaction(client, alice, "The weather was lovely yesterday, wasn't it?")
    assert client.get(f"{alice.prefix()}/actions", headers=alice.headers).json == []


def test_inference_on_an_unknown_interaction_is_404(client, alice):
    response = client.post(
        f"{alice.prefix()}/interactions/{uuid.uuid4()}/inference", headers=alice.headers
    )
    assert response.status_code == 404
    assert response.json["error_code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"timezone": "Mars/Olympus"}, "settings.timezone"),
        ({"wake_words": "mira"}, "settings.wake_words"),
        ({"conversation_gap_s": -5}, "settings.conversation_gap_s"),
        ({"speaker_threshold": 3}, "settings.speaker_threshold"),
    ],
)
def test_unusable_assistant_settings_are_422(client, alice, settings, field):
    response = client.patch(
        f"/api/v1/networks/{alice.network_id}", json={"settings": settings}, headers=alice.headers
    )
    assert response.status_code == 422
    assert field in response.json["errors"]


# -- conversation boundaries with controlled timestamps ----------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _heard(network_id, seconds: float, person: Person | None, settings=None) -> Interaction:
    interaction = Interaction(
        id=uuid.uuid4(),
        network_id=network_id,
        text="something",
        timestamp=T0 + timedelta(seconds=seconds),
        person_id=person.id if person else None,
        interaction_type="audio",
        meta={},
    )
    db.session.add(interaction)
    db.session.flush()
    file_interaction(interaction, settings)
    db.session.commit()
    return interaction


def test_conversations_split_on_gaps_and_sooner_when_the_speaker_changes(app, alice):
    network_id = uuid.UUID(alice.network_id)
    ada = Person(network_id=network_id, name="Ada", index=1)
    bo = Person(network_id=network_id, name="Bo", index=2)
    db.session.add_all([ada, bo])
    db.session.flush()
    # default gaps: 300 s, or 150 s when the speaker changes
    first = _heard(network_id, 0, ada)
    same_speaker_later = _heard(network_id, 250, ada)  # 250 s < 300 s: same conversation
    other_speaker_soon = _heard(network_id, 350, bo)  # 100 s < 150 s: same conversation
    other_speaker_late = _heard(network_id, 550, ada)  # 200 s > 150 s, speaker changed: new
    long_pause = _heard(network_id, 900, ada)  # 350 s > 300 s: new
    conversations = [
        i.conversation_id
        for i in (first, same_speaker_later, other_speaker_soon, other_speaker_late, long_pause)
    ]
    assert conversations[0] == conversations[1] == conversations[2]
    assert len(set(conversations)) == 3
    opening = db.session.get(Conversation, conversations[0])
    assert {p.id for p in opening.participants} == {ada.id, bo.id}
    assert opening.started_at == T0
    assert opening.ended_at == T0 + timedelta(seconds=350)
    active = db.session.scalars(
        db.select(Conversation.id).where(
            Conversation.is_active, Conversation.network_id == network_id
        )
    ).all()
    assert active == [conversations[4]]


def test_network_settings_change_the_conversation_gap(app, client, alice):
    set_settings(client, alice, conversation_gap_s=60)
    network_id = uuid.UUID(alice.network_id)
    from mira.networks.models import Network

    settings = db.session.get(Network, network_id).settings
    a = _heard(network_id, 0, None, settings)
    b = _heard(network_id, 90, None, settings)  # 90 s > the network's 60 s
    assert a.conversation_id != b.conversation_id


def test_a_conversation_stops_being_active_once_its_gap_has_passed(client, alice):
    from mira.types import utcnow
    from tests.api.factories import insert_conversation

    recent = insert_conversation(alice.network_id, started_at=utcnow() - timedelta(seconds=60))
    stale = insert_conversation(alice.network_id, started_at=utcnow() - timedelta(hours=2))

    def active(conversation_id: str) -> bool:
        return client.get(
            f"{alice.prefix()}/conversations/{conversation_id}", headers=alice.headers
        ).json["is_active"]

    assert active(recent) is True
    assert active(stale) is False  # 2 h > the 300 s gap: the next utterance starts anew
    set_settings(client, alice, conversation_gap_s=30)
    assert active(recent) is False


def test_a_bare_stop_listening_is_filed_as_a_command_candidate_with_its_event(client, alice, mic):
    """The wake word lost: Mira keeps listening, but files the evidence and tells the client."""
    job = say(client, alice, mic, flite_speech("Stop listening."))
    [interaction_id] = job["result"]["interaction_ids"]
    interaction = client.get(
        f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
    ).json
    assert interaction["interaction_type"] == "audio"
    wake = interaction["metadata"]["wake"]
    assert wake["status"] == "candidate" and wake["word"] == "mira"
    assert "stop listening" in wake["command"].lower()
    [candidate] = events_of(client, alice, "interaction.wake_candidate")
    assert candidate["id"] == interaction_id and candidate["wake"] == wake
    info = client.get(f"{alice.prefix()}/service/info", headers=mic).json
    assert info["service_enabled"] is True


def test_a_networks_own_wake_word_starts_a_command(client, alice, mic):
    set_settings(client, alice, wake_words=["computer"])
    job = say(client, alice, mic, flite_speech("Computer, what time is it?"))
    [interaction_id] = job["result"]["interaction_ids"]
    interaction = client.get(
        f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
    ).json
    assert interaction["interaction_type"] == "command"
    assert interaction["metadata"]["assistant"]["intent"] == "time"
    assert not events_of(client, alice, "interaction.wake_candidate")
