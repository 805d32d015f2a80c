"""Real processes: gunicorn, `flask mira worker`, PostgreSQL, Redis.

These tests need TEST_DATABASE_URL (PostgreSQL) and REDIS_URL; CI provides both. Each test
gets its own database and queue name, so nothing it does touches other tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_services() -> tuple[str, str]:
    db_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("REDIS_URL")
    if not db_url or not redis_url:
        if os.environ.get("CI"):
            pytest.fail("End-to-end tests need TEST_DATABASE_URL and REDIS_URL in CI")
        pytest.skip("needs TEST_DATABASE_URL (PostgreSQL) and REDIS_URL")
    return db_url, redis_url


class Stack:
    """Environment, processes and an HTTP helper for one end-to-end test."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.tmp = tmp_path
        self.env = {**os.environ, **env, "FLASK_APP": "wsgi", "PYTHONUNBUFFERED": "1"}
        self.processes: list[subprocess.Popen] = []
        self.base_url = ""
        self.key = ""
        self.network_id = ""

    def flask(self, *args: str, **env) -> str:
        done = subprocess.run(
            [*FLASK, *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, command: list[str], name: str, **env) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log_file = log
        self.processes.append(process)
        return process

    def start_web(self, name: str = "web", **env) -> str:
        """Start gunicorn; the first one started is `base_url`. Returns its URL."""
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        self.base_url = self.base_url or base_url
        self.start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            name,
            **env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base_url}/health", timeout=5).status_code == 200:
                    return base_url
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start: " + self.read_log(name))

    def start_worker(self, name: str = "worker", **env) -> subprocess.Popen:
        process = self.start([*FLASK, "mira", "worker"], name, **env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if '"worker": "ready"' in self.read_log(name):
                return process
            assert process.poll() is None, self.read_log(name)
            time.sleep(0.2)
        raise AssertionError("worker did not start: " + self.read_log(name))

    def read_log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @staticmethod
    def kill(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
        if process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            try:
                self.kill(process, signal.SIGTERM)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                self.kill(process)
            process.log_file.close()

    def provision(self) -> None:
        self.flask("db", "upgrade")
        user = json.loads(
            self.flask("mira", "create-user", "e2e@example.com", "--password", "e2e password!")
        )
        self.network_id = user["default_network_id"]
        self.key = json.loads(self.flask("mira", "create-device-key", self.network_id))["key"]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{self.network_id}{path}"

    def register_client(self, client_id: str) -> None:
        response = requests.post(
            self.url(f"/service/client/register/{client_id}"), headers=self.headers, timeout=10
        )
        assert response.status_code == 200, response.text

    def upload(self, data: bytes, client_id: str, **form) -> requests.Response:
        return requests.post(
            self.url("/interactions/register"),
            headers=self.headers,
            timeout=30,
            files={"audio": ("clip.wav", data)},
            data={"client_id": client_id, **form},
        )

    def job(self, job_id: str) -> dict:
        return requests.get(self.url(f"/jobs/{job_id}"), headers=self.headers, timeout=10).json()

    def wait_jobs(
        self, job_ids, timeout_s: float = 90, done=("succeeded", "failed", "superseded")
    ) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while True:
            jobs = [self.job(j) for j in job_ids]
            if all(j["status"] in done for j in jobs) or time.monotonic() > deadline:
                return jobs
            time.sleep(0.25)


def embedded_stack(tmp_path: Path, **env: str) -> Stack:
    """What `make run` starts: SQLite, jobs on threads of the web process, no Redis."""
    stack = Stack(tmp_path, {})
    stack.env = {k: v for k, v in stack.env.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    stack.env.update(
        {
            "MIRA_INSTANCE_PATH": str(tmp_path / "instance"),
            "MIRA_RATE_LIMITS": "false",
            "MIRA_STORAGE_URL": str(tmp_path / "audio"),
            **env,
        }
    )
    return stack


@pytest.fixture
def stack(tmp_path):
    db_url, redis_url = require_services()
    import psycopg2
    from sqlalchemy.engine import make_url

    from mira.config import normalise_db_url

    base = make_url(normalise_db_url(db_url))
    name = f"mira_e2e_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(
        host=base.host,
        port=base.port or 5432,
        user=base.username,
        password=base.password,
        dbname=base.database,
    )
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    env = {
        "DATABASE_URL": base.set(database=name).render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "MIRA_QUEUE_NAME": f"mira-e2e-{uuid.uuid4().hex[:8]}",
        "MIRA_STORAGE_URL": str(tmp_path / "audio"),
        "MIRA_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "e2e-secret",
        "MIRA_RATE_LIMITS": "false",
        "MIRA_DEDUP_WINDOW_MS": "300",
        "GUNICORN_WORKERS": "2",
    }
    stack = Stack(tmp_path, env)
    try:
        stack.provision()
        yield stack
    finally:
        stack.stop_all()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
