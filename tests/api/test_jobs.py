"""Jobs: the durable record of background work, read by devices and retried by users."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from mira.jobs.models import Job
from tests.api.factories import T0, fresh, insert_job, iso

JOB_FIELDS = {
    "id",
    "kind",
    "status",
    "stage",
    "progress",
    "attempts",
    "error",
    "result",
    "client_id",
    "created_at",
    "started_at",
    "finished_at",
}


def url(account, *parts: str) -> str:
    return "/".join([f"{account.prefix()}/jobs", *parts])


def test_jobs_are_listed_newest_first_with_a_total(client, alice, app):
    old = insert_job(alice.network_id, created_at=T0 - timedelta(minutes=5))
    new = insert_job(alice.network_id, created_at=T0 + timedelta(minutes=5))
    mid = insert_job(alice.network_id, created_at=T0)
    response = client.get(url(alice), headers=alice.headers)
    assert response.status_code == 200
    assert [j["id"] for j in response.json] == [new, mid, old]
    assert response.headers["X-Total-Count"] == "3"
    page = client.get(url(alice) + "?limit=2&offset=1", headers=alice.headers)
    assert [j["id"] for j in page.json] == [mid, old]


def test_filtering_jobs_by_status_and_kind(client, alice, app):
    failed_enroll = insert_job(alice.network_id, kind="enroll", status="failed")
    failed_analyze = insert_job(alice.network_id, kind="analyze", status="failed")
    done_analyze = insert_job(alice.network_id, kind="analyze", status="succeeded")
    insert_job(alice.network_id, kind="inference", status="queued")

    def ids(query):
        response = client.get(url(alice) + query, headers=alice.headers)
        assert response.status_code == 200
        return {j["id"] for j in response.json}, response.headers["X-Total-Count"]

    assert ids("?status=failed") == ({failed_enroll, failed_analyze}, "2")
    assert ids("?kind=analyze") == ({failed_analyze, done_analyze}, "2")
    assert ids("?status=failed&kind=analyze") == ({failed_analyze}, "1")
    assert ids("?status=superseded") == (set(), "0")


@pytest.mark.parametrize("query", ["status=broken", "kind=transcode", "limit=501"])
def test_bad_job_filters_are_422(client, alice, query):
    response = client.get(url(alice) + f"?{query}", headers=alice.headers)
    assert response.status_code == 422
    assert query.split("=")[0] in response.json["errors"]


def test_getting_a_job_shows_every_field(client, alice, app):
    job_id = insert_job(
        alice.network_id,
        kind="analyze",
        status="succeeded",
        stage="done",
        progress=1.0,
        attempts=1,
        error=None,
        result={"interaction_ids": [], "no_speech": True},
        client_id="kitchen",
    )
    response = client.get(url(alice, job_id), headers=alice.headers)
    assert response.status_code == 200
    body = response.json
    assert set(body) >= JOB_FIELDS
    assert body["id"] == job_id
    assert body["kind"] == "analyze"
    assert body["status"] == "succeeded"
    assert body["stage"] == "done"
    assert body["progress"] == 1.0
    assert body["attempts"] == 1
    assert body["error"] is None
    assert body["result"] == {"interaction_ids": [], "no_speech": True}
    assert body["client_id"] == "kitchen"
    assert body["started_at"] == iso(T0)
    assert body["finished_at"] == iso(T0 + timedelta(seconds=2))
    assert body["created_at"].endswith("Z")


def test_a_device_key_can_read_a_job_of_its_network(client, alice, device_key, app):
    job_id = insert_job(alice.network_id, status="queued")
    response = client.get(url(alice, job_id), headers={"X-API-Key": device_key})
    assert response.status_code == 200
    assert response.json["id"] == job_id
    default_prefix = client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": device_key})
    assert default_prefix.status_code == 200
    bearer = client.get(url(alice, job_id), headers={"Authorization": f"Bearer {device_key}"})
    assert bearer.status_code == 200


def test_a_device_key_cannot_list_or_retry_jobs(client, alice, device_key, app):
    job_id = insert_job(alice.network_id, status="failed")
    headers = {"X-API-Key": device_key}
    assert client.get(url(alice), headers=headers).status_code == 403
    assert client.post(url(alice, job_id, "retry"), headers=headers).status_code == 403
    assert fresh(Job, job_id).status == "failed"


def test_an_unknown_job_is_404(client, alice, device_key):
    response = client.get(url(alice, str(uuid.uuid4())), headers={"X-API-Key": device_key})
    assert response.status_code == 404
    assert response.json["detail"] == "Job not found"


def test_a_malformed_job_id_is_422(client, alice):
    for path in (url(alice, "x"), url(alice, "x", "retry")):
        method = client.post if path.endswith("retry") else client.get
        response = method(path, headers=alice.headers)
        assert response.status_code == 422
        assert "job_id" in response.json["errors"]


def test_retrying_a_failed_job_answers_202_and_runs_it_again(client, alice, app):
    # The job names no interaction, so the sync queue's second run fails again, for a
    # different reason than the first; what matters is that the job really ran once more.
    job_id = insert_job(alice.network_id, kind="inference", status="failed", attempts=3)
    response = client.post(url(alice, job_id, "retry"), headers=alice.headers)
    assert response.status_code == 202
    body = response.json
    assert set(body) == {"job_id", "status", "status_url"}
    assert body["job_id"] == job_id
    assert body["status_url"] == f"/api/v1/{alice.network_id}/jobs/{job_id}"

    job = client.get(body["status_url"], headers=alice.headers).json
    # The answer reports the job as accepted or, the sync queue having run it already, as it is.
    assert body["status"] in {"queued", job["status"]}
    assert job["attempts"] == 1  # reset by the retry, then claimed once by the sync queue
    assert job["status"] == "failed"
    assert job["error"] == "BAD_JOB: The job names no interaction"
    assert job["error"] != "ValueError: broken audio"
    assert job["finished_at"] is not None
    row = fresh(Job, job_id)
    assert row.status == "failed"
    assert row.attempts == 1


def test_retrying_records_job_updated_events(client, alice, app):
    job_id = insert_job(alice.network_id, kind="inference", status="failed")
    cursor = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["cursor"]
    client.post(url(alice, job_id, "retry"), headers=alice.headers)
    events = client.get(f"{alice.prefix()}/events?after={cursor}", headers=alice.headers).json[
        "events"
    ]
    states = [e["data"]["status"] for e in events if e["type"] == "job.updated"]
    assert states[0] == "queued"
    assert states[-1] == "failed"
    assert all(e["data"]["id"] == job_id for e in events if e["type"] == "job.updated")
    final = client.get(url(alice, job_id), headers=alice.headers).json
    assert [e for e in events if e["type"] == "job.updated"][-1]["data"] == final


@pytest.mark.parametrize("status", ["queued", "running", "succeeded", "superseded"])
def test_retrying_a_job_that_did_not_fail_is_409(client, alice, app, status):
    job_id = insert_job(alice.network_id, kind="enroll", status=status)
    before = client.get(url(alice, job_id), headers=alice.headers).json
    response = client.post(url(alice, job_id, "retry"), headers=alice.headers)
    assert response.status_code == 409
    assert response.json["error_code"] == "JOB_NOT_RETRYABLE"
    assert client.get(url(alice, job_id), headers=alice.headers).json == before


def test_retrying_an_unknown_job_is_404(client, alice):
    response = client.post(url(alice, str(uuid.uuid4()), "retry"), headers=alice.headers)
    assert response.status_code == 404
