"""Who spoke, in a real room, through the worker's own path: undecided utterances, no phantom
persons from noisy clips, undecided clips settled later, and profiles that never drift.

Speech comes from tests/data; noise is made by sox at test time."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import numpy as np

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.networks.models import Network
from mira.persons import voices
from mira.persons.models import Person, VoiceSample
from mira.types import utcnow
from tests.api.factories import upload_utterance
from tests.audio_data import SR, sox_noise, speech, wav_bytes
from tests.unit.audio.test_speaker_decision import cut, files_of, mix


def _babble(*indices: int, repeat: int = 3) -> np.ndarray:
    """Voices talking at once: utterances summed (cut to the shortest), repeated."""
    clips = [speech(i) for i in indices]
    shortest = min(len(c) for c in clips)
    return np.tile(np.sum([c[:shortest] for c in clips], axis=0), repeat).astype(np.float32)


def _enrolment_files(speaker: int) -> list[int]:
    """Three utterances long enough to enrol (some hold under the 2 s enrolment needs)."""
    return [i for i in files_of(speaker) if len(speech(i)) > 4 * SR][:3]


def _others(speaker: int) -> list[int]:
    return [i for i in files_of(speaker) if i not in _enrolment_files(speaker)]


def _enrol(client, account, speaker: int) -> str:
    person = client.post(
        f"{account.prefix()}/persons", json={"name": f"S{speaker}"}, headers=account.headers
    ).json
    for index in _enrolment_files(speaker):
        response = client.post(
            f"{account.prefix()}/persons/{person['id']}/voice",
            data={"audio_file": (io.BytesIO(wav_bytes(speech(index))), "v.wav")},
            headers=account.headers,
            content_type="multipart/form-data",
        )
        job = client.get(response.json["status_url"], headers=account.headers).json
        assert job["status"] == "succeeded", job
    return person["id"]


def test_a_noisy_short_clip_of_a_new_voice_makes_no_phantom_person(client, alice, mic):
    noisy = mix(cut(files_of(6)[2], 3.0), sox_noise("pinknoise", 20, 0.5), 10, seed=0)
    heard = upload_utterance(client, alice, mic, noisy)
    assert heard["person_id"] is None
    speaker = heard["metadata"]["speaker"]
    assert speaker["decision"] == "undecided" and speaker["reason"] == "too_noisy", speaker
    assert speaker["snr_db"] < 20
    assert db.session.scalar(db.select(db.func.count()).select_from(Person)) == 0


def test_a_new_voice_gets_its_noisy_copy_from_the_same_forward_pass(
    client, alice, mic, lstm_batches
):
    """A clean clip that creates a person is stored with its noisy copy; the copy's windows
    went through the encoder with the clip's own (one pass, twice the windows), so creating a
    person costs the speaker stage no second run of the encoder."""
    from mira.audio.augment import ANALYSIS_KINDS
    from mira.audio.embedding import from_bytes

    heard = upload_utterance(client, alice, mic, cut(files_of(6)[0], 3.0))
    assert heard["metadata"]["speaker"]["decision"] == "new", heard["metadata"]["speaker"]
    [sample] = db.session.scalars(db.select(VoiceSample)).all()
    rows = from_bytes(sample.embedding).reshape(-1, 256)
    assert len(rows) == 1 + len(ANALYSIS_KINDS)
    assert 0.5 < float(rows[0] @ rows[1]) < 0.99  # the same voice, heard through noise
    assert len(lstm_batches) == 1, lstm_batches
    assert lstm_batches[0] % (1 + len(ANALYSIS_KINDS)) == 0, lstm_batches


def test_a_noisy_clip_embeds_no_copy(client, alice, mic, lstm_batches):
    """A clip too noisy to create or teach anyone pays for no noisy copy."""
    noisy = mix(cut(files_of(6)[2], 3.0), sox_noise("pinknoise", 20, 0.5), 10, seed=0)
    heard = upload_utterance(client, alice, mic, noisy)
    assert heard["metadata"]["speaker"]["decision"] == "undecided"
    assert len(lstm_batches) == 1 and lstm_batches[0] <= 4, lstm_batches  # its own windows


def test_enrolment_keeps_noisy_copies_but_the_api_shows_the_clean_profile(client, alice):
    from mira.audio.augment import ENROLMENT_KINDS

    person_id = _enrol(client, alice, 7)
    samples = db.session.scalars(db.select(VoiceSample)).all()
    rows = 1 + len(ENROLMENT_KINDS)  # the sample, speech-shaped, pink and self-made babble
    assert len(samples) == 3 and all(len(s.embedding) == rows * 256 * 4 for s in samples)
    shown = client.get(
        f"{alice.prefix()}/persons/{person_id}?include_embedding=true", headers=alice.headers
    ).json
    import base64

    assert len(base64.b64decode(shown["voice_embedding"])) == 256 * 4


def test_a_confident_clip_settles_earlier_undecided_ones_of_the_same_voice(client, alice, mic):
    person_id = _enrol(client, alice, 8)
    babble = _babble(files_of(2)[1], files_of(3)[1])
    unsure = upload_utterance(client, alice, mic, mix(cut(_others(8)[1], 1.6), babble, 0, seed=2))
    speaker = unsure["metadata"]["speaker"]
    assert unsure["person_id"] is None and speaker["decision"] == "undecided", speaker
    assert speaker["candidate"] == person_id, speaker
    cursor = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["cursor"]
    sure = upload_utterance(
        client, alice, mic, speech(max(_others(8), key=lambda i: len(speech(i))))
    )
    assert sure["person_id"] == person_id
    assert sure["metadata"]["speaker"].get("confident") is True, sure["metadata"]["speaker"]
    assert sure["conversation_id"] == unsure["conversation_id"]
    settled = client.get(
        f"{alice.prefix()}/interactions/{unsure['id']}", headers=alice.headers
    ).json
    assert settled["person_id"] == person_id
    assert settled["metadata"]["speaker"]["decision"] == "settled"
    assert settled["metadata"]["speaker"]["settled_by"] == sure["id"]
    events = client.get(f"{alice.prefix()}/events?after={cursor}", headers=alice.headers).json[
        "events"
    ]
    updated = [e for e in events if e["type"] == "interaction.updated"]
    assert [e["data"]["id"] for e in updated] == [unsure["id"]]
    assert updated[0]["data"]["person_id"] == person_id


def test_a_long_mixed_stream_never_drifts_a_profile(app, alice):
    """Two enrolled speakers and two strangers, 56 utterances in six conditions (clean, cut
    short, pink, brown and babble noise down to 5 dB), interleaved, through `attribute`: only
    clean, confident clips of the right person teach, no noisy clip makes a person, and each
    profile stays where its enrolment put it."""
    from mira.audio.augment import ANALYSIS_KINDS
    from mira.audio.denoise import high_pass
    from mira.audio.embedding import encoder, from_bytes, to_bytes
    from mira.audio.quality import speech_snr_db
    from mira.audio.speakers_batch import sample_rows
    from mira.audio.vad import find_speech
    from mira.persons.services import add_person

    network = db.session.get(Network, uuid.UUID(alice.network_id))
    enrolled = {0: None, 1: None}
    for speaker in enrolled:
        person = add_person(network.id, f"S{speaker}")
        for index in files_of(speaker)[:3]:
            clean = high_pass(speech(index))
            rows = sample_rows(encoder(), find_speech(clean).samples(clean))
            db.session.add(
                VoiceSample(
                    network_id=network.id,
                    person_id=person.id,
                    embedding=to_bytes(rows),
                    source="enrolled",
                )
            )
        db.session.flush()
        voices.refresh_profile(person)
        enrolled[speaker] = person.id
    db.session.commit()
    before = {
        s: voices._voice(db.session.get(Person, p).voice_embedding) for s, p in enrolled.items()
    }

    pink, brown = sox_noise("pinknoise", 30, 0.5), sox_noise("brownnoise", 30, 0.5)
    babble = _babble(files_of(5)[0], files_of(6)[0], repeat=4)
    conditions = [  # (seconds, noise, snr): clean conditions may teach, the others never
        (None, None, None),
        (3.0, None, None),
        (3.0, pink, 10),
        (1.6, brown, 5),
        (3.0, babble, 5),
        (None, pink, 10),
    ]
    stream = [
        (speaker, index, conditions[(k + speaker) % len(conditions)])
        for speaker in (0, 1, 2, 3)
        for k, index in enumerate(
            files_of(speaker)[3:] if speaker in enrolled else files_of(speaker)[:7]
        )
    ]
    order = np.random.default_rng(7).permutation(len(stream))
    truth, clean_clips = {}, set()
    heard_at = utcnow()
    for step, k in enumerate(order):
        speaker, index, (seconds, noise, snr) = stream[k]
        audio = cut(index, seconds)
        if noise is not None:
            audio = mix(audio, noise, snr, seed=step)
        clean = high_pass(audio)
        report = find_speech(clean)
        if not report.has_speech:
            continue
        voiced = report.samples(clean)
        embedding = encoder().embed(voiced)
        interaction = Interaction(id=uuid.uuid4(), network_id=network.id, meta={})
        db.session.add(interaction)
        db.session.flush()
        said = voices.attribute(
            network,
            embedding,
            report.segments[-1].end_s - report.segments[0].start_s,
            heard_at + timedelta(seconds=step),
            interaction.id,
            snr_db=speech_snr_db(clean, report.segments),
            copies=lambda s=voiced, e=embedding: sample_rows(encoder(), s, ANALYSIS_KINDS, e),
        )
        interaction.person_id = said.person_id
        db.session.commit()
        truth[interaction.id] = speaker
        if noise is None and (seconds is None or seconds >= 3.0):
            clean_clips.add(interaction.id)

    by_person: dict[uuid.UUID, set[int]] = {}
    for interaction in db.session.scalars(db.select(Interaction)):
        if interaction.person_id is not None:
            by_person.setdefault(interaction.person_id, set()).add(truth[interaction.id])
    for speaker, person_id in enrolled.items():
        assert by_person.get(person_id, set()) <= {speaker}, "attributed to the wrong person"
        assert by_person.get(person_id), "the enrolled speaker was never recognised"
    for speakers in by_person.values():
        assert len(speakers) == 1, "a person holds two voices"
    learned = db.session.scalars(db.select(VoiceSample).where(VoiceSample.source == "learned"))
    learned = list(learned)
    assert learned, "nothing was learned from the clean clips"
    for sample in learned:
        assert sample.interaction_id in clean_clips, "learned from a noisy or short clip"
        person = db.session.get(Person, sample.person_id)
        assert {truth[sample.interaction_id]} == by_person[person.id]
    created = db.session.scalars(db.select(Person).where(Person.name.is_(None))).all()
    for person in created:  # new persons: only strangers, only from clean clips
        first = min((s for s in learned if s.person_id == person.id), key=lambda s: s.created_at)
        assert first.interaction_id in clean_clips
        assert by_person[person.id] <= {2, 3}
    after = {
        s: voices._voice(db.session.get(Person, p).voice_embedding) for s, p in enrolled.items()
    }
    for speaker in enrolled:
        assert float(after[speaker].clean @ before[speaker].clean) >= 0.97
        assert float(after[speaker].noisy @ before[speaker].noisy) >= 0.95
    # Each profile still tells its own voice from the other's, on every clean utterance.
    for speaker in enrolled:
        for index in files_of(speaker):
            clean = high_pass(speech(index))
            embedding = encoder().embed(find_speech(clean).samples(clean))
            scores = {s: float(embedding @ v.clean) for s, v in after.items()}
            assert max(scores, key=scores.get) == speaker, (speaker, index, scores)
    assert len(from_bytes(learned[0].embedding)) in (256, 512)
