"""Voice profiles of a network's persons, and who spoke an utterance.

A profile (`mira.audio.speakers.Voice`) has a clean centre — the robust mean of the person's
voice samples — and a noisy one, from the same samples embedded again with household noise
added; `Person.voice_embedding` stores the clean centre (what the API shows), then the noisy one.
Each sample is stored as its embedding followed by its noisy copies' embeddings.

An utterance goes to the person `mira.audio.speakers.decide` names: thresholds that depend on
how much speech it holds and how noisy it is, shifted by the network's
`settings.speaker_threshold` (default 0.75). When it cannot tell — too short, too noisy, or too
close to call — nobody is attributed and `metadata.speaker` of the interaction says why, with
the scores; a new unnamed person is created only for a voice heard long and clean enough that
resembles no profile. Only confident, clean matches teach a profile (at most `MAX_SAMPLES`
learned samples), so it never drifts toward noise or toward someone else. Once a voice is
recognised confidently, the undecided utterances of the same conversation whose best candidate
was that person are settled (`pipeline.analysis.settle_undecided`: it reaches conversations and
interactions, so the pipeline does it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mira import audit
from mira.events import services as events
from mira.extensions import db
from mira.networks.models import Network
from mira.persons.models import Person, VoiceSample

if TYPE_CHECKING:  # numpy stays out of the web process
    from collections.abc import Callable

    import numpy as np

    from mira.audio.speakers import Calibration, Voice

MIN_SPEECH_S = 1.0  # = mira.audio.speakers.MIN_SPEECH_S (kept here: no numpy in the web process)
# Noisy copies are made for at most this many learned samples of a person (each costs two more
# embeddings in the analysis job; enrolled samples always get them).
MAX_AUGMENTED_LEARNED = 5
EMBEDDING_BYTES = 256 * 4


def threshold_for(network: Network) -> float:
    from mira.audio.speakers import DEFAULT_THRESHOLD

    value = (network.settings or {}).get("speaker_threshold")
    return float(value) if isinstance(value, int | float) and 0 < value < 1 else DEFAULT_THRESHOLD


def calibration_for(network: Network) -> Calibration:
    """The decision's thresholds, moved as far as the network moved its threshold from 0.75."""
    from mira.audio.speakers import DEFAULT_CALIBRATION, DEFAULT_THRESHOLD

    return DEFAULT_CALIBRATION.shifted(threshold_for(network) - DEFAULT_THRESHOLD)


def _voice(blob: bytes) -> Voice:
    from mira.audio.embedding import from_bytes
    from mira.audio.speakers import Voice

    rows = from_bytes(blob).reshape(-1, 256)
    return Voice(rows[0], rows[1] if len(rows) > 1 else None)


def voices_of(network_id: uuid.UUID) -> list[tuple[uuid.UUID, Voice]]:
    rows = db.session.execute(
        db.select(Person.id, Person.voice_embedding).where(
            Person.network_id == network_id, Person.voice_embedding.is_not(None)
        )
    ).all()
    return [(person_id, _voice(blob)) for person_id, blob in rows]


def profiles_by_key(network_id: uuid.UUID) -> dict[str, np.ndarray]:
    """The network's clean voice profiles keyed by person id (text), for diarization."""
    return {str(person_id): voice.clean for person_id, voice in voices_of(network_id)}


def public_embedding(blob: bytes | None) -> bytes | None:
    """The clean profile only (float32[256]), as the API documents it."""
    return blob[:EMBEDDING_BYTES] if blob else None


def refresh_profile(person: Person) -> None:
    """Recompute a person's profile (clean and noisy centres) and sample count."""
    import numpy as np

    from mira.audio.embedding import from_bytes, to_bytes
    from mira.audio.speakers import voice_of

    blobs = db.session.scalars(
        db.select(VoiceSample.embedding).where(VoiceSample.person_id == person.id)
    ).all()
    samples = [from_bytes(b) for b in blobs if b]
    person.voice_sample_count = len(blobs)
    if not samples:
        person.voice_embedding = None
        return
    voice = voice_of(samples)
    centres = [voice.clean] if voice.noisy is None else [voice.clean, voice.noisy]
    person.voice_embedding = to_bytes(np.concatenate(centres))


def _add_sample(
    person: Person,
    embedding: np.ndarray,
    interaction_id: uuid.UUID,
    speech_s: float,
    copies: Callable[[], np.ndarray] | None = None,
) -> None:
    from mira.audio.embedding import to_bytes
    from mira.audio.speakers import MAX_SAMPLES

    learned = db.session.scalars(
        db.select(VoiceSample.embedding).where(
            VoiceSample.person_id == person.id, VoiceSample.source == "learned"
        )
    ).all()
    if len(learned) >= MAX_SAMPLES:
        return
    augmented = sum(1 for blob in learned if blob and len(blob) > EMBEDDING_BYTES)
    rows = copies() if copies is not None and augmented < MAX_AUGMENTED_LEARNED else embedding
    db.session.add(
        VoiceSample(
            network_id=person.network_id,
            person_id=person.id,
            embedding=to_bytes(rows),
            source="learned",
            interaction_id=interaction_id,
            speech_s=round(speech_s, 3),
        )
    )
    db.session.flush()
    refresh_profile(person)


@dataclass
class Attribution:
    person_id: uuid.UUID | None
    confidence: float | None  # the similarity of a match; None for new or nobody
    speaker: dict[str, Any] = field(default_factory=dict)  # metadata.speaker

    @property
    def settles(self) -> bool:
        """A confident recognition, able to settle earlier undecided utterances."""
        return self.speaker.get("decision") == "match" and bool(self.speaker.get("confident"))


def attribute(
    network: Network,
    embedding: np.ndarray,
    speech_s: float,
    heard_at: datetime,
    interaction_id: uuid.UUID,
    snr_db: float | None = None,
    copies: Callable[[], np.ndarray] | None = None,
) -> Attribution:
    """Who spoke an utterance; stages rows without committing.

    `snr_db` is the SNR around the speech (`mira.audio.quality.speech_snr_db`; None: clean);
    `copies()` returns the sample rows with noisy copies (`mira.audio.speakers_batch.sample_rows`),
    asked for only when a new person is created or a profile learns. Call it inside
    `network_lock`, and commit together with the interaction, so two utterances of one new
    voice never make two persons.
    """
    from mira.audio.speakers import Evidence, decide
    from mira.persons.services import add_person, event_data

    evidence = Evidence(embedding, speech_s, 99.0 if snr_db is None else snr_db)
    decision = decide(evidence, voices_of(network.id), calibration_for(network))
    speaker = decision.as_dict()
    speaker["speech_s"] = round(speech_s, 3)
    if snr_db is not None:
        speaker["snr_db"] = round(snr_db, 1)
    if decision.outcome == "undecided":
        return Attribution(None, None, speaker)
    if decision.outcome == "match":
        person = db.session.get(Person, decision.key)
        if decision.learn:
            _add_sample(person, embedding, interaction_id, speech_s, copies)
            speaker["confident"] = True
        confidence: float | None = round(decision.score, 4)
        created = False
    else:
        person = add_person(network.id, None)
        _add_sample(person, embedding, interaction_id, speech_s, copies)
        confidence, created = None, True
    if person.last_heard_at is None or heard_at > person.last_heard_at:
        person.last_heard_at = heard_at
    db.session.flush()
    events.record(network.id, "person.created" if created else "person.updated", event_data(person))
    return Attribution(person.id, confidence, speaker)


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
