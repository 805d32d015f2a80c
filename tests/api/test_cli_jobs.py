"""`flask mira jobs | retry | sweep | import-audio`: job chores from the command line."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import numpy as np

from mira.extensions import db
from mira.jobs.models import Job
from mira.types import utcnow
from tests.audio_data import SR, encode_soundfile, speech, wav_bytes


def lines(result) -> list[dict]:
    assert result.exit_code == 0, (result.output, result.exception)
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def _failed_job(network_id: str) -> Job:
    job = Job(
        network_id=uuid.UUID(network_id),
        kind="inference",
        status="failed",
        error="offline",
        payload={},
        attempts=3,
        progress=0.0,
        timings={},
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_import_audio_uploads_a_folder_through_the_service(runner, alice, tmp_path):
    (tmp_path / "a.wav").write_bytes(wav_bytes(speech(14)))
    (tmp_path / "b.flac").write_bytes(encode_soundfile(speech(15), SR, "FLAC", "PCM_16"))
    (tmp_path / "notes.txt").write_text("not audio at all, just words")
    (tmp_path / "silence.wav").write_bytes(wav_bytes(np.zeros(SR, dtype=np.float32)))
    result = runner.invoke(
        args=["mira", "import-audio", alice.network_id, str(tmp_path), "--client", "archive"]
    )
    output = lines(result)
    assert output[-1] == {"accepted": 3, "refused": 1}
    accepted = {
        line["file"].rsplit("/", 1)[-1]: line["job_id"] for line in output if "job_id" in line
    }
    refused = [line for line in output if "error" in line]
    assert [(r["file"].rsplit("/", 1)[-1], r["error"]) for r in refused] == [
        ("notes.txt", "UNSUPPORTED_AUDIO")
    ]
    assert set(accepted) == {"a.wav", "b.flac", "silence.wav"}
    jobs = {name: db.session.get(Job, uuid.UUID(job_id)) for name, job_id in accepted.items()}
    assert jobs["a.wav"].status == "succeeded" and jobs["b.flac"].status == "succeeded"
    assert jobs["silence.wav"].result["no_speech"] is True
    assert jobs["a.wav"].client_id == "archive"


def test_jobs_lists_failed_jobs_and_retry_runs_one_again(runner, alice):
    job = _failed_job(alice.network_id)
    listed = lines(runner.invoke(args=["mira", "jobs", "--failed"]))
    assert [line["id"] for line in listed] == [str(job.id)]
    assert listed[0]["error"] == "offline"
    retried = lines(runner.invoke(args=["mira", "retry", str(job.id)]))
    assert retried[0]["id"] == str(job.id)
    db.session.expire_all()
    # The sync queue ran it again at once; naming no interaction, it failed for good, once.
    job = db.session.get(Job, job.id)
    assert (job.status, job.attempts) == ("failed", 1)


def test_retry_of_an_unknown_or_unfinished_job_fails(runner, alice):
    assert runner.invoke(args=["mira", "retry", str(uuid.uuid4())]).exit_code != 0
    assert runner.invoke(args=["mira", "retry", "not-a-uuid"]).exit_code != 0


def test_sweep_reports_what_it_did(runner, alice):
    job = Job(
        network_id=uuid.UUID(alice.network_id),
        kind="analyze",
        status="running",
        payload={},
        attempts=3,
        progress=0.3,
        timings={},
        heartbeat_at=utcnow() - timedelta(hours=1),
    )
    db.session.add(job)
    db.session.commit()
    [report] = lines(runner.invoke(args=["mira", "sweep", "--heartbeat-after", "60"]))
    assert report == {"requeued": 0, "revived": 0, "failed": 1}
    assert db.session.get(Job, job.id).status == "failed"
