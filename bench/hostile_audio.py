"""Peak memory of the worker while it meets the bomb corpus (issue 14, must reach <= 1 GB).

Starts gunicorn and ONE `flask mira worker` on a fresh PostgreSQL database and Redis, then
uploads the decompression bombs and forged headers of tests/hostile_audio.py (an hour of
48 kHz stereo silence as OGG/Vorbis, OGG/Opus, FLAC, MP3 and WebM; WAV headers claiming
3 MHz and 2^31 Hz). Printed per bomb: what the API answered (4xx code, or the job's
error), and the peak RSS (VmHWM) of the worker and of its decoding helper after it; then
the worst case. Each bomb's figure is the peak so far (VmHWM only grows), so the last line
is the corpus's worst case.

    .venv/bin/python bench/hostile_audio.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from common import (
    HOST,
    PROJECT_ROOT,
    Processes,
    create_database,
    drop_database,
    flask,
    free_port,
    gunicorn_command,
    wait_healthy,
)

sys.path.insert(0, str(PROJECT_ROOT))
from tests.hostile_audio import command_line, descendants, make_corpus, peak_rss_mb  # noqa: E402

LIMIT_MB = 1024


def peak_mb(pid: int) -> float:
    """The peak RSS, or 0 once the process is gone (a report goes on where a test would fail)."""
    try:
        return peak_rss_mb(pid)
    except OSError:
        return 0.0


def helper_peak_mb(worker_pid: int) -> float:
    """The decoding helper's peak (RQ's scheduler is a child of the worker too)."""
    peaks = [
        peak_mb(pid) for pid in descendants(worker_pid) if "mira.audio.sandbox" in command_line(pid)
    ]
    return max(peaks, default=0.0)


def main() -> None:
    logdir = Path(tempfile.mkdtemp(prefix="mira-hostile-"))
    print("making the bomb corpus with ffmpeg ...", flush=True)
    corpus = make_corpus(logdir / "bombs")
    database = f"mira_bench_hostile_{uuid.uuid4().hex[:8]}"
    create_database(database)
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": f"postgresql://postgres@{HOST}:5432/{database}",
        "REDIS_URL": os.environ.get("REDIS_URL", f"redis://{HOST}:6379/0"),
        "MIRA_QUEUE_NAME": f"mira-hostile-{uuid.uuid4().hex[:8]}",
        "MIRA_STORAGE_URL": str(logdir / "audio"),
        "MIRA_INSTANCE_PATH": str(logdir / "instance"),
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "MIRA_RATE_LIMITS": "false",
        "LOG_LEVEL": "WARNING",
    }
    procs = Processes(env, logdir)
    try:
        flask(env, "db", "upgrade")
        user = json.loads(
            flask(env, "mira", "create-user", "h@example.com", "--password", "x" * 12)
        )
        network = user["default_network_id"]
        key = json.loads(flask(env, "mira", "create-device-key", network))["key"]
        port = free_port()
        web = procs.start("web", gunicorn_command(port))
        wait_healthy(port, web, log=lambda: procs.log("web"))
        worker = procs.start("worker", [sys.executable, "-m", "flask", "mira", "worker"])
        while "ready" not in procs.log("worker"):
            if worker.poll() is not None:
                sys.exit(procs.log("worker")[-3000:])
            time.sleep(0.2)
        base = f"http://{HOST}:{port}/api/v1/{network}"
        device = {"X-API-Key": key}
        requests.post(f"{base}/service/client/register/mic", headers=device, timeout=10)
        print(f"worker ready: peak RSS {peak_mb(worker.pid):.0f} MB (models loaded)")
        for name, data in corpus.items():
            response = requests.post(
                f"{base}/interactions/register",
                headers=device,
                files={"audio": ("clip.bin", data)},
                data={"client_id": "mic"},
                timeout=60,
            )
            if response.status_code == 202:
                job_id = response.json()["job_id"]
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    job = requests.get(f"{base}/jobs/{job_id}", headers=device, timeout=10).json()
                    if job["status"] in ("succeeded", "failed", "superseded"):
                        break
                    time.sleep(0.25)
                outcome = f"job {job['status']} after {job['attempts']} attempt(s): {job['error']}"
            else:
                outcome = f"{response.status_code} {response.json()['error_code']}"
            helper_peak = helper_peak_mb(worker.pid)
            print(
                f"{name:16s} {len(data) / 1e6:6.1f} MB  {outcome}\n"
                f"{'':16s} worker peak {peak_mb(worker.pid):.0f} MB, "
                f"decoding helper peak {helper_peak:.0f} MB",
                flush=True,
            )
        alive = worker.poll() is None
        worst_worker = peak_mb(worker.pid)
        worst_helper = helper_peak_mb(worker.pid)
        worst = max(worst_worker, worst_helper)
        verdict = "PASS" if alive and worst <= LIMIT_MB else "MISS"
        print(
            f"worst case: worker {worst_worker:.0f} MB, decoding helper {worst_helper:.0f} MB "
            f"(target <= {LIMIT_MB} MB each; worker alive: {alive}): {verdict}"
        )
    finally:
        procs.stop_all()
        drop_database(database)


if __name__ == "__main__":
    main()
