"""Observability: JSON access and job logs, /metrics, /health/detailed, security settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mira.config import ConfigError, load_config
from mira.extensions import limiter
from mira.health import services as health
from mira.observability import configure_logging, log_job_stage
from mira.storage import S3Store
from tests.api.factories import insert_job
from tests.audio_data import SR, wav_bytes

SAMPLE_LINE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
    r"(-?[0-9.e+-]+|\+Inf|-Inf|NaN)$"
)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def json_logs(app):
    """The app's loggers write JSON for the test, and go back to text afterwards."""
    app.config["MIRA_LOG_FORMAT"] = "json"
    configure_logging(app)
    yield
    app.config["MIRA_LOG_FORMAT"] = "text"
    configure_logging(app)


# Logs -----------------------------------------------------------------------------------------


def test_each_request_writes_one_json_line_with_its_request_id_network_route_status_and_time(
    client, alice, json_logs, capsys
):
    capsys.readouterr()
    response = client.get(
        f"{alice.prefix()}/persons", headers={**alice.headers, "X-Request-ID": "trace-me-1"}
    )
    assert response.status_code == 200
    lines = [x for x in json_lines(capsys.readouterr().err) if x.get("event") == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "trace-me-1"
    assert line["network_id"] == alice.network_id
    assert line["route"] == "/api/v1/<network_id>/persons"
    assert line["path"] == f"/api/v1/{alice.network_id}/persons"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["logger"] == "mira.access"
    assert line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", line["ts"])


def test_errors_and_unknown_paths_are_logged_too_one_line_each(client, alice, json_logs, capsys):
    capsys.readouterr()
    missing = client.get(f"{alice.prefix()}/persons/{uuid.uuid4()}", headers=alice.headers)
    unknown = client.get("/no/such/thing")
    anonymous = client.get("/api/v1/persons")
    assert (missing.status_code, unknown.status_code, anonymous.status_code) == (404, 404, 401)
    lines = [x for x in json_lines(capsys.readouterr().err) if x.get("event") == "request"]
    assert [(x["route"], x["status"]) for x in lines] == [
        ("/api/v1/<network_id>/persons/<person_id>", 404),
        ("<unmatched>", 404),
        ("/api/v1/persons", 401),
    ]
    assert lines[0]["network_id"] == alice.network_id
    assert lines[1]["network_id"] is None and lines[2]["network_id"] is None
    assert lines[0]["request_id"] == missing.headers["X-Request-ID"]


def test_text_format_is_readable_and_carries_the_same_fields(client, alice, capsys):
    assert client.application.config["MIRA_LOG_FORMAT"] == "text"
    capsys.readouterr()
    client.get(f"{alice.prefix()}/persons", headers={**alice.headers, "X-Request-ID": "txt-1"})
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "mira.access" in x)
    assert not line.startswith("{")
    assert "GET /api/v1/" in line and " 200 " in line
    assert "request_id=txt-1" in line and f"network_id={alice.network_id}" in line


def test_job_stage_line_carries_the_job_and_its_timings(json_logs, capsys):
    job = SimpleNamespace(
        id=uuid.uuid4(), network_id=uuid.uuid4(), kind="analyze", status="running", attempts=2
    )
    capsys.readouterr()
    log_job_stage(job, "vad", {"decode_ms": 12.5, "vad_ms": 3, "note": "ignored"})
    (line,) = [x for x in json_lines(capsys.readouterr().err) if x.get("event") == "job.stage"]
    assert line["job_id"] == str(job.id)
    assert line["network_id"] == str(job.network_id)
    assert (line["kind"], line["stage"], line["status"], line["attempt"]) == (
        "analyze",
        "vad",
        "running",
        2,
    )
    assert line["timings_ms"] == {"decode_ms": 12.5, "vad_ms": 3.0}
    assert line["total_ms"] == 15.5
    assert line["logger"] == "mira.jobs"


def test_log_format_defaults_to_json_in_production_and_refuses_unknown_formats(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("MIRA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("MIRA_LOG_FORMAT", raising=False)
    assert load_config(tmp_path)["MIRA_LOG_FORMAT"] == "json"
    monkeypatch.setenv("MIRA_LOG_FORMAT", "text")
    assert load_config(tmp_path)["MIRA_LOG_FORMAT"] == "text"
    monkeypatch.setenv("MIRA_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError):
        load_config(tmp_path)
    monkeypatch.setenv("MIRA_ENV", "development")
    monkeypatch.delenv("MIRA_LOG_FORMAT")
    assert load_config(tmp_path)["MIRA_LOG_FORMAT"] == "text"


# Metrics --------------------------------------------------------------------------------------


def parse_exposition(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus text exposition, checking each line's syntax."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        assert SAMPLE_LINE.match(line), line
        head, value = line.rsplit(" ", 1)
        name, _, labels = head.partition("{")
        pairs = frozenset(re.findall(r'([a-zA-Z_]+)="((?:\\.|[^"\\])*)"', labels))
        samples[(name, pairs)] = float(value)
    return samples


def metric(samples, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_metrics_count_requests_by_route_and_status_with_a_latency_histogram(client, alice):
    for _ in range(3):
        client.get(f"{alice.prefix()}/persons", headers=alice.headers)
    client.get(f"{alice.prefix()}/persons/{uuid.uuid4()}", headers=alice.headers)
    before = parse_exposition(client.get("/metrics").get_data(as_text=True))
    for _ in range(2):
        client.get(f"{alice.prefix()}/persons", headers=alice.headers)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    after = parse_exposition(response.get_data(as_text=True))
    route = "/api/v1/<network_id>/persons"
    ok = {"method": "GET", "route": route, "status": "200"}
    assert metric(after, "mira_http_requests_total", **ok) == (
        metric(before, "mira_http_requests_total", **ok) + 2
    )
    assert (
        metric(
            after,
            "mira_http_requests_total",
            method="GET",
            route="/api/v1/<network_id>/persons/<person_id>",
            status="404",
        )
        >= 1
    )
    base = {"method": "GET", "route": route}
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in after.items()
        if name == "mira_http_request_duration_seconds_bucket"
        and {k: v for k, v in labels if k != "le"} == base
    )
    counts = [value for _, value in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert buckets[-1][0] == float("inf")
    count = metric(after, "mira_http_request_duration_seconds_count", **base)
    assert counts[-1] == count
    assert count - metric(before, "mira_http_request_duration_seconds_count", **base) == 2
    assert metric(after, "mira_http_request_duration_seconds_sum", **base) > 0


def test_metrics_report_jobs_by_status_and_queue_depth_from_the_database(client, alice, bob):
    for status in ("queued", "queued", "failed"):
        insert_job(alice.network_id, kind="analyze", status=status)
    insert_job(bob.network_id, kind="enroll", status="queued")
    insert_job(bob.network_id, kind="enroll", status="succeeded")
    samples = parse_exposition(client.get("/metrics").get_data(as_text=True))
    assert metric(samples, "mira_jobs", kind="analyze", status="queued") == 2
    assert metric(samples, "mira_jobs", kind="enroll", status="queued") == 1
    assert metric(samples, "mira_jobs_by_status", status="queued") == 3
    assert metric(samples, "mira_jobs_by_status", status="failed") == 1
    assert metric(samples, "mira_jobs_by_status", status="succeeded") == 1
    assert metric(samples, "mira_jobs_by_status", status="running") == 0
    assert metric(samples, "mira_queue_depth", source="database") == 3


@pytest.fixture
def config(app):
    """Change settings for one test; restored afterwards (the app is shared)."""
    saved = dict(app.config)

    def change(**values):
        app.config.update(values)

    yield change
    app.config.clear()
    app.config.update(saved)


def test_metrics_with_a_token_need_it_as_bearer(client, config):
    config(MIRA_METRICS_TOKEN="s3cret-scrape-token")
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json["error_code"] == "UNAUTHORIZED"
    assert "mira_" not in wrong.get_data(as_text=True)
    right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert right.status_code == 200
    assert "mira_http_requests_total" in right.get_data(as_text=True)


def test_metrics_without_a_token_are_hidden_in_production_and_open_in_development(client, config):
    config(MIRA_METRICS_TOKEN=None, MIRA_ENV="production")
    hidden = client.get("/metrics")
    assert hidden.status_code == 404
    assert hidden.json["error_code"] == "NOT_FOUND"
    config(MIRA_ENV="development")
    assert client.get("/metrics").status_code == 200


def test_metrics_are_not_in_the_openapi_document(client):
    assert "/metrics" not in client.get("/openapi.json").json["paths"]


# Health ---------------------------------------------------------------------------------------


def test_detailed_health_checks_database_queue_failed_jobs_storage_and_models(client, alice):
    insert_job(alice.network_id, kind="analyze", status="queued")
    insert_job(alice.network_id, kind="analyze", status="failed")
    response = client.get("/health/detailed")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "healthy"
    checks = body["checks"]
    assert set(checks) == {"database", "queue", "failed_jobs", "storage", "models"}
    assert all(check["ok"] for check in checks.values())
    assert checks["queue"]["backend"] == "sync"
    assert checks["queue"]["queued"] == 1 and checks["queue"]["depth"] == 1
    assert checks["queue"]["oldest_queued_s"] >= 0
    assert checks["failed_jobs"]["failed_total"] == 1
    assert checks["storage"]["backend"] == "local"
    assert checks["models"]["voice_encoder"] is True
    assert "whisper" in checks["models"]["transcription"]
    assert all(isinstance(check["latency_ms"], float) for check in checks.values())


def test_unwritable_storage_degrades_health_but_the_database_keeps_it_200(
    client, app, tmp_path, config
):
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("x")
    store = app.extensions.pop("mira_storage", None)
    config(MIRA_STORAGE_URL=str(blocked / "audio"))
    try:
        response = client.get("/health/detailed")
    finally:
        app.extensions.pop("mira_storage", None)
        if store is not None:
            app.extensions["mira_storage"] = store
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["checks"]["storage"]["ok"] is False
    assert response.json["checks"]["database"]["ok"] is True
    assert str(tmp_path) not in response.get_data(as_text=True)


def test_missing_voice_weights_degrade_health(client, monkeypatch):
    health._installed_models.cache_clear()
    real_find_spec = health.importlib.util.find_spec
    monkeypatch.setattr(
        health.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "resemblyzer" else real_find_spec(name, *a),
    )
    try:
        body = client.get("/health/detailed").json
    finally:
        health._installed_models.cache_clear()
    assert body["status"] == "degraded"
    assert body["checks"]["models"]["ok"] is False
    assert body["checks"]["models"]["voice_encoder"] is False


def test_detailed_health_answers_without_importing_the_model_stack(tmp_path):
    """Readiness looks for weight files; loading torch in the web process would cost seconds."""
    probe = (
        "import json, sys, wsgi\n"
        "body = wsgi.app.test_client().get('/health/detailed').json\n"
        "heavy = [m for m in ('torch', 'resemblyzer', 'faster_whisper', 'numpy') "
        "if m in sys.modules]\n"
        "print(json.dumps({'models': body['checks']['models'], 'heavy': heavy}))\n"
    )
    env = {**os.environ, "MIRA_INSTANCE_PATH": str(tmp_path / "instance")}
    for name in ("DATABASE_URL", "REDIS_URL", "MIRA_QUEUE"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["models"]["voice_encoder"] is True
    assert found["heavy"] == []


@mock_aws
def test_s3_store_health_asks_the_bucket():
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="mira-audio")
    assert S3Store("s3://mira-audio/prefix").health() == {"backend": "s3"}
    with pytest.raises(ClientError):
        S3Store("s3://no-such-bucket").health()


# Security settings ----------------------------------------------------------------------------


@mock_aws
def test_secrets_manager_fills_missing_settings_and_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    arn = boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
        Name="mira/prod",
        SecretString=json.dumps(
            {
                "SECRET_KEY": "k" * 48,
                "MIRA_METRICS_TOKEN": "from-the-secret",
                "MIRA_AUTH_RATE_LIMIT": "5 per minute",
            }
        ),
    )["ARN"]
    for name in ("SECRET_KEY", "MIRA_METRICS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MIRA_AUTH_RATE_LIMIT", "7 per minute")
    monkeypatch.setenv("MIRA_ENV", "production")
    monkeypatch.setenv("MIRA_SECRETS_ARN", arn)
    try:
        config = load_config(tmp_path)
    finally:
        for name in ("SECRET_KEY", "MIRA_METRICS_TOKEN"):
            os.environ.pop(name, None)
    assert config["SECRET_KEY"] == "k" * 48
    assert config["MIRA_METRICS_TOKEN"] == "from-the-secret"
    assert config["MIRA_AUTH_RATE_LIMIT"] == "7 per minute"


@mock_aws
def test_an_unreadable_secret_stops_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv(
        "MIRA_SECRETS_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing"
    )
    with pytest.raises(ConfigError, match="MIRA_SECRETS_ARN"):
        load_config(tmp_path)


@pytest.mark.parametrize("key", ["change-me", "short-but-set", None])
def test_production_refuses_a_missing_or_placeholder_secret_key(monkeypatch, tmp_path, key):
    monkeypatch.setenv("MIRA_ENV", "production")
    monkeypatch.delenv("MIRA_SECRETS_ARN", raising=False)
    if key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path)


# Upload rate limit ----------------------------------------------------------------------------


@pytest.fixture
def upload_limited(make_app, app):
    """An app allowing 2 uploads a minute per network (the limiter is a process singleton)."""
    was_enabled = limiter.enabled
    limited = make_app(
        RATELIMIT_ENABLED=True,
        MIRA_UPLOAD_RATE_LIMIT="2 per minute",
        RATELIMIT_STORAGE_URI="memory://",
    )
    try:
        yield limited.test_client()
    finally:
        limiter.enabled = was_enabled


def _upload(client, account, key: str, client_id: str):
    import numpy as np

    silence = wav_bytes(np.zeros(SR // 2, dtype=np.float32))
    return client.post(
        f"{account.prefix()}/interactions/register?client_id={client_id}",
        data=silence,
        content_type="audio/wav",
        headers={"X-API-Key": key},
    )


def _device(client, account, client_id: str) -> str:
    key = client.post(
        f"{account.prefix()}/service/keys", json={"name": "mic"}, headers=account.headers
    ).json["key"]
    registered = client.post(
        f"{account.prefix()}/service/client/register/{client_id}", headers={"X-API-Key": key}
    )
    assert registered.status_code == 200
    return key


def test_uploads_are_rate_limited_per_network(upload_limited, alice, bob):
    alice_key = _device(upload_limited, alice, "kitchen")
    bob_key = _device(upload_limited, bob, "hall")
    assert [_upload(upload_limited, alice, alice_key, "kitchen").status_code for _ in range(2)] == [
        202,
        202,
    ]
    limited = _upload(upload_limited, alice, alice_key, "kitchen")
    assert limited.status_code == 429
    assert limited.json["error_code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0
    # The stream alias shares the network's budget; another network has its own.
    stream = upload_limited.post(
        f"{alice.prefix()}/streams/kitchen/audio",
        data=b"\x00\x01" * 100,
        content_type="application/octet-stream",
        headers={"X-API-Key": alice_key},
    )
    assert stream.status_code == 429
    assert _upload(upload_limited, bob, bob_key, "hall").status_code == 202


def test_request_threads_of_a_fresh_process_share_one_set_of_metrics(monkeypatch):
    """Two threads making the metrics at once would each count into counters of their own
    (in multiprocess mode one's increments overwrite the other's): they are made once."""
    import threading
    import time

    from mira import metrics

    build = metrics._build_metrics

    def slow_build():
        time.sleep(0.05)  # the window two first requests of a worker can meet in
        return build()

    monkeypatch.setattr(metrics, "_made", None)
    monkeypatch.setattr(metrics, "_build_metrics", slow_build)
    start = threading.Barrier(8)
    seen = []

    def first_request():
        start.wait()
        seen.append(metrics._metrics())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(made) for made in seen}) == 1
