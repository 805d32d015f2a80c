"""Voice profiles of a network's persons, and who spoke an utterance.

Profiles are robust aggregates of voice samples (`mira.audio.speakers.aggregate`). An
utterance is attributed to the most similar profile of its own network when the similarity
reaches the network's threshold (`settings.speaker_threshold`, default 0.75); otherwise a new
unnamed person is created for the voice, so a stranger who speaks again is recognised as the
same "Person N". Confident matches teach the profile, up to a bounded number of samples.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from mira import audit
from mira.events import services as events
from mira.extensions import db
from mira.networks.models import Network
from mira.persons.models import Person, VoiceSample

if TYPE_CHECKING:  # numpy stays out of the web process
    import numpy as np

MIN_SPEECH_S = 1.0  # shorter speech gives unreliable embeddings: left unattributed
LEARN_MARGIN = 0.05  # learn from a match only this far above the threshold


def threshold_for(network: Network) -> float:
    from mira.audio.speakers import DEFAULT_THRESHOLD

    value = (network.settings or {}).get("speaker_threshold")
    return float(value) if isinstance(value, int | float) and 0 < value < 1 else DEFAULT_THRESHOLD


def _profiles(network_id: uuid.UUID) -> list[tuple[uuid.UUID, np.ndarray]]:
    from mira.audio.embedding import from_bytes

    rows = db.session.execute(
        db.select(Person.id, Person.voice_embedding).where(
            Person.network_id == network_id, Person.voice_embedding.is_not(None)
        )
    ).all()
    return [(person_id, from_bytes(blob)) for person_id, blob in rows]


def profiles_by_key(network_id: uuid.UUID) -> dict[str, np.ndarray]:
    """The network's voice profiles keyed by person id (text), for diarization."""
    return {str(person_id): vector for person_id, vector in _profiles(network_id)}


def refresh_profile(person: Person) -> None:
    """Recompute a person's profile and sample count from their samples."""
    from mira.audio.embedding import from_bytes, to_bytes
    from mira.audio.speakers import aggregate

    blobs = db.session.scalars(
        db.select(VoiceSample.embedding).where(VoiceSample.person_id == person.id)
    ).all()
    vectors = [from_bytes(b) for b in blobs if b]
    person.voice_sample_count = len(blobs)
    person.voice_embedding = to_bytes(aggregate(vectors)) if vectors else None


def _add_sample(person: Person, embedding: np.ndarray, interaction_id: uuid.UUID, speech_s: float):
    from mira.audio.embedding import to_bytes
    from mira.audio.speakers import MAX_SAMPLES

    learned = db.session.scalar(
        db.select(db.func.count())
        .select_from(VoiceSample)
        .where(VoiceSample.person_id == person.id, VoiceSample.source == "learned")
    )
    if learned >= MAX_SAMPLES:
        return
    db.session.add(
        VoiceSample(
            network_id=person.network_id,
            person_id=person.id,
            embedding=to_bytes(embedding),
            source="learned",
            interaction_id=interaction_id,
            speech_s=round(speech_s, 3),
        )
    )
    db.session.flush()
    refresh_profile(person)


def attribute(
    network: Network,
    embedding: np.ndarray,
    speech_s: float,
    heard_at: datetime,
    interaction_id: uuid.UUID,
) -> tuple[uuid.UUID | None, float | None]:
    """(person id, similarity) for an utterance; stages rows without committing.

    Call it inside `network_lock`, and commit together with the interaction, so two
    utterances of one new voice never make two persons.
    """
    from mira.audio.speakers import identify
    from mira.persons.services import add_person, event_data

    if speech_s < MIN_SPEECH_S:
        return None, None
    threshold = threshold_for(network)
    match = identify(embedding, _profiles(network.id), threshold)
    if match.key is not None:
        person = db.session.get(Person, match.key)
        confidence: float | None = round(match.score, 4)
        if match.score >= threshold + LEARN_MARGIN:
            _add_sample(person, embedding, interaction_id, speech_s)
        created = False
    else:
        person = add_person(network.id, None)
        _add_sample(person, embedding, interaction_id, speech_s)
        confidence, created = None, True
    if person.last_heard_at is None or heard_at > person.last_heard_at:
        person.last_heard_at = heard_at
    db.session.flush()
    events.record(network.id, "person.created" if created else "person.updated", event_data(person))
    return person.id, confidence


def _moved(sample: VoiceSample) -> dict[str, str | None]:
    return {"source": sample.source, "interaction": str(sample.interaction_id)}


def move_utterance_voice(
    interaction_id: uuid.UUID, old_person_id: uuid.UUID | None, new_person_id: uuid.UUID | None
) -> None:
    """After a speaker correction, the sample learned from that utterance follows it (or is
    dropped when the utterance is unattributed), and both profiles are recomputed."""
    sample = db.session.scalar(
        db.select(VoiceSample).where(VoiceSample.interaction_id == interaction_id)
    )
    if sample is None:
        return
    if new_person_id is None:
        db.session.delete(sample)
        audit.record(sample.network_id, None, "voice_sample.removed", sample.id, _moved(sample))
    else:
        sample.person_id = new_person_id
        audit.record(sample.network_id, None, "voice_sample.moved", sample.id, _moved(sample))
    db.session.flush()
    for person_id in {old_person_id, new_person_id} - {None}:
        person = db.session.get(Person, person_id)
        if person is not None:
            refresh_profile(person)
