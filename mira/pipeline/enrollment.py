"""The `enroll` job: a person's stored voice sample is heard (`hearing.hear`: decode, denoise,
VAD), embedded and added to their profile (`persons.voices`). The sample is stored and the job
committed by `persons.enrollment.accept`.

The sample is embedded as it is and with household-like noise added (`mira.audio.augment`), so
the person is recognised in a noisy room too.

The job needs at least `MIN_ENROLL_SPEECH_S` of speech after VAD (shorter samples make
unreliable profiles) and fails with `TOO_SHORT` otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app

from mira import audit
from mira.events import services as events
from mira.extensions import db
from mira.jobs import services as jobs
from mira.jobs.models import Job
from mira.persons import services as persons
from mira.persons import voices
from mira.persons.models import Person, VoiceSample
from mira.pipeline.hearing import hear, marking
from mira.types import utcnow

MIN_ENROLL_SPEECH_S = 2.0


def _added(sample: VoiceSample, job: Job) -> dict[str, Any]:
    return {"person": str(sample.person_id), "job": str(job.id), "speech_s": sample.speech_s}


def run(job: Job) -> dict[str, Any]:
    """The enroll job: decode, denoise, find speech, embed, add the sample to the profile."""
    from mira.audio.augment import ENROLMENT_KINDS
    from mira.audio.embedding import encoder, to_bytes
    from mira.audio.speakers_batch import sample_rows

    payload = job.payload or {}
    try:
        person_id = uuid.UUID(str(payload["person_id"]))
        audio_key = str(payload["audio_key"])
    except (KeyError, ValueError) as exc:
        raise jobs.JobFailure("The job names no person or no audio", "BAD_JOB") from exc
    existing = db.session.scalar(db.select(VoiceSample).where(VoiceSample.audio_key == audio_key))
    if existing is not None:  # a re-run after a crash: the sample is already there
        return {
            "person_id": str(existing.person_id),
            "sample_id": str(existing.id),
            "speech_s": existing.speech_s,
        }
    person = db.session.scalar(
        db.select(Person).where(Person.network_id == job.network_id, Person.id == person_id)
    )
    if person is None:
        raise jobs.JobFailure(
            "The person was deleted before the sample was analysed", "PERSON_NOT_FOUND"
        )
    # Denoising and VAD show as one stage, "vad".
    heard = hear(job, marking(job, decode=("decode", 0.1), denoise=("vad", 0.4)))
    clean, speech = heard.clean, heard.speech
    if speech.speech_s < MIN_ENROLL_SPEECH_S:
        raise jobs.JobFailure(
            f"The sample holds {speech.speech_s:.1f} s of speech; enrolment needs at least "
            f"{MIN_ENROLL_SPEECH_S:g} s",
            "TOO_SHORT",
        )
    jobs.set_stage(job, "speaker", 0.7)
    # The sample and its noisy copies (the profile's noisy centre), in one forward pass.
    rows = sample_rows(encoder(), speech.samples(clean), ENROLMENT_KINDS)
    reading = _compare_reading(payload.get("expected_text"), clean, speech)
    sample = VoiceSample(
        network_id=job.network_id,
        person_id=person.id,
        embedding=to_bytes(rows),
        source="enrolled",
        audio_key=audio_key,
        description=payload.get("description"),
        expected_text=payload.get("expected_text"),
        speech_s=round(speech.speech_s, 3),
        created_at=utcnow(),
    )
    db.session.add(sample)
    db.session.flush()
    voices.refresh_profile(person)
    db.session.flush()
    audit.record(job.network_id, "system", "voice_sample.added", sample.id, _added(sample, job))
    events.record(job.network_id, "person.updated", persons.event_data(person))
    db.session.commit()
    result = {
        "person_id": str(person.id),
        "sample_id": str(sample.id),
        "speech_s": round(speech.speech_s, 3),
    }
    if reading is not None:
        result["expected_text"] = reading
    return result


# Above this word error rate the sample is reported as not matching the text it should read.
READING_MATCH_WER = 0.35


def _compare_reading(expected: str | None, clean, speech) -> dict[str, Any] | None:
    """What the speaker said against what they were asked to read (recorded, not enforced:
    the voice is what enrols, and a transcriber can mishear an accent)."""
    if not expected or not expected.strip():
        return None
    from mira.speech import TranscriptionError
    from mira.speech.engines import transcriber
    from mira.speech.text import word_error_rate

    try:
        engine = transcriber(current_app.config)
        if engine is None:
            return None
        span = (speech.segments[0].start_s, speech.segments[-1].end_s)
        heard = engine.transcribe_between(clean, *span).text
    except TranscriptionError:
        return None
    wer = word_error_rate(expected, heard)
    return {"heard": heard, "word_error_rate": round(wer, 3), "matches": wer <= READING_MATCH_WER}
