"""The whole upload path across real processes: gunicorn, RQ workers, PostgreSQL, Redis."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest
import requests

from tests.audio_data import speech, wav_bytes
from tests.e2e.conftest import Stack, embedded_stack, free_port

pytestmark = pytest.mark.e2e


def test_upload_becomes_a_succeeded_job_and_an_interaction(stack):
    stack.start_web()
    stack.start_worker()
    stack.register_client("kitchen")
    response = stack.upload(wav_bytes(speech(0)), "kitchen")
    assert response.status_code == 202, response.text
    [job] = stack.wait_jobs([response.json()["job_id"]])
    assert job["status"] == "succeeded", job
    [interaction_id] = job["result"]["interaction_ids"]
    interaction = requests.get(
        stack.url(f"/interactions/{interaction_id}"), headers=stack.headers, timeout=10
    )
    assert interaction.status_code == 403  # a device key does not read interactions
    assert job["result"]["speech_s"] > 1.0


def test_a_worker_killed_mid_job_is_replaced_and_the_job_finishes_once(stack):
    stack.start_web(MIRA_DEDUP_WINDOW_MS="6000")
    first = stack.start_worker("worker1", MIRA_DEDUP_WINDOW_MS="6000")
    stack.register_client("kitchen")
    stack.register_client("hall")  # a second microphone: the job waits out the dedup window
    job_id = stack.upload(wav_bytes(speech(1)), "kitchen").json()["job_id"]
    deadline = time.monotonic() + 30
    while stack.job(job_id)["status"] != "running":
        assert time.monotonic() < deadline, stack.job(job_id)
        time.sleep(0.1)
    Stack.kill(first)  # SIGKILL the worker and its work horse, mid-job
    assert stack.job(job_id)["status"] == "running"
    stack.start_worker(
        "worker2", MIRA_DEDUP_WINDOW_MS="300", MIRA_SWEEP_HEARTBEAT_S="3", MIRA_SWEEP_EVERY_S="1"
    )
    [job] = stack.wait_jobs([job_id], timeout_s=60)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert len(job["result"]["interaction_ids"]) == 1
    listed = requests.get(
        stack.url("/interactions"),
        timeout=10,
        headers={"Authorization": "Bearer " + _login(stack)},
    )
    assert listed.headers["X-Total-Count"] == "1"


def _login(stack) -> str:
    response = requests.post(
        f"{stack.base_url}/api/v1/auth/login",
        timeout=10,
        json={"email": "e2e@example.com", "password": "e2e password!"},
    )
    return response.json()["access_token"]


def test_uploads_during_a_redis_outage_are_kept_and_finish_after_it(stack, tmp_path):
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.fail("redis-server is not installed")
    port = free_port()
    own_redis = f"redis://127.0.0.1:{port}/0"

    def start_redis():
        return subprocess.Popen(
            [
                redis_server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    redis = start_redis()
    time.sleep(0.5)
    sweep = {"MIRA_SWEEP_QUEUED_S": "2", "MIRA_SWEEP_EVERY_S": "1"}
    try:
        stack.start_web(REDIS_URL=own_redis)
        worker = stack.start_worker("worker1", REDIS_URL=own_redis, **sweep)
        stack.register_client("kitchen")
        job_ids = [stack.upload(wav_bytes(speech(2)), "kitchen").json()["job_id"]]
        redis.send_signal(signal.SIGKILL)
        redis.wait()
        during = [stack.upload(wav_bytes(speech(3 + i)), "kitchen") for i in range(3)]
        assert [r.status_code for r in during] == [202, 202, 202], [r.text for r in during]
        job_ids += [r.json()["job_id"] for r in during]
        time.sleep(2)  # the worker notices the outage
        redis = start_redis()
        jobs = stack.wait_jobs(job_ids, timeout_s=90)
        assert [j["status"] for j in jobs] == ["succeeded"] * 4, jobs
        assert all(len(j["result"]["interaction_ids"]) == 1 for j in jobs)
        assert worker.poll() is None, "the worker must survive the outage"
    finally:
        redis.kill()
        redis.wait()


def test_embedded_default_does_the_same_work_without_redis(tmp_path):
    """SQLite, in-process worker threads, no Redis: what `make run` starts."""
    stack = embedded_stack(tmp_path, MIRA_DEDUP_WINDOW_MS="300")
    try:
        stack.provision()
        stack.start_web()
        health = requests.get(f"{stack.base_url}/health/detailed", timeout=10).json()
        assert health["checks"]["queue"]["backend"] == "inline"
        assert health["checks"]["database"]["backend"] == "sqlite"
        stack.register_client("desk")
        response = stack.upload(wav_bytes(speech(5)), "desk")
        assert response.status_code == 202
        [job] = stack.wait_jobs([response.json()["job_id"]], timeout_s=60)
        assert job["status"] == "succeeded", job
        assert len(job["result"]["interaction_ids"]) == 1
    finally:
        stack.stop_all()


def test_enrolled_speakers_are_recognised_and_a_stranger_is_not(stack):
    """Three shared speakers enrolled through the API, then their other utterances and a
    fourth (unknown) speaker's uploaded: who was recognised, across real processes."""
    from tests.audio_data import speech_files

    stack.start_web()
    stack.start_worker()
    stack.register_client("kitchen")
    user = {"Authorization": "Bearer " + _login(stack)}
    files = speech_files()
    names = sorted({p.parent.name for p in files})[:4]
    by_speaker = {n: [i for i, p in enumerate(files) if p.parent.name == n] for n in names}
    person_of = {}
    enrol_jobs = []
    for name in names[:3]:
        person = requests.post(
            stack.url("/persons"), json={"name": name}, headers=user, timeout=10
        ).json()
        person_of[name] = person["id"]
        for index in by_speaker[name][1:4]:
            response = requests.post(
                stack.url(f"/persons/{person['id']}/voice"),
                headers=user,
                timeout=30,
                files={"audio_file": ("v.wav", wav_bytes(speech(index)))},
            )
            assert response.status_code == 202, response.text
            enrol_jobs.append(response.json()["job_id"])
    assert [j["status"] for j in stack.wait_jobs(enrol_jobs)] == ["succeeded"] * 9
    uploads = {}
    for name in names:
        for index in by_speaker[name][5:7]:
            uploads[stack.upload(wav_bytes(speech(index)), "kitchen").json()["job_id"]] = name
    jobs = stack.wait_jobs(list(uploads), timeout_s=120)
    heard = {}
    for job in jobs:
        assert job["status"] == "succeeded", job
        [interaction_id] = job["result"]["interaction_ids"]
        interaction = requests.get(
            stack.url(f"/interactions/{interaction_id}"), headers=user, timeout=10
        ).json()
        heard.setdefault(uploads[job["id"]], set()).add(interaction["person_id"])
    for name in names[:3]:
        assert heard[name] == {person_of[name]}, (name, heard)
    [stranger] = heard[names[3]]
    assert stranger not in person_of.values()
    person = requests.get(stack.url(f"/persons/{stranger}"), headers=user, timeout=10).json()
    assert person["name"] is None and person["index"] == 4


def test_a_spoken_reminder_ends_as_a_command_and_a_remind_action_at_five(stack):
    """flite says "Mira, remind me to call mom at five" to a real gunicorn + RQ worker stack:
    the worker transcribes it offline, answers the command and files a reminder at 17:00 in
    the network's time zone."""
    from tests.audio_data import flite_speech

    stack.start_web()
    stack.start_worker()
    stack.register_client("kitchen")
    user = {"Authorization": "Bearer " + _login(stack)}
    response = requests.patch(
        f"{stack.base_url}/api/v1/networks/{stack.network_id}",
        json={"settings": {"timezone": "America/New_York"}},
        headers=user,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    cursor = requests.get(stack.url("/events"), headers=user, timeout=10).json()["cursor"]
    spoken = flite_speech("Mira, remind me to call mom at five.")
    # Said at 09:30 New York time (EST, -05:00) on 2 March 2026.
    response = stack.upload(wav_bytes(spoken), "kitchen", captured_at="2026-03-02T09:30:00-05:00")
    assert response.status_code == 202, response.text
    [job] = stack.wait_jobs([response.json()["job_id"]])
    assert job["status"] == "succeeded", job
    [interaction_id] = job["result"]["interaction_ids"]
    interaction = requests.get(
        stack.url(f"/interactions/{interaction_id}"), headers=user, timeout=10
    ).json()
    assert interaction["interaction_type"] == "command", interaction
    assert interaction["metadata"]["response"]
    actions = requests.get(stack.url("/actions"), headers=user, timeout=10).json()
    assert [(a["action_type"], a["scheduled_time"]) for a in actions] == [
        ("remind", "2026-03-02T22:00:00Z")  # 17:00 in New York
    ]
    assert actions[0]["interaction_id"] == interaction_id
    events = requests.get(stack.url(f"/events?after={cursor}"), headers=user, timeout=10).json()[
        "events"
    ]
    kinds = [e["type"] for e in events]
    assert "interaction.created" in kinds and "action.created" in kinds
    assert "conversation.updated" in kinds


def test_a_waiting_long_poll_hears_of_another_processs_change_through_redis(stack):
    """The polled web process reads the table only every 60 s here: a change committed by
    another process (a second gunicorn; a worker publishes the same way) must wake its waiting
    long-poll through Redis pub/sub, or the poll ends empty after its 25 s."""
    import threading

    stack.start_web(MIRA_EVENTS_POLL_S="60")
    other = stack.start_web("web2")
    user = {"Authorization": "Bearer " + _login(stack)}
    cursor = requests.get(stack.url("/events"), headers=user, timeout=10).json()["cursor"]
    answer: dict = {}

    def poll():
        started = time.monotonic()
        response = requests.get(
            stack.url(f"/events?after={cursor}&wait=25"), headers=user, timeout=40
        )
        answer.update(body=response.json(), elapsed=time.monotonic() - started)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(1.0)  # the poll is waiting before the change
    response = requests.post(
        f"{other}/api/v1/{stack.network_id}/persons", json={"name": "Ada"}, headers=user, timeout=10
    )
    assert response.status_code == 201, response.text
    poller.join(timeout=40)
    assert [e["type"] for e in answer["body"]["events"]] == ["person.created"], answer
    assert answer["elapsed"] < 20, answer["elapsed"]
