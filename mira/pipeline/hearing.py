"""Stages 1, 3 and 4, shared by every job that hears a stored upload: the analysis (`analyze`),
voice enrolment (`enroll`) and spoken commands (`voice`) decode, denoise and find speech here,
with the same bounds and the same settings.

`hear(job, stage)` enters `stage(name)` around each of "decode", "denoise" and "vad": the
analysis passes its timer (each stage timed into the job), the other jobs `marking(job, …)`,
which only records the stage names and progress they show.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from mira.jobs import services as jobs
from mira.jobs.models import Job
from mira.storage import BlobNotFound, blob_store

if TYPE_CHECKING:  # numpy loads with the worker's audio code
    import numpy as np

Stage = Callable[[str], AbstractContextManager]


def _untimed(_name: str) -> AbstractContextManager:
    return nullcontext()


def marking(job: Job, **marks: tuple[str, float]) -> Stage:
    """A `stage` that records `jobs.set_stage(job, *marks[name])` on entering a marked stage and
    does nothing for the others."""

    @contextmanager
    def stage(name: str):
        if name in marks:
            jobs.set_stage(job, *marks[name])
        yield

    return stage


@dataclass(frozen=True)
class Heard:
    """The upload decoded (`decoded.samples`, `duration_s`, `source_format`), denoised
    (`clean`) and its speech found (`speech`, an `audio.vad` report over `clean`)."""

    decoded: Any
    clean: np.ndarray
    speech: Any


def decode_stored(job: Job):
    """The job's stored upload, decoded (bounded, in the memory-capped helper); a missing or
    undecodable one fails the job for good."""
    from mira.audio.decode import AudioError
    from mira.audio.sandbox import decode_configured

    try:
        data = blob_store().get((job.payload or {})["audio_key"])
    except (BlobNotFound, KeyError) as exc:
        raise jobs.JobFailure("The stored audio is missing", "AUDIO_MISSING") from exc
    try:
        return decode_configured(data, current_app.config)
    except AudioError as exc:
        raise jobs.JobFailure(str(exc), exc.code) from exc


def hear(
    job: Job,
    stage: Stage = _untimed,
    after_decode: Callable[[Any], None] | None = None,
) -> Heard:
    """Decode the job's stored upload, denoise it (`MIRA_DENOISE`) and find its speech
    (`MIRA_VAD_AGGRESSIVENESS`). `after_decode(decoded)` runs between decoding and denoising
    (the analysis measures quality there)."""
    from mira.audio.denoise import denoise
    from mira.audio.vad import find_speech

    cfg = current_app.config
    with stage("decode"):
        decoded = decode_stored(job)
    if after_decode is not None:
        after_decode(decoded)
    with stage("denoise"):
        clean = denoise(decoded.samples, cfg["MIRA_DENOISE"])
    with stage("vad"):
        speech = find_speech(clean, cfg["MIRA_VAD_AGGRESSIVENESS"])
    return Heard(decoded, clean, speech)
