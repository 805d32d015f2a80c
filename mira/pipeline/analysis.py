"""The analysis job: stored upload → decoded audio → quality → denoise → speech → speaker →
transcript → interaction in its conversation → the assistant's reaction.

Every stage records its timing and a heartbeat. Running the job again after a crash produces
the same interactions once (they are keyed by job and turn).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs import services as jobs
from mira.jobs.models import Job
from mira.locks import network_lock
from mira.networks.models import Network
from mira.persons import voices
from mira.pipeline.hearing import hear

if TYPE_CHECKING:  # numpy loads with the worker's audio code
    import numpy as np

    from mira.audio.speakers_batch import WithCopies

STAGE_PROGRESS = {
    "decode": 0.1,
    "quality": 0.25,
    "denoise": 0.4,
    "vad": 0.55,
    "speaker": 0.65,
    "transcribe": 0.8,
    "conversation": 0.85,
    "assistant": 0.9,
    "done": 1.0,
}


class _Timer:
    def __init__(self, job: Job):
        self.job = job
        self.timings: dict[str, float] = {}

    def stage(self, name: str):
        jobs.set_stage(self.job, name, STAGE_PROGRESS.get(name, self.job.progress))
        self._name, self._started = name, time.perf_counter()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        from mira.observability import log_job_stage

        key = f"{self._name}_ms"
        self.timings[key] = round((time.perf_counter() - self._started) * 1000, 1)
        log_job_stage(self.job, self._name, {key: self.timings[key]})
        return False


def analyze(job: Job) -> dict[str, Any]:
    from mira.audio.quality import measure
    from mira.streams import services as streams

    cfg = current_app.config
    timer = _Timer(job)
    quality: dict[str, Any] = {}

    def measure_quality(decoded) -> None:
        with timer.stage("quality"):
            metrics = measure(decoded.samples)
            score = streams.record_quality(job.network_id, job.client_id, metrics)
            job.score = round(score, 3)
            db.session.commit()
        quality.update({**metrics.as_dict(), "score": round(score, 3)})

    heard = hear(job, timer.stage, after_decode=measure_quality)
    decoded, clean, speech = heard.decoded, heard.clean, heard.speech
    base = {
        "quality": quality,
        "duration_s": round(decoded.duration_s, 3),
        "speech_s": round(speech.speech_s, 3),
        "format": decoded.source_format,
    }
    if not speech.has_speech:
        jobs.set_stage(job, "done", 1.0, timer.timings)
        return {**base, "interaction_ids": [], "no_speech": True}
    streams.wait_for_late_duplicates(job, cfg["MIRA_DEDUP_WINDOW_MS"])
    winner = streams.choose_stream(job)
    if winner is not None:
        jobs.set_stage(job, "done", 1.0, timer.timings)
        return {**base, "interaction_ids": [], "superseded_by": str(winner)}
    network = db.session.get(Network, job.network_id)
    with timer.stage("speaker"):
        voice = _Voice(clean, speech)
        turns = _speaker_turns(clean, speech, network, voice)
    with timer.stage("transcribe"):
        from mira.networks.settings import wake_words

        hotwords = wake_words(network.settings)
        transcripts = [_transcribe(clean, turn.start_s, turn.end_s, hotwords) for turn in turns]
    with timer.stage("conversation"):
        interactions = _record_turns(job, decoded.duration_s, turns, transcripts, quality, voice)
    with timer.stage("assistant"):
        from mira.pipeline.reaction import react

        for interaction in interactions:
            react(interaction)
    jobs.set_stage(job, "done", 1.0, timer.timings)
    result = {
        **base,
        "interaction_ids": [str(i.id) for i in interactions],
        "segments": [[s.start_s, s.end_s] for s in speech.segments],
    }
    if len(turns) > 1:
        result["turns"] = [[t.start_s, t.end_s, t.cluster] for t in turns]
    heard = [t for t in transcripts if t is not None]
    if heard:
        result["transcript"] = {
            "engine": heard[0].engine,
            "empty": all(t.is_empty for t in heard),
        }
    return result


@dataclass(frozen=True)
class VoiceTurn:
    """One speaker's stretch of the upload; `embedding` is None when it is too short to say
    who spoke."""

    start_s: float
    end_s: float
    embedding: np.ndarray | None
    cluster: int = 0


def _speaker_turns(clean: np.ndarray, speech, network: Network, voice: _Voice) -> list[VoiceTurn]:
    """The upload's speaker turns (one for a single voice, the common case: diarization then
    costs no more than the utterance embedding it computes anyway).

    A clip that might create a person or teach a profile (`mira.audio.speakers.may_teach`,
    on the SNR around its speech and its span) has the noisy copies of its speech embedded in
    the same forward pass as the speech itself (`mira.audio.speakers_batch.WithCopies`, kept
    on `voice` for `_Voice.copies`)."""
    whole = VoiceTurn(speech.segments[0].start_s, speech.segments[-1].end_s, None)
    if speech.speech_s < voices.MIN_SPEECH_S:
        return [whole]
    from mira.audio.diarize import diarize
    from mira.audio.embedding import encoder
    from mira.audio.speakers import may_teach
    from mira.audio.speakers_batch import WithCopies

    embedder: Any = encoder()
    if may_teach(whole.end_s - whole.start_s, voice.snr_db()):
        from mira.audio.augment import ANALYSIS_KINDS

        embedder = voice.paired = WithCopies(embedder, speech.samples(clean), ANALYSIS_KINDS)
    found = diarize(
        clean,
        speech,
        embedder,
        voices.profiles_by_key(network.id),
        match_threshold=voices.threshold_for(network),
    )
    if len(found) <= 1:
        embedding = found[0].embedding if found else None
        return [VoiceTurn(whole.start_s, whole.end_s, embedding)]
    return [VoiceTurn(t.start_s, t.end_s, t.embedding, t.cluster) for t in found]


def _transcribe(clean: np.ndarray, start_s: float, end_s: float, hotwords):
    """The words of one turn (None when transcription is switched off). No engine able to
    load fails the job for good (TRANSCRIBER_UNAVAILABLE); engines failing on this clip raise,
    and the job is retried with backoff: an interaction is never recorded without its words."""
    from mira.speech import TranscriptionError
    from mira.speech.engines import transcriber

    try:
        engine = transcriber(current_app.config)
    except TranscriptionError as exc:
        raise jobs.JobFailure(str(exc), "TRANSCRIBER_UNAVAILABLE") from exc
    if engine is None:
        return None
    return engine.transcribe_between(clean, start_s, end_s, hotwords)


def _heard_at(job: Job) -> datetime:
    start_ms = (job.payload or {}).get("captured_start_ms")
    if start_ms is not None:
        return datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    return job.created_at


class _Voice:
    """What the speaker decision needs besides the embedding: the denoised audio (for noisy
    copies, when a profile learns) and the speech segments (for the SNR around the speech).
    `paired`: the encoder that embedded the whole speech's noisy copies alongside the speech's
    own, when the speaker stage made them (a clip that might teach)."""

    def __init__(self, clean: np.ndarray, speech: Any):
        self.clean = clean
        self.speech = speech
        self.paired: WithCopies | None = None
        self._snr_db: float | None = None

    def snr_db(self) -> float:
        if self._snr_db is None:
            from mira.audio.quality import speech_snr_db

            self._snr_db = speech_snr_db(self.clean, self.speech.segments)
        return self._snr_db

    def copies(self, turns: list[VoiceTurn], cluster: int, embedding: np.ndarray):
        """A callable giving the voice's sample rows (its embedding, then its noisy copies)."""

        def rows():
            import numpy as np

            single = len(turns) == 1 and embedding is not None
            made = self.paired.rows(embedding) if single and self.paired else None
            if made is not None:
                return made

            from mira.audio import SAMPLE_RATE
            from mira.audio.augment import ANALYSIS_KINDS
            from mira.audio.embedding import encoder
            from mira.audio.speakers_batch import sample_rows

            if len(turns) == 1:
                audio = self.speech.samples(self.clean)
            else:
                audio = np.concatenate(
                    [
                        self.clean[int(t.start_s * SAMPLE_RATE) : int(t.end_s * SAMPLE_RATE)]
                        for t in turns
                        if t.cluster == cluster
                    ]
                )
            return sample_rows(encoder(), audio, ANALYSIS_KINDS, embedding)

        return rows


def _record_turns(
    job: Job,
    duration_s: float,
    turns: list[VoiceTurn],
    transcripts: list,
    quality,
    voice: _Voice | None = None,
) -> list[Interaction]:
    """One interaction per speaker turn, created once even if the job runs again (keyed by job
    and turn), attributed to speakers and filed into conversations in one transaction under the
    network lock — so one new voice never becomes two persons and one exchange never two
    conversations. Turns of one voice share one attribution. The `interaction.created` events
    wait for the assistant's reaction."""
    existing = db.session.scalars(
        db.select(Interaction).where(Interaction.job_id == job.id).order_by(Interaction.turn_index)
    ).all()
    if existing:
        return list(existing)
    from mira.conversations.filing import file_interaction
    from mira.pipeline.reaction import wake_decision

    network = db.session.get(Network, job.network_id)
    payload = job.payload or {}
    heard_at = _heard_at(job)
    single = len(turns) == 1
    made: list[Interaction] = []
    with network_lock(job.network_id):
        speakers: dict[int, voices.Attribution] = {}
        snr_db = voice.snr_db() if voice is not None else None
        for index, (turn, transcript) in enumerate(zip(turns, transcripts, strict=True)):
            text = (transcript.text if transcript is not None else None) or None
            meta = dict(payload.get("metadata") or {})
            if transcript is not None:
                meta["transcript"] = {"engine": transcript.engine, "empty": transcript.is_empty}
            wake = wake_decision(transcript, network)
            if wake.status != "none":
                meta["wake"] = wake.as_meta()  # the evidence, for a command or a candidate
            interaction = Interaction(
                id=uuid.uuid4(),
                network_id=job.network_id,
                text=text,
                language=transcript.language if transcript is not None else None,
                timestamp=heard_at + timedelta(seconds=turn.start_s - turns[0].start_s),
                client_id=job.client_id,
                interaction_type="command" if wake.is_command else "audio",
                duration_s=round(duration_s if single else turn.end_s - turn.start_s, 3),
                audio_quality=quality,
                meta=meta,
                audio_key=payload.get("audio_key"),
                job_id=job.id,
                turn_index=index,
                start_s=turn.start_s,
                end_s=turn.end_s,
            )
            db.session.add(interaction)
            db.session.flush()
            if turn.embedding is not None:
                if turn.cluster not in speakers:
                    embedding, speech_s = _voice_of(turns, turn.cluster)
                    copies = voice.copies(turns, turn.cluster, embedding) if voice else None
                    speakers[turn.cluster] = voices.attribute(
                        network,
                        embedding,
                        speech_s,
                        interaction.timestamp,
                        interaction.id,
                        snr_db=snr_db,
                        copies=copies,
                    )
                said = speakers[turn.cluster]
                interaction.person_id, interaction.confidence = said.person_id, said.confidence
                interaction.meta = {**interaction.meta, "speaker": said.speaker}
                db.session.flush()
            else:  # under a second of speech: nobody can be told from it
                speaker = {"decision": "undecided", "reason": "too_short"}
                interaction.meta = {**interaction.meta, "speaker": speaker}
            file_interaction(interaction, network.settings)
            if turn.embedding is not None and speakers[turn.cluster].settles:
                settle_undecided(interaction)  # earlier clips of this voice
            made.append(interaction)
    return made


# Earlier undecided utterances a confident one may settle: same conversation, this recent, and
# their best candidate was the person now recognised, with at least this similarity.
SETTLE_WINDOW = timedelta(minutes=10)
SETTLE_MIN_SCORE = 0.60


def settle_undecided(interaction: Interaction) -> list[Interaction]:
    """Give earlier undecided utterances of `interaction`'s conversation to its person, when
    that person was their best candidate (a confident recognition of the same voice); each
    settled interaction is updated in place and announced with `interaction.updated`."""
    from mira.conversations.filing import _extend
    from mira.conversations.models import Conversation
    from mira.events import services as events
    from mira.interactions.services import event_data

    if interaction.person_id is None or interaction.conversation_id is None:
        return []
    rows = db.session.scalars(
        db.select(Interaction).where(
            Interaction.network_id == interaction.network_id,
            Interaction.conversation_id == interaction.conversation_id,
            Interaction.person_id.is_(None),
            Interaction.id != interaction.id,
            Interaction.timestamp >= interaction.timestamp - SETTLE_WINDOW,
            Interaction.timestamp <= interaction.timestamp,
        )
    ).all()
    settled = []
    conversation = db.session.get(Conversation, interaction.conversation_id)
    for row in rows:
        speaker = (row.meta or {}).get("speaker") or {}
        if (
            speaker.get("decision") != "undecided"
            or speaker.get("candidate") != str(interaction.person_id)
            or float(speaker.get("score") or 0.0) < SETTLE_MIN_SCORE
        ):
            continue
        row.person_id = interaction.person_id
        row.confidence = round(float(speaker["score"]), 4)
        row.meta = {
            **row.meta,
            "speaker": {**speaker, "decision": "settled", "settled_by": str(interaction.id)},
        }
        if conversation is not None:
            _extend(conversation, row)
        db.session.flush()
        events.record(row.network_id, "interaction.updated", event_data(row))
        settled.append(row)
    return settled


def _voice_of(turns: list[VoiceTurn], cluster: int) -> tuple[np.ndarray, float]:
    """One voice's embedding over all its turns (duration-weighted), and its speech time."""
    import numpy as np

    own = [t for t in turns if t.cluster == cluster and t.embedding is not None]
    weights = np.array([t.end_s - t.start_s for t in own])
    mean = np.average(np.stack([t.embedding for t in own]), axis=0, weights=weights)
    return mean / (np.linalg.norm(mean) or 1.0), float(weights.sum())
