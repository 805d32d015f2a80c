"""Helpers shared by the load benchmarks (api_load.py, upload_load.py).

The benchmarks run as scripts (`.venv/bin/python bench/api_load.py`), so `bench/` is
sys.path[0] and they import this module as `common`; so do their `--drive` child processes.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- options


def add_settings_option(parser: argparse.ArgumentParser) -> None:
    """--settings WORKERSxTHREADS[,...]; defaults to what gunicorn.conf.py would use here."""
    threads = os.environ.get("GUNICORN_THREADS") or str(
        8 + int(os.environ.get("MIRA_REALTIME_MAX_SOCKETS") or "500")
    )
    parser.add_argument(
        "--settings",
        default=f"{os.environ.get('GUNICORN_WORKERS', '1')}x{threads}",
        help="comma-separated WORKERSxTHREADS, e.g. 1x8,2x4",
    )


def parse_settings(text: str) -> list[tuple[int, int]]:
    """The --settings text, e.g. 1x8,2x4, as [(1, 8), (2, 4)]."""
    return [tuple(int(x) for x in item.split("x")) for item in text.split(",")]


# --------------------------------------------------------------------------- load generator


def run_clients(count: int, client: Callable[[int, threading.Barrier], None]) -> float:
    """Run client(index, gate) on `count` threads; return the seconds they took.

    Each client calls gate.wait() once its connection is open, and the clock starts only when all
    of them have, so thread start-up and connection setup are not part of the measurement.
    """
    gate = threading.Barrier(count + 1)
    threads = [threading.Thread(target=client, args=(i, gate)) for i in range(count)]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank in an already sorted sample (no interpolation); NaN when it is empty."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def latency_figures(ordered_ms: list[float]) -> dict:
    """n, p50, p95, p99 of sorted latencies in ms: the figures every summary line shows."""
    return {
        "n": len(ordered_ms),
        "p50": percentile(ordered_ms, 50),
        "p95": percentile(ordered_ms, 95),
        "p99": percentile(ordered_ms, 99),
    }


def latency_line(
    name: str, r: dict, *, name_width: int, count_width: int, rate_width: int, rate_unit: str
) -> str:
    """One result line; the widths are per benchmark so each keeps its own column layout."""
    return (
        f"{name:<{name_width}} n={r['n']:>{count_width}}  p50 {r['p50']:6.1f} ms  "
        f"p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms  {r['rps']:{rate_width}.1f}{rate_unit}"
        f"  errors {r['errors']}"
    )


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A port the OS just handed out, so parallel runs do not collide on a fixed one."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct children of `pid` (gunicorn's workers), read from /proc: no psutil needed."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("PPid:") and int(line.split()[1]) == pid:
                found.append(int(entry.name))
    return found


def rss_mb(pid: int) -> float:
    """Resident set size in MB from /proc; 0.0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Processes:
    """Everything started here, each in its own session so its children stop with it."""

    def __init__(self, env: dict[str, str], logdir: Path):
        self.env, self.logdir = env, logdir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], **env) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop_all)
        proc = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log_file = log
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        proc.log_file.close()

    def stop_all(self) -> None:
        for _, proc in reversed(self.procs):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop pid {proc.pid}: {exc}", file=sys.stderr)
        self.procs.clear()


def gunicorn_command(port: int) -> list[str]:
    """The production server as deployed (gunicorn.conf.py), bound to 127.0.0.1 only."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "gunicorn.conf.py",
        "--bind",
        f"{HOST}:{port}",
        "wsgi:app",
    ]


def wait_healthy(
    port: int,
    proc: subprocess.Popen,
    timeout: float = 60.0,
    log: Callable[[], str] | None = None,
) -> None:
    """Poll GET /health until it answers 200: the port opens before a worker can serve.

    Fails fast if gunicorn exits, with the tail of `log()` when given.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            detail = f":\n{log()[-3000:]}" if log else ""
            raise RuntimeError(f"gunicorn exited{detail}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not become healthy")


def flask(env: dict[str, str], *args: str) -> str:
    """Run a `flask` CLI command (migrations, user/key provisioning); its stdout, or raise."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


# --------------------------------------------------------------------------- database


def admin_connection(database: str = "postgres"):
    """Superuser connection (local trust auth), autocommit: CREATE/DROP DATABASE and VACUUM
    cannot run inside a transaction."""
    import psycopg2  # only the parent needs it; --drive children stay light

    conn = psycopg2.connect(host=HOST, port=5432, user="postgres", dbname=database)
    conn.autocommit = True
    return conn


def create_database(name: str) -> None:
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def drop_database(name: str) -> None:
    """FORCE: a benchmark that failed half-way may leave connections open."""
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()
