"""Who is speaking: uploads are attributed to persons of their own network by voice."""

from __future__ import annotations

import io
import uuid

import pytest

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.persons.models import Person, VoiceSample
from tests.api.factories import upload_utterance
from tests.audio_data import speech, speech_files, wav_bytes


def _files_of(speaker_rank: int) -> list[int]:
    """Indexes of the shared files of the n-th speaker (in folder order)."""
    files = speech_files()
    names = sorted({p.parent.name for p in files})
    return [i for i, p in enumerate(files) if p.parent.name == names[speaker_rank]]


def test_a_new_voice_becomes_person_one_and_is_recognised_again(client, alice, mic):
    first, second = _files_of(0)[:2]
    heard = upload_utterance(client, alice, mic, speech(first))
    assert heard["person_id"] is not None and heard["speaker_id"] == heard["person_id"]
    assert heard["confidence"] is None  # a new voice: nobody to compare with
    person = client.get(
        f"{alice.prefix()}/persons/{heard['person_id']}", headers=alice.headers
    ).json
    assert (person["name"], person["index"], person["voice_sample_count"]) == (None, 1, 1)
    assert person["last_heard_at"] == heard["timestamp"]
    again = upload_utterance(client, alice, mic, speech(second))
    assert again["person_id"] == heard["person_id"]
    assert again["confidence"] >= 0.75
    events = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["events"]
    assert [e["type"] for e in events].count("person.created") == 1


def test_two_strangers_become_two_persons(client, alice, mic):
    a = upload_utterance(client, alice, mic, speech(_files_of(1)[0]))
    b = upload_utterance(client, alice, mic, speech(_files_of(2)[0]))
    a2 = upload_utterance(client, alice, mic, speech(_files_of(1)[1]))
    assert a["person_id"] != b["person_id"]
    assert a2["person_id"] == a["person_id"]
    indexes = sorted(p.index for p in db.session.scalars(db.select(Person)))
    assert indexes == [1, 2]


def test_a_voice_known_in_one_network_is_new_in_another(client, alice, bob, mic, device_key):
    first, second = _files_of(3)[:2]
    in_alice = upload_utterance(client, alice, mic, speech(first))
    bob_key = client.post(
        f"{bob.prefix()}/service/keys", json={"name": "mic"}, headers=bob.headers
    ).json["key"]
    bob_mic = {"X-API-Key": bob_key}
    client.post(f"{bob.prefix()}/service/client/register/kitchen", headers=bob_mic)
    in_bob = upload_utterance(client, bob, bob_mic, speech(second))
    assert in_bob["person_id"] != in_alice["person_id"]
    assert in_bob["confidence"] is None  # Bob's network had no profile to match
    owner = db.session.get(Person, uuid.UUID(in_bob["person_id"])).network_id
    assert str(owner) == bob.network_id


def test_deleting_a_person_deletes_their_voice_data(client, alice, mic):
    heard = upload_utterance(client, alice, mic, speech(_files_of(4)[0]))
    assert db.session.scalar(db.select(db.func.count()).select_from(VoiceSample)) == 1
    client.delete(f"{alice.prefix()}/persons/{heard['person_id']}", headers=alice.headers)
    assert db.session.scalar(db.select(db.func.count()).select_from(VoiceSample)) == 0
    kept = client.get(f"{alice.prefix()}/interactions/{heard['id']}", headers=alice.headers).json
    assert kept["person_id"] is None  # the interaction stays, unattributed


def test_short_speech_is_left_unattributed(client, alice, mic):
    import numpy as np

    # 0.8 s cut from the middle of an utterance, then silence: speech, but under a second.
    clip = np.concatenate([speech(_files_of(5)[0])[24000:36800], np.zeros(16000, dtype=np.float32)])
    response = client.post(
        f"{alice.prefix()}/interactions/register?wait=10",
        data={"audio": (io.BytesIO(wav_bytes(clip)), "a.wav"), "client_id": "kitchen"},
        headers=mic,
        content_type="multipart/form-data",
    )
    result = response.json["result"]
    [interaction_id] = result["interaction_ids"]
    assert 0.3 <= result["speech_s"] < 1.0
    interaction = client.get(
        f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
    ).json
    assert interaction["person_id"] is None
    assert db.session.scalar(db.select(db.func.count()).select_from(Person)) == 0


def test_a_speaker_correction_moves_the_voice_to_the_right_profile(client, alice, mic):
    stranger = upload_utterance(client, alice, mic, speech(_files_of(6)[0]))
    named = client.post(
        f"{alice.prefix()}/persons", json={"name": "Ann"}, headers=alice.headers
    ).json
    response = client.patch(
        f"{alice.prefix()}/interactions/{stranger['id']}",
        json={"person_id": named["id"]},
        headers=alice.headers,
    )
    assert response.status_code == 200 and response.json["person_id"] == named["id"]
    ann = client.get(f"{alice.prefix()}/persons/{named['id']}", headers=alice.headers).json
    old = client.get(
        f"{alice.prefix()}/persons/{stranger['person_id']}", headers=alice.headers
    ).json
    assert (ann["voice_sample_count"], ann["is_enrolled"]) == (1, True)
    assert (old["voice_sample_count"], old["is_enrolled"]) == (0, False)
    # Ann's next utterance is now recognised as Ann's.
    again = upload_utterance(client, alice, mic, speech(_files_of(6)[1]))
    assert again["person_id"] == named["id"]


def test_merging_persons_merges_their_voice_profiles(client, alice, mic):
    first = upload_utterance(client, alice, mic, speech(_files_of(7)[0]))
    named = client.post(
        f"{alice.prefix()}/persons", json={"name": "Bo"}, headers=alice.headers
    ).json
    merged = client.post(
        f"{alice.prefix()}/persons/{first['person_id']}/merge",
        json={"into": named["id"]},
        headers=alice.headers,
    ).json
    assert merged["voice_sample_count"] == 1 and merged["is_enrolled"] is True
    assert upload_utterance(client, alice, mic, speech(_files_of(7)[1]))["person_id"] == named["id"]


def _enrol(client, account, person_id: str, index: int, field: str = "audio_file"):
    return client.post(
        f"{account.prefix()}/persons/{person_id}/voice",
        data={field: (io.BytesIO(wav_bytes(speech(index))), "v.wav"), "description": "hello"},
        headers=account.headers,
        content_type="multipart/form-data",
    )


def test_enrolled_person_is_recognised_by_name(client, alice, mic):
    ann = client.post(f"{alice.prefix()}/persons", json={"name": "Ann"}, headers=alice.headers).json
    for index in _files_of(8)[1:4]:  # the first file holds under 2 s of speech
        response = _enrol(client, alice, ann["id"], index)
        assert response.status_code == 202, response.json
        job = client.get(response.json["status_url"], headers=alice.headers).json
        assert (job["kind"], job["status"]) == ("enroll", "succeeded"), job
    person = client.get(f"{alice.prefix()}/persons/{ann['id']}", headers=alice.headers).json
    assert (person["voice_sample_count"], person["is_enrolled"]) == (3, True)
    samples = client.get(
        f"{alice.prefix()}/persons/{ann['id']}/voice-samples", headers=alice.headers
    ).json
    assert {s["source"] for s in samples} == {"enrolled"}
    assert all(s["description"] == "hello" and s["speech_s"] >= 2 for s in samples)
    heard = upload_utterance(client, alice, mic, speech(_files_of(8)[5]))
    assert heard["person_id"] == ann["id"] and heard["confidence"] >= 0.75
    stranger = upload_utterance(client, alice, mic, speech(_files_of(9)[0]))
    assert stranger["person_id"] != ann["id"]


def test_enrolment_needs_two_seconds_of_speech(client, alice):
    import numpy as np

    ann = client.post(f"{alice.prefix()}/persons", json={"name": "Ann"}, headers=alice.headers).json
    short = np.concatenate([speech(0)[24000:40000], np.zeros(8000, dtype=np.float32)])
    response = client.post(
        f"{alice.prefix()}/persons/{ann['id']}/voice",
        data={"audio": (io.BytesIO(wav_bytes(short)), "v.wav")},
        headers=alice.headers,
        content_type="multipart/form-data",
    )
    job = client.get(response.json["status_url"], headers=alice.headers).json
    assert job["status"] == "failed" and job["error"].startswith("TOO_SHORT"), job
    assert job["attempts"] == 1
    person = client.get(f"{alice.prefix()}/persons/{ann['id']}", headers=alice.headers).json
    assert person["voice_sample_count"] == 0


@pytest.mark.parametrize(
    "data, status",
    [({}, 400), ({"audio": (io.BytesIO(b'{"json": 1}'), "x.json")}, 415)],
)
def test_bad_enrolment_uploads_are_refused(client, alice, data, status):
    ann = client.post(f"{alice.prefix()}/persons", json={"name": "Ann"}, headers=alice.headers).json
    response = client.post(
        f"{alice.prefix()}/persons/{ann['id']}/voice",
        data=data,
        headers=alice.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == status, response.json


def test_enrolling_someone_of_another_network_is_404(client, alice, bob):
    ann = client.post(f"{alice.prefix()}/persons", json={"name": "Ann"}, headers=alice.headers).json
    response = _enrol(client, bob, ann["id"], 0)
    assert response.status_code == 404


def test_legacy_update_renames_and_enrols(client, alice):
    person = client.post(
        f"{alice.prefix()}/persons", json={"name": "A"}, headers=alice.headers
    ).json
    response = client.post(
        f"{alice.prefix()}/persons/{person['id']}/update",
        data={"name": "Ann", "audio": (io.BytesIO(wav_bytes(speech(_files_of(8)[1]))), "a.wav")},
        headers=alice.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Ann"
    assert response.json["voice_sample_count"] == 1  # the sync queue enrolled it already
    renamed = client.post(
        f"{alice.prefix()}/persons/{person['id']}/update",
        data={"name": "Bo"},
        headers=alice.headers,
        content_type="multipart/form-data",
    )
    assert renamed.json["name"] == "Bo" and renamed.json["voice_sample_count"] == 1


def test_the_threshold_is_a_network_setting(client, alice, mic):
    """A stricter network threshold turns a match into a new unnamed person."""
    first = upload_utterance(client, alice, mic, speech(_files_of(0)[1]))
    client.patch(
        f"/api/v1/networks/{alice.network_id}",
        json={"settings": {"speaker_threshold": 0.999}},
        headers=alice.headers,
    )
    second = upload_utterance(client, alice, mic, speech(_files_of(0)[2]))
    assert second["person_id"] != first["person_id"]
    client.patch(
        f"/api/v1/networks/{alice.network_id}",
        json={"settings": {"speaker_threshold": None}},
        headers=alice.headers,
    )
    third = upload_utterance(client, alice, mic, speech(_files_of(0)[3]))
    assert third["person_id"] in {first["person_id"], second["person_id"]}


def test_expected_text_is_compared_with_what_was_heard(client, alice):
    from tests.audio_data import flite_speech

    ann = client.post(f"{alice.prefix()}/persons", json={"name": "Ann"}, headers=alice.headers).json
    sentence = "The quick brown fox jumps over the lazy dog near the river bank."
    results = {}
    for label, expected in (("read", sentence), ("other", "Please pass me the salt and pepper.")):
        response = client.post(
            f"{alice.prefix()}/persons/{ann['id']}/voice",
            data={
                "audio_file": (io.BytesIO(wav_bytes(flite_speech(sentence))), "v.wav"),
                "expected_text": expected,
            },
            headers=alice.headers,
            content_type="multipart/form-data",
        )
        job = client.get(response.json["status_url"], headers=alice.headers).json
        assert job["status"] == "succeeded", job
        results[label] = job["result"]["expected_text"]
    assert results["read"]["matches"] is True
    assert results["read"]["word_error_rate"] <= 0.35
    assert "fox" in results["read"]["heard"].lower()
    assert results["other"]["matches"] is False
    assert results["other"]["word_error_rate"] > 0.5


def _conversation(*indices: int, pause_s: float = 0.6):
    import numpy as np

    silence = np.zeros(int(pause_s * 16_000), dtype=np.float32)
    pieces, starts, at = [], [], 0.0
    for n, index in enumerate(indices):
        if n:
            pieces.append(silence)
            at += pause_s
        starts.append(at)
        pieces.append(speech(index))
        at += len(speech(index)) / 16_000
    return np.concatenate(pieces), starts


def test_a_recorded_conversation_becomes_one_interaction_per_turn(client, alice, mic):
    """One microphone hears A, then B, then A again: three interactions in order, A's two
    turns on one person, each turn with its offsets and its own words."""
    a, b = _files_of(2)[1], _files_of(5)[1]
    audio, starts = _conversation(a, b, _files_of(2)[2])
    response = client.post(
        f"{alice.prefix()}/interactions/register?wait=30",
        data={"audio": (io.BytesIO(wav_bytes(audio)), "c.wav"), "client_id": "kitchen"},
        headers=mic,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    ids = response.json["result"]["interaction_ids"]
    assert len(ids) == 3, response.json["result"]
    turns = [
        client.get(f"{alice.prefix()}/interactions/{i}", headers=alice.headers).json for i in ids
    ]
    assert all(len(t["text"].split()) >= 3 for t in turns), [t["text"] for t in turns]
    assert len({t["text"] for t in turns}) == 3
    people = [t["person_id"] for t in turns]
    assert people[0] == people[2] != people[1]
    assert None not in people
    assert all(t["duration_s"] > 1.0 for t in turns)
    rows = db.session.scalars(
        db.select(Interaction).where(Interaction.id.in_([uuid.UUID(i) for i in ids]))
    ).all()
    by_turn = sorted(rows, key=lambda r: r.turn_index)
    assert [r.turn_index for r in by_turn] == [0, 1, 2]
    for row, start in zip(by_turn, starts, strict=True):
        assert abs(row.start_s - start) < 0.6, (row.start_s, start)
    assert by_turn[0].timestamp < by_turn[1].timestamp < by_turn[2].timestamp
    assert len({r.conversation_id for r in rows}) == 1
