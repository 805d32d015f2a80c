"""The sweeper re-sends only jobs with no message in the RQ queue, and a worker ignores (with a
warning) job ids its database does not know (issue 14). Real Redis (REDIS_URL)."""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import timedelta

import pytest

from jobs import runner
from mira import queue
from mira.extensions import db
from mira.jobs import services
from mira.jobs.models import Job
from mira.types import utcnow

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


@pytest.fixture
def rq_app(make_app, app):
    """An app on the test database whose queue is RQ on its own queue name."""
    name = f"mira-test-{uuid.uuid4().hex[:8]}"
    rq = make_app(MIRA_QUEUE="rq", REDIS_URL=os.environ["REDIS_URL"], MIRA_QUEUE_NAME=name)
    with rq.app_context():
        yield rq
        q = queue.rq_queue(rq)
        conn = q.connection
        for rq_id in [
            *q.get_job_ids(),
            *q.scheduled_job_registry.get_job_ids(),
            *q.started_job_registry.get_job_ids(),
        ]:
            conn.delete(f"rq:job:{rq_id}")
        for key in conn.scan_iter(f"rq:*{name}*"):
            conn.delete(key)
        db.session.remove()


def _late_job(network_id) -> Job:
    job = Job(
        network_id=network_id,
        kind="analyze",
        payload={},
        status="queued",
        progress=0.0,
        attempts=0,
        timings={},
        created_at=utcnow() - timedelta(minutes=5),
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_jobs_still_in_the_queue_are_not_sent_again(rq_app, alice):
    network_id = uuid.UUID(alice.network_id)
    waiting = [_late_job(network_id) for _ in range(5)]
    lost = _late_job(network_id)
    for job in waiting:
        queue.dispatch(job.id)
    rq = queue.rq_queue(rq_app)
    assert rq.count == 5

    result = services.sweep(queued_after_s=60, heartbeat_after_s=600)

    assert result["requeued"] == 1
    assert rq.count == 6
    assert queue.waiting_job_ids(rq_app) == {str(job.id) for job in [*waiting, lost]}
    # A second sweep finds every message in line: nothing is sent.
    db.session.expire_all()
    for job in db.session.scalars(db.select(Job)):
        job.not_before = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert services.sweep(queued_after_s=60, heartbeat_after_s=600)["requeued"] == 0
    assert rq.count == 6


def test_scheduled_retries_and_messages_without_the_id_prefix_count_as_waiting(rq_app, alice):
    network_id = uuid.UUID(alice.network_id)
    scheduled, legacy, lost = (_late_job(network_id) for _ in range(3))
    queue.dispatch(scheduled.id, delay_s=300)  # a retry's backoff: in the scheduled registry
    # A message sent before the ids named their job (RQ's own random id).
    queue.rq_queue(rq_app).enqueue(queue.RUNNER, str(legacy.id), result_ttl=0)

    assert queue.waiting_job_ids(rq_app) == {str(scheduled.id), str(legacy.id)}
    # A retry's message has the same time limit as any other job's (RQ's default is 180 s).
    [retry_id] = queue.rq_queue(rq_app).scheduled_job_registry.get_job_ids()
    assert queue.rq_queue(rq_app).fetch_job(retry_id).timeout == queue.RQ_JOB_TIMEOUT_S
    assert services.sweep(queued_after_s=60, heartbeat_after_s=600)["requeued"] == 1
    assert str(lost.id) in queue.waiting_job_ids(rq_app)


def test_without_rq_the_sweeper_cannot_tell_and_sends_every_late_job(app, alice):
    assert queue.waiting_job_ids(app) is None  # the tests' sync queue


def test_rq_message_ids_name_their_job():
    job_id = str(uuid.uuid4())
    rq_id = queue.rq_job_id(job_id)
    assert queue.mira_job_id_of(rq_id) == job_id
    assert queue.rq_job_id(job_id) != rq_id
    assert queue.mira_job_id_of(str(uuid.uuid4())) is None


@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "not-a-job-id"])
def test_a_job_id_this_database_does_not_know_is_ignored_with_a_warning(app, alice, caplog, job_id):
    network_id = uuid.UUID(alice.network_id)
    ours = _late_job(network_id)
    with caplog.at_level(logging.WARNING, logger="mira.jobs"):
        runner.run_job(job_id)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not in this Mira's database" in r.getMessage() for r in warnings)
    db.session.expire_all()
    assert [j.id for j in db.session.scalars(db.select(Job))] == [ours.id]
    assert db.session.get(Job, ours.id).status == "queued"  # nothing marked


def test_a_finished_job_of_this_database_is_skipped_quietly(app, alice, caplog):
    job = _late_job(uuid.UUID(alice.network_id))
    job.status = "succeeded"
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger="mira.jobs"):
        runner.run_job(str(job.id))
    assert not [r for r in caplog.records if "not in this Mira" in r.getMessage()]


def test_uploads_are_sent_soon_together_and_the_rest_at_exit(rq_app, alice, monkeypatch):
    """`dispatch_soon` (uploads): the sender thread sends what is pending in one pipeline; what a
    stopping process still holds is sent by the exit hook, not left for the sweeper."""
    network_id = uuid.UUID(alice.network_id)
    rq = queue.rq_queue(rq_app)
    sent: list[list[str]] = []
    real_send = queue._send_to_rq

    def counting_send(app, job_ids):
        sent.append(list(job_ids))
        real_send(app, job_ids)

    monkeypatch.setattr(queue, "_send_to_rq", counting_send)
    jobs = [_late_job(network_id) for _ in range(6)]
    sender = queue._RqSender(rq_app)
    rq_app.extensions[queue._SENDER] = sender
    with sender.ready:  # the thread cannot take anything until all six are pending
        for job in jobs:
            queue.dispatch_soon(job.id)
    deadline = time.monotonic() + 10
    while rq.count < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.waiting_job_ids(rq_app) == {str(job.id) for job in jobs}
    assert sent == [[str(job.id) for job in jobs]]  # one pipeline for the six

    # A process stopping with a message still pending: atexit's flush sends it.
    sender.pending.append(str(_late_job(network_id).id))
    sender.flush()
    assert rq.count == 7 and sender.pending == []
