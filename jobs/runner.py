"""Run one job by id: the only function any queue backend calls."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable

from flask import has_app_context

log = logging.getLogger("mira.jobs")

# kind -> "module.function"; imported on first use so the web process stays light.
HANDLERS: dict[str, str] = {
    "analyze": "mira.pipeline.analysis.analyze",
    "enroll": "mira.pipeline.enrollment.run",
    "inference": "mira.pipeline.reaction.react_job",
    "voice": "mira.pipeline.voice.run_voice_command",
}


def _handler(kind: str) -> Callable | None:
    target = HANDLERS.get(kind)
    if target is None:
        return None
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_job(job_id: str) -> None:
    """Claim the job, run its handler, record the outcome. Safe to call twice."""
    if not has_app_context():
        from mira.app import create_app

        with create_app().app_context():
            return run_job(job_id)
    from mira.extensions import db
    from mira.jobs import services

    # Start clean: a worker runs job after job in one session, and whatever an earlier job
    # left half-done (a deadlock, a lost connection) must not fail this one.
    try:
        db.session.rollback()
    except Exception:  # its connection died with the last job; the pool replaces it
        log.warning("rollback before job %s failed; starting a new session", job_id)
        db.session.remove()
    job = services.claim(job_id) if services.is_job_id(job_id) else None
    if job is None:
        if not services.is_known(job_id):
            # A message of another Mira sharing this Redis database and queue name: not ours
            # to run or to mark; saying nothing made its jobs vanish without a trace.
            log.warning(
                "job %r is not in this Mira's database: ignored (is another Mira using the "
                "same Redis database and MIRA_QUEUE_NAME?)",
                job_id,
            )
        return  # finished already, or another worker holds it
    handler = _handler(job.kind)
    if handler is None:
        services.fail(job, f"No handler for jobs of kind '{job.kind}'", retry=False)
        return
    started = time.perf_counter()
    try:
        result = handler(job)
    except Exception as exc:
        db.session.rollback()
        error, retry = failure_of(exc)
        if error.startswith("INTERNAL_ERROR") or retry:
            log.exception("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts)
        else:
            log.info("job %s (%s) failed: %s", job.id, job.kind, error)
        services.fail(job, error, retry=retry)
        return
    status = "superseded" if result and result.get("superseded_by") else "succeeded"
    services.succeed(job, result, status=status)
    from mira.observability import log_job_stage

    log_job_stage(job, "done", job.timings)
    log.info(
        "job %s (%s) %s in %.0f ms",
        job.id,
        job.kind,
        status,
        (time.perf_counter() - started) * 1000,
    )


UNAVAILABLE = "UNAVAILABLE: a service the job needs did not answer (database, queue or storage)"
INTERNAL = "INTERNAL_ERROR: the job failed unexpectedly; the worker's log has the details"
OUT_OF_MEMORY = "OUT_OF_MEMORY: the job needed more memory than the worker could give it"


def failure_of(exc: BaseException) -> tuple[str, bool]:
    """What a failed job records (`CODE: message`, never a Python class or trace) and whether
    another attempt may succeed: only transient failures are retried.

    - JobFailure: the job's own verdict (bad audio, a missing person…): permanent.
    - A service's refusal (a domain error: not found, conflict, invalid…): permanent, unless
      its kind is transient (the service is switched off, a provider is down).
    - Connections and timeouts (database, Redis, storage): transient.
    - MemoryError (an allocation the process's cap or the machine refused): OUT_OF_MEMORY,
      permanent: the same input would ask for the same memory again.
    - Anything else is a bug: INTERNAL_ERROR, permanent.
    """
    from mira.errors import MiraError
    from mira.jobs.services import JobFailure

    if isinstance(exc, JobFailure):
        return f"{exc.code}: {exc}"[:2000], False
    if isinstance(exc, MiraError):
        return f"{exc.error_code}: {exc.detail}"[:2000], exc.transient
    if isinstance(exc, MemoryError):
        return OUT_OF_MEMORY, False
    if _is_transient(exc):
        return UNAVAILABLE, True
    return INTERNAL, False


def _is_transient(exc: BaseException) -> bool:
    import redis.exceptions
    from sqlalchemy.exc import OperationalError

    from mira.db_errors import transient_database_error

    transient = (
        ConnectionError,
        TimeoutError,
        OperationalError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    )
    return isinstance(exc, transient) or transient_database_error(exc)


def warm_up() -> None:
    """Load the models and run every stage once, so the first real job pays no start-up cost
    (the voice encoder and Whisper take seconds to load; Whisper's first call is slow too)."""
    import io

    import numpy as np
    import soundfile
    from flask import current_app

    from mira.audio.denoise import denoise
    from mira.audio.embedding import encoder
    from mira.audio.quality import measure
    from mira.audio.sandbox import decode_configured
    from mira.audio.vad import find_speech
    from mira.speech.engines import transcriber

    # Whisper first: loading a model briefly takes about twice its size (CTranslate2 holds the
    # file's float16 weights while it quantizes them), and that passing peak is paid on top
    # of what is already loaded. Loaded first, it lands on a small process: the peak after
    # warm-up fell from 887 to 733 MB, the e2e worker's after the bombs from 909 to 773 MB
    # (tests/e2e/test_hostile_audio.py bounds it at 1 GB; a CI machine had measured 1,027).
    engine = transcriber(current_app.config)  # loads Whisper once; its first call is slow
    if engine is not None:
        engine.warm_up()
    rng = np.random.default_rng(0)
    clip = (0.01 * rng.standard_normal(16_000)).astype(np.float32)
    measure(clip)
    find_speech(denoise(clip, current_app.config["MIRA_DENOISE"]))
    wav = io.BytesIO()
    soundfile.write(wav, clip, 16_000, format="WAV")
    decode_configured(wav.getvalue(), current_app.config)  # starts the decoding helper
    encoder().embed(clip)  # loads the voice model once per worker
