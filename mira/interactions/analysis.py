"""The analysis job: stored upload → decoded audio → quality → denoise → speech → speaker →
transcript → interaction in its conversation → the assistant's reaction.

Every stage records its timing and a heartbeat. Running the job again after a crash produces
the same interactions once (they are keyed by job and turn).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs import services as jobs
from mira.jobs.models import Job
from mira.locks import network_lock
from mira.networks.models import Network
from mira.persons import voices
from mira.storage import BlobNotFound, blob_store

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
    from mira.audio.decode import AudioError, decode
    from mira.audio.denoise import denoise
    from mira.audio.quality import measure
    from mira.audio.vad import find_speech
    from mira.streams import services as streams

    cfg = current_app.config
    timer = _Timer(job)
    payload = job.payload or {}
    with timer.stage("decode"):
        try:
            data = blob_store().get(payload["audio_key"])
        except (BlobNotFound, KeyError) as exc:
            raise jobs.JobFailure("The stored audio is missing", "AUDIO_MISSING") from exc
        try:
            decoded = decode(data, max_seconds=cfg["MIRA_MAX_AUDIO_SECONDS"])
        except AudioError as exc:
            raise jobs.JobFailure(str(exc), exc.code) from exc
    with timer.stage("quality"):
        metrics = measure(decoded.samples)
        score = streams.record_quality(job.network_id, job.client_id, metrics)
        job.score = round(score, 3)
        db.session.commit()
    quality = {**metrics.as_dict(), "score": round(score, 3)}
    with timer.stage("denoise"):
        clean = denoise(decoded.samples, cfg["MIRA_DENOISE"])
    with timer.stage("vad"):
        speech = find_speech(clean, cfg["MIRA_VAD_AGGRESSIVENESS"])
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
    embedding = None
    with timer.stage("speaker"):
        if speech.speech_s >= voices.MIN_SPEECH_S:
            from mira.audio.embedding import encoder

            embedding = encoder().embed(speech.samples(clean))
    with timer.stage("transcribe"):
        from mira.networks.settings import wake_words

        network = db.session.get(Network, job.network_id)
        transcript = _transcribe(clean, speech, wake_words(network.settings))
    with timer.stage("conversation"):
        interaction = _record_interaction(
            job, decoded.duration_s, speech, quality, embedding, transcript
        )
    with timer.stage("assistant"):
        from mira.interactions.assistant import react

        react(interaction)
    jobs.set_stage(job, "done", 1.0, timer.timings)
    result = {
        **base,
        "interaction_ids": [str(interaction.id)],
        "segments": [[s.start_s, s.end_s] for s in speech.segments],
    }
    if transcript is not None:
        result["transcript"] = {"engine": transcript.engine, "empty": transcript.is_empty}
    return result


def _transcribe(clean, speech, hotwords):
    """The words of the speech (None when transcription is switched off). A failing engine
    fails the job (retried later), it never records an interaction without its words."""
    from mira.speech import TranscriptionError
    from mira.speech.engines import transcriber

    try:
        engine = transcriber(current_app.config)
    except TranscriptionError as exc:
        raise jobs.JobFailure(str(exc), "TRANSCRIBER_UNAVAILABLE") from exc
    if engine is None:
        return None
    start = max(0, int(speech.segments[0].start_s * 16_000))
    end = int(speech.segments[-1].end_s * 16_000)
    return engine.transcribe(clean[start:end], hotwords)


def _heard_at(job: Job) -> datetime:
    start_ms = (job.payload or {}).get("captured_start_ms")
    if start_ms is not None:
        return datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    return job.created_at


def _record_interaction(
    job: Job, duration_s: float, speech, quality, embedding, transcript
) -> Interaction:
    """One interaction per job (turn 0), created once even if the job runs again, attributed
    to a speaker and filed into a conversation in the same transaction (under the network
    lock, so one new voice never becomes two persons and one exchange never two conversations).
    Its `interaction.created` event waits for the assistant's reaction."""
    existing = db.session.scalar(
        db.select(Interaction).where(Interaction.job_id == job.id, Interaction.turn_index == 0)
    )
    if existing is not None:
        return existing
    network = db.session.get(Network, job.network_id)
    text = transcript.text if transcript is not None else None
    meta = dict((job.payload or {}).get("metadata") or {})
    if transcript is not None:
        meta["transcript"] = {"engine": transcript.engine, "empty": transcript.is_empty}
    from mira.interactions.assistant import command_in

    kind = "command" if command_in(text, network) is not None else "audio"
    with network_lock(job.network_id):
        interaction = Interaction(
            id=uuid.uuid4(),
            network_id=job.network_id,
            text=text or None,
            language=transcript.language if transcript is not None else None,
            timestamp=_heard_at(job),
            client_id=job.client_id,
            interaction_type=kind,
            duration_s=round(duration_s, 3),
            audio_quality=quality,
            meta=meta,
            audio_key=(job.payload or {}).get("audio_key"),
            job_id=job.id,
            turn_index=0,
            start_s=speech.segments[0].start_s,
            end_s=speech.segments[-1].end_s,
        )
        db.session.add(interaction)
        db.session.flush()
        if embedding is not None:
            interaction.person_id, interaction.confidence = voices.attribute(
                network, embedding, speech.speech_s, interaction.timestamp, interaction.id
            )
            db.session.flush()
        from mira.conversations.filing import file_interaction

        file_interaction(interaction, network.settings)
    return interaction
