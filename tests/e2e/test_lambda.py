"""Mira on AWS Lambda, simulated: Zappa's handler in a fresh process, fed the events Lambda sends.

No AWS account is involved: the database is SQLite in a temporary folder, blobs go to a local
folder, and the Lambda API that `MIRA_QUEUE=zappa` calls for async tasks is a local endpoint
(`FakeLambdaApi`) reached by a real boto3 client, so the async payload is captured as sent and
then fed back to the handler, as Lambda would deliver it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.audio_data import speech, wav_bytes
from tests.e2e.lambda_events import (
    ROOT,
    FakeLambdaApi,
    LambdaContainer,
    aws_environment,
    http_event,
    json_event,
    response_json,
    scheduled_event,
)
from tests.unit.test_light_imports import HEAVY_MODULES as WEB_HEAVY_MODULES

FUNCTION = "mira-lambda-test"
STAGE = "lambda_test"
# The web process's heavy-module list; Zappa's handler itself is expected, its async task
# machinery only once a job is dispatched.
HEAVY_MODULES = [m for m in WEB_HEAVY_MODULES if m != "zappa"] + ["zappa.asynchronous"]


def _settings_module(tmp_path: Path) -> Path:
    """Zappa's own CLI writes zappa_settings.py for a stage that extends `production`, with a
    local database and blob folder instead of RDS and S3 (and no remote env file on S3)."""
    production = json.loads((ROOT / "zappa_settings.json").read_text())["production"]
    settings = {
        "production": production,
        STAGE: {
            "extends": "production",
            "remote_env": None,
            "environment_variables": {
                **production["environment_variables"],
                "DATABASE_URL": f"sqlite:///{tmp_path / 'mira.db'}",
                "MIRA_STORAGE_URL": str(tmp_path / "audio"),
                "MIRA_INSTANCE_PATH": str(tmp_path / "instance"),
                "SECRET_KEY": secrets.token_urlsafe(48),
                "MIRA_DEDUP_WINDOW_MS": "200",
            },
        },
    }
    folder = tmp_path / "settings"
    folder.mkdir()
    (folder / "zappa_settings.json").write_text(json.dumps(settings))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zappa.cli",
            "save-python-settings-file",
            STAGE,
            "-o",
            str(folder / "zappa_settings.py"),
        ],
        cwd=folder,
        env=_clean_env({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    for name in ("DATABASE_URL", "REDIS_URL", "MIRA_QUEUE", "MIRA_STORAGE_URL", "AWS_PROFILE"):
        env.pop(name, None)
    return env


def _rule_name(function: str) -> str:
    """The EventBridge rule name Zappa gives a scheduled function of the production stage."""
    from zappa.cli import ZappaCLI

    cli = ZappaCLI()
    cli.api_stage = "production"
    cli.load_credentials = False
    cli.load_settings(str(ROOT / "zappa_settings.json"))
    event = next(e for e in cli.stage_config["events"] if e["function"] == function)
    return cli.zappa.get_scheduled_event_name(event, function, cli.lambda_name), event


def _multipart(fields: dict[str, str], audio: bytes) -> tuple[bytes, str]:
    prepared = requests.Request(
        "POST", "http://x/", data=fields, files={"audio": ("utterance.wav", audio, "audio/wav")}
    ).prepare()
    return prepared.body, prepared.headers["Content-Type"]


def _get(container: LambdaContainer, path: str, headers: dict[str, str]):
    answer = container.invoke(http_event("GET", path, headers=headers))
    assert answer["statusCode"] == 200, answer
    return response_json(answer)


@pytest.fixture
def lambda_api():
    api = FakeLambdaApi()
    yield api
    api.close()


@pytest.fixture
def container(tmp_path, lambda_api):
    settings = _settings_module(tmp_path)
    running = LambdaContainer(
        settings,
        _clean_env(aws_environment(lambda_api.url, FUNCTION)),
        tmp_path / "lambda.log",
    )
    yield running
    running.close()


@pytest.mark.e2e
@pytest.mark.slow
def test_a_lambda_container_serves_uploads_and_runs_their_analysis_as_async_tasks(
    container, lambda_api
):
    health = container.invoke(http_event("GET", "/health"))
    assert health["statusCode"] == 200, health
    assert response_json(health)["status"] == "healthy"
    assert container.invoke({"probe": HEAVY_MODULES}) == []

    migrated = container.invoke({"command": "mira.lambda_tasks.migrate"})
    assert migrated["migrated"] is True and migrated["revision"]

    registered = container.invoke(
        json_event(
            "POST",
            "/api/v1/auth/register",
            {"email": "lambda@example.com", "password": "lambda password"},
        )
    )
    assert registered["statusCode"] == 201, registered
    auth = {"authorization": f"Bearer {response_json(registered)['access_token']}"}
    client_id = "kitchen mic"
    enrolled = container.invoke(
        http_event("POST", f"/api/v1/service/client/register/{quote(client_id)}", headers=auth)
    )
    assert enrolled["statusCode"] == 200, enrolled

    audio = wav_bytes(speech(0))
    body, content_type = _multipart({"client_id": client_id}, audio)
    # With the network in the path the REST contract answers 202 and the job (the apps'
    # network-less path answers 204).
    network_id = _get(container, "/api/v1/auth/me", auth)["default_network_id"]
    uploaded = container.invoke(
        http_event(
            "POST",
            f"/api/v1/{network_id}/interactions/register",
            headers={**auth, "content-type": content_type},
            body=body,
        )
    )
    assert uploaded["statusCode"] == 202, uploaded
    job_id = response_json(uploaded)["job_id"]

    [invocation] = lambda_api.take()
    assert invocation["path"] == f"/2015-03-31/functions/{FUNCTION}/invocations"
    assert invocation["invocation_type"] == "Event" and invocation["signed"]
    assert len(invocation["body"]) < 1024, len(invocation["body"])  # Lambda's limit: 256 KB
    message = json.loads(invocation["body"])
    assert message["command"] == "zappa.asynchronous.route_lambda_task"
    assert message["task_path"] == "mira.lambda_tasks.run_job"
    assert message["args"] == [job_id]
    assert message["kwargs"] == {"delay_s": 0.0}

    container.invoke(message)
    job = _get(container, f"/api/v1/jobs/{job_id}", auth)
    assert job["status"] == "succeeded", job
    assert job["stage"] == "done" and job["attempts"] == 1
    [interaction_id] = job["result"]["interaction_ids"]

    # Lambda may deliver an async event twice, or retry it: the second run changes nothing.
    container.invoke(message)
    again = _get(container, f"/api/v1/jobs/{job_id}", auth)
    assert (again["status"], again["attempts"], again["finished_at"]) == (
        "succeeded",
        1,
        job["finished_at"],
    )
    assert [i["id"] for i in _get(container, "/api/v1/interactions", auth)] == [interaction_id]
    assert lambda_api.take() == []

    refused = container.invoke(
        http_event(
            "POST",
            "/api/v1/interactions/register",
            headers={"content-type": content_type},
            body=body,
        )
    )
    assert refused["statusCode"] == 401


@pytest.mark.e2e
def test_scheduled_events_reach_the_sweeper_and_the_purge(container):
    container.invoke({"command": "mira.lambda_tasks.migrate"})
    sweep_rule, _ = _rule_name("mira.lambda_tasks.sweep")
    swept = container.invoke(scheduled_event(sweep_rule))
    assert swept == {"requeued": 0, "revived": 0, "failed": 0}

    purge_rule, purge_event = _rule_name("mira.lambda_tasks.purge")
    event = {**scheduled_event(purge_rule), "kwargs": purge_event["kwargs"]}
    purged = container.invoke(event)
    if importlib.util.find_spec("mira.ops") and importlib.util.find_spec("mira.ops.purge"):
        assert isinstance(purged, dict) and purged.get("reason") != "mira.ops.purge unavailable"
    else:
        assert purged == {"purged": False, "reason": "mira.ops.purge unavailable"}
        assert "purge unavailable" in container.log()


# --------------------------------------------------------------------------- in-process checks


@pytest.fixture
def zappa_queue(app, monkeypatch, lambda_api):
    """The app on MIRA_QUEUE=zappa, with Zappa's Lambda client pointed at the local endpoint."""
    import boto3

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    import zappa.asynchronous

    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-central-1"
    ).client("lambda", endpoint_url=lambda_api.url)
    monkeypatch.setattr(zappa.asynchronous, "LAMBDA_CLIENT", client, raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
    monkeypatch.setitem(app.config, "MIRA_QUEUE", "zappa")
    return lambda_api


def _messages(api: FakeLambdaApi) -> list[dict]:
    return [json.loads(call["body"]) for call in api.take()]


def test_zappa_backend_sends_the_job_id_and_a_short_delay(app, zappa_queue):
    from mira import queue

    job_id = str(uuid.uuid4())
    queue.dispatch(job_id)
    queue.dispatch(job_id, delay_s=8.0)
    sent = _messages(zappa_queue)
    assert [(m["args"], m["kwargs"]) for m in sent] == [
        ([job_id], {"delay_s": 0.0}),
        ([job_id], {"delay_s": 8.0}),
    ]


def test_zappa_backend_leaves_long_delays_to_the_sweeper(app, zappa_queue):
    from mira import queue

    queue.dispatch(uuid.uuid4(), delay_s=queue.ZAPPA_MAX_SLEEP_S + 1)
    assert zappa_queue.take() == []


def test_zappa_backend_outside_lambda_needs_a_function_name(app, zappa_queue, monkeypatch):
    from mira import queue

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    with pytest.raises(RuntimeError, match="MIRA_ZAPPA_FUNCTION"):
        queue.dispatch(uuid.uuid4())
    monkeypatch.setenv("MIRA_ZAPPA_FUNCTION", "mira-production")
    queue.dispatch(uuid.uuid4())
    [call] = zappa_queue.take()
    assert call["path"] == "/2015-03-31/functions/mira-production/invocations"


def test_an_upload_on_the_zappa_queue_is_queued_and_sent(app, client, alice, zappa_queue):
    from mira.extensions import db
    from mira.jobs.models import Job

    headers = alice.headers
    response = client.post(f"{alice.prefix()}/service/client/register/kitchen", headers=headers)
    assert response.status_code == 200
    response = client.post(
        f"{alice.prefix()}/interactions/register?client_id=kitchen",
        data=wav_bytes(speech(1)),
        headers={**headers, "Content-Type": "audio/wav"},
    )
    assert response.status_code == 202, response.json
    job_id = response.json["job_id"]
    [message] = _messages(zappa_queue)
    assert message["args"] == [job_id]
    assert db.session.get(Job, uuid.UUID(job_id)).status == "queued"


def test_the_async_task_sleeps_its_delay_then_runs_the_job(app, monkeypatch):
    from mira import lambda_tasks

    slept, ran = [], []
    monkeypatch.setattr(lambda_tasks.time, "sleep", slept.append)
    monkeypatch.setattr("jobs.runner.run_job", ran.append)
    lambda_tasks.run_job("job-1", delay_s=2.0)
    lambda_tasks.run_job("job-2", delay_s=600.0)
    lambda_tasks.run_job("job-3")
    assert slept == [2.0, 15.0]
    assert ran == ["job-1", "job-2", "job-3"]


def test_purge_calls_the_retention_purge_with_the_events_days(app, monkeypatch):
    from types import ModuleType

    from flask import current_app

    from mira import lambda_tasks

    calls = []
    fake = ModuleType("mira.ops.purge")
    fake.purge_older_than = lambda days: calls.append((days, current_app.name)) or {"days": days}
    monkeypatch.setitem(sys.modules, "mira.ops.purge", fake)
    assert lambda_tasks.purge({"kwargs": {"days": 30}}, None) == {"days": 30}
    monkeypatch.setenv("MIRA_RETENTION_DAYS", "45")
    assert lambda_tasks.purge({}, None) == {"days": 45}
    assert calls == [(30, app.name), (45, app.name)]


def test_purge_without_retention_deletes_nothing(app, monkeypatch):
    from types import ModuleType

    from mira import lambda_tasks

    fake = ModuleType("mira.ops.purge")
    fake.purge_older_than = lambda days: pytest.fail("purged without a retention period")
    monkeypatch.setitem(sys.modules, "mira.ops.purge", fake)
    monkeypatch.delenv("MIRA_RETENTION_DAYS", raising=False)
    assert lambda_tasks.purge() == {"purged": False, "reason": "no retention configured"}


def test_purge_reports_a_build_without_the_purge_module(app, monkeypatch, caplog):
    from mira import lambda_tasks

    monkeypatch.setitem(sys.modules, "mira.ops.purge", None)  # import fails as if absent
    result = lambda_tasks.purge({"kwargs": {"days": 30}})
    assert result == {"purged": False, "reason": "mira.ops.purge unavailable"}
    assert "purge unavailable" in caplog.text


def test_a_type_error_inside_a_chore_is_not_retried_by_zappas_signature_fallback(app, monkeypatch):
    from zappa.handler import LambdaHandler

    from mira import lambda_tasks
    from mira.jobs import services

    calls = []

    def broken_sweep(*args):
        calls.append(args)
        raise TypeError("a bug")

    monkeypatch.setattr(services, "sweep", broken_sweep)
    with pytest.raises(RuntimeError, match="a bug"):
        LambdaHandler.run_function(lambda_tasks.sweep, {}, None)
    assert len(calls) == 1
