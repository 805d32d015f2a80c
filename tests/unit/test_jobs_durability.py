"""Durable jobs on the real database: claims, retries with backoff, the sweeper, idempotence."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from jobs import runner
from jobs.runner import run_job
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs import services
from mira.jobs.models import Job
from mira.types import utcnow
from tests.audio_data import speech, wav_bytes


@pytest.fixture
def network_id(alice):
    return uuid.UUID(alice.network_id)


def _job(network_id, kind="analyze", **fields) -> Job:
    job = Job(
        network_id=network_id,
        kind=kind,
        payload={},
        status="queued",
        progress=0.0,
        attempts=0,
        timings={},
        **fields,
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_a_job_is_claimed_once(network_id):
    job = _job(network_id)
    assert services.claim(str(job.id)) is not None
    assert services.claim(str(job.id)) is None
    assert db.session.get(Job, job.id).attempts == 1


def test_transient_failures_retry_then_stay_failed(network_id, monkeypatch, caplog):
    calls = []

    def flaky(job):
        calls.append(job.attempts)
        raise ConnectionError("database blinked")

    monkeypatch.setitem(runner.HANDLERS, "flaky", f"{__name__}.FLAKY")
    globals()["FLAKY"] = flaky
    job = _job(network_id, kind="flaky")
    run_job(str(job.id))  # the sync queue runs each retry at once
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert calls == [1, 2, 3]
    assert job.status == "failed" and job.attempts == 3
    # The job says what kind of failure it was; the details stay in the worker's log.
    assert job.error == runner.UNAVAILABLE
    assert "blinked" in caplog.text and "ConnectionError" in caplog.text


def test_a_refusal_by_a_service_is_permanent_and_keeps_its_code(network_id, monkeypatch):
    from mira.errors import not_found

    def gone(job):
        raise not_found("Client")

    monkeypatch.setitem(runner.HANDLERS, "gone", f"{__name__}.GONE")
    globals()["GONE"] = gone
    job = _job(network_id, kind="gone")
    run_job(str(job.id))
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error == "NOT_FOUND: Client not found"


def test_a_transient_domain_error_is_retried_and_keeps_its_code(network_id, monkeypatch):
    from mira.errors import Unavailable

    calls = []

    def switched_off(job):
        calls.append(1)
        raise Unavailable("Listening is switched off", "SERVICE_DISABLED")

    monkeypatch.setitem(runner.HANDLERS, "off", f"{__name__}.OFF")
    globals()["OFF"] = switched_off
    job = _job(network_id, kind="off")
    run_job(str(job.id))
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert len(calls) == 3 and job.attempts == 3
    assert job.error == "SERVICE_DISABLED: Listening is switched off"


def test_domain_errors_carry_no_http():
    """Services and jobs raise them; only the web edge knows statuses as HTTP answers."""
    import ast

    from mira import errors

    tree = ast.parse(Path(errors.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert imported <= {"__future__", "typing"}, imported
    from werkzeug.exceptions import HTTPException

    assert not issubclass(errors.MiraError, HTTPException)
    refusal = errors.not_found("Client")
    assert isinstance(refusal, Exception) and type(refusal).__mro__[1] is errors.MiraError


def test_an_unexpected_error_is_internal_not_retried_and_not_shown(network_id, monkeypatch, caplog):
    def broken(job):
        raise ValueError("secret detail of a bug")

    monkeypatch.setitem(runner.HANDLERS, "broken", f"{__name__}.BROKEN")
    globals()["BROKEN"] = broken
    job = _job(network_id, kind="broken")
    run_job(str(job.id))
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error == runner.INTERNAL and "secret" not in job.error
    assert "secret detail of a bug" in caplog.text


def test_permanent_failures_are_not_retried(network_id, monkeypatch):
    def bad(job):
        raise services.JobFailure("the audio is silent garbage", "CORRUPT_AUDIO")

    monkeypatch.setitem(runner.HANDLERS, "bad", f"{__name__}.BAD")
    globals()["BAD"] = bad
    job = _job(network_id, kind="bad")
    run_job(str(job.id))
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error == "CORRUPT_AUDIO: the audio is silent garbage"


def test_backoff_schedules_the_next_attempt(network_id, app):
    job = _job(network_id)
    services.claim(str(job.id))
    app.config["MIRA_QUEUE"] = "inline"  # a delayed dispatch that does not run during the test
    try:
        services.fail(db.session.get(Job, job.id), "boom")
    finally:
        app.config["MIRA_QUEUE"] = "sync"
    job = db.session.get(Job, job.id)
    assert job.status == "queued"
    assert job.not_before > utcnow() + timedelta(seconds=1)


def test_sweeper_revives_a_job_whose_worker_died(network_id, client, alice, device_key):
    mic = {"X-API-Key": device_key}
    client.post(f"{alice.prefix()}/service/client/register/desk", headers=mic)
    response = client.post(
        f"{alice.prefix()}/interactions/register?wait=5",
        data={"audio": (io.BytesIO(wav_bytes(speech(13))), "a.wav"), "client_id": "desk"},
        headers=mic,
        content_type="multipart/form-data",
    )
    job_id = uuid.UUID(response.json["id"])
    # Pretend its worker was killed mid-job: running, stale heartbeat, result not recorded.
    job = db.session.get(Job, job_id)
    job.status, job.heartbeat_at, job.result = "running", utcnow() - timedelta(minutes=10), None
    db.session.commit()
    outcome = services.sweep(queued_after_s=120, heartbeat_after_s=60)
    assert outcome == {"requeued": 0, "revived": 1, "failed": 0}
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job.status == "succeeded" and job.attempts == 2
    # The second run found the interaction of the first: one utterance, one interaction.
    assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 1
    assert job.result["interaction_ids"] == response.json["result"]["interaction_ids"]


def test_sweeper_fails_a_dead_job_without_attempts_left(network_id):
    job = _job(network_id)
    job.status, job.attempts = "running", 3
    job.heartbeat_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    assert services.sweep(120, 60)["failed"] == 1
    assert db.session.get(Job, job.id).status == "failed"


def test_sweeper_redispatches_a_lost_message(network_id):
    job = _job(network_id, kind="no-handler")
    job.created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert services.sweep(queued_after_s=60, heartbeat_after_s=600)["requeued"] == 1
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "failed"  # it ran (the sync queue), and its kind has no handler
    assert "No handler" in job.error


def test_a_job_runs_even_after_an_earlier_transaction_failed_in_the_same_worker(network_id):
    """A worker runs job after job in one session; a failed transaction (a deadlock, say)
    must not fail every job after it."""
    from sqlalchemy.exc import IntegrityError

    job_id = _job(network_id, kind="inference").id
    db.session.add(Interaction(network_id=uuid.uuid4(), text="no such network", meta={}))
    with pytest.raises(IntegrityError):
        db.session.flush()  # left un-rolled-back, as a crashed handler would leave it
    run_job(str(job_id))
    db.session.expire_all()
    finished = db.session.get(Job, job_id)
    assert (finished.status, finished.error) == ("failed", "BAD_JOB: The job names no interaction")


@pytest.mark.parametrize("backend, warmed", [("inline", True), ("rq", False), ("sync", False)])
def test_the_embedded_server_warms_the_models_as_it_starts(make_app, monkeypatch, backend, warmed):
    from flask import current_app

    from mira.queue import _executor, warm_up_inline

    calls = []
    monkeypatch.setattr(runner, "warm_up", lambda: calls.append(current_app.config["MIRA_QUEUE"]))
    app = make_app(MIRA_QUEUE=backend)
    warm_up_inline(app)
    if backend == "inline":
        _executor(app).submit(lambda: None).result(timeout=30)  # queued behind the warm-up
    assert calls == (["inline"] if warmed else [])
