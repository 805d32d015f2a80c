"""Whole analysis job latency: upload of a 5 s utterance → its `interaction.created` event.

Starts gunicorn (`gunicorn.conf.py`) and ONE `flask mira worker` on a fresh PostgreSQL
database and Redis, with the offline engines (Whisper tiny.en, offline assistant). Each round
uploads one utterance and long-polls `GET /events` until the interaction's event arrives:
5.0 s cuts of the LibriSpeech files (tests/data), and flite-spoken commands ("Mira, remind me …").
Sequential, so the worker handles one job at a time, as a household's worker would.

Printed: median / p90 latency from the start of the upload to the event, the median time to
the 202 (the reference measured in the same run) and the worker's median per-stage split.
Target: median <= 3 s. A single-microphone network (the default here) skips the dedup window;
`--microphones 2` registers a second client so each job waits MIRA_DEDUP_WINDOW_MS first.

`--contexts full,short` measures the worker with each `MIRA_WHISPER_CONTEXT` in turn, in the
same run (one fresh stack each, the same uploads), so the short encoder context is reported
beside the default. An entry may override Whisper settings after `+` (`beam`, `threads`,
`window` = MIRA_WHISPER_MIN_WINDOW_S): `full+beam=5,short+beam=1+window=15+threads=1`.
`--cut 3` cuts the LibriSpeech utterances to 3 s instead of 5 s.

    .venv/bin/python bench/job_latency.py
    .venv/bin/python bench/job_latency.py --rounds 20 --microphones 2
    .venv/bin/python bench/job_latency.py --contexts full,short
    .venv/bin/python bench/job_latency.py --cut 3 --contexts full+threads=1,short+beam=1+threads=1
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
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

TARGET_S = 3.0
CUT_S = 5.0
WHISPER_KEYS = {
    "beam": "MIRA_WHISPER_BEAM",
    "threads": "MIRA_WHISPER_THREADS",
    "window": "MIRA_WHISPER_MIN_WINDOW_S",
}
COMMANDS = [
    "Mira, remind me to call mom at five.",
    "Mira, what time is it?",
    "Mira, add batteries to my shopping list.",
]


def clips(rounds: int, cut_s: float = CUT_S) -> list[tuple[str, bytes]]:
    sys.path.insert(0, str(PROJECT_ROOT))
    import numpy as np

    from tests.audio_data import flite_speech, speech, speech_files, wav_bytes

    long_enough = [i for i in range(len(speech_files())) if len(speech(i)) >= cut_s * 16_000]
    out = []
    for n in range(rounds):
        if n % 4 == 3:
            out.append(("command", wav_bytes(flite_speech(COMMANDS[n % len(COMMANDS)]))))
        else:
            index = long_enough[(n * 7) % len(long_enough)]
            cut = speech(index)[: int(cut_s * 16_000)].astype(np.float32)
            out.append((f"speech {cut_s:g} s", wav_bytes(cut)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--microphones", type=int, default=1)
    parser.add_argument("--contexts", default="", help="e.g. full,short: one stack for each")
    parser.add_argument("--context", default="", help=argparse.SUPPRESS)
    parser.add_argument("--cut", type=float, default=CUT_S, help="seconds of each speech cut")
    args = parser.parse_args()
    if args.contexts:
        import subprocess

        for context in args.contexts.split(","):
            print(f"\n===== MIRA_WHISPER_CONTEXT={context}", flush=True)
            subprocess.run(
                [sys.executable, __file__, "--rounds", str(args.rounds), "--microphones",
                 str(args.microphones), "--context", context, "--cut", str(args.cut)],
                check=True,
            )  # fmt: skip
        return
    uploads = clips(args.rounds + 1, args.cut)  # the first round is a warm-up
    database = f"mira_bench_latency_{uuid.uuid4().hex[:8]}"
    create_database(database)
    logdir = Path(tempfile.mkdtemp(prefix="mira-latency-"))
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": f"postgresql://postgres@{HOST}:5432/{database}",
        "REDIS_URL": os.environ.get("REDIS_URL", f"redis://{HOST}:6379/0"),
        "MIRA_QUEUE_NAME": f"mira-latency-{uuid.uuid4().hex[:8]}",
        "MIRA_STORAGE_URL": str(logdir / "audio"),
        "MIRA_INSTANCE_PATH": str(logdir / "instance"),
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "MIRA_RATE_LIMITS": "false",
        "LOG_LEVEL": "WARNING",
    }
    if args.context:
        context, *overrides = args.context.split("+")
        env["MIRA_WHISPER_CONTEXT"] = context
        for override in overrides:
            key, _, value = override.partition("=")
            env[WHISPER_KEYS[key]] = value
    procs = Processes(env, logdir)
    try:
        flask(env, "db", "upgrade")
        password = "latency bench!"
        user = json.loads(
            flask(env, "mira", "create-user", "b@example.com", "--password", password)
        )
        network = user["default_network_id"]
        key = json.loads(flask(env, "mira", "create-device-key", network))["key"]
        port = free_port()
        web = procs.start("web", gunicorn_command(port))
        wait_healthy(port, web, log=lambda: procs.log("web"))
        began = time.perf_counter()
        worker = procs.start("worker", [sys.executable, "-m", "flask", "mira", "worker"])
        while "ready" not in procs.log("worker"):
            if worker.poll() is not None:
                sys.exit(procs.log("worker")[-3000:])
            time.sleep(0.2)
        print(f"worker warm-up {time.perf_counter() - began:.1f} s (models loaded once)")
        base = f"http://{HOST}:{port}/api/v1/{network}"
        device = {"X-API-Key": key}
        for n in range(args.microphones):
            requests.post(f"{base}/service/client/register/mic{n}", headers=device, timeout=10)
        token = requests.post(
            f"http://{HOST}:{port}/api/v1/auth/login",
            json={"email": "b@example.com", "password": password},
            timeout=10,
        ).json()["access_token"]
        user_headers = {"Authorization": f"Bearer {token}"}
        session = requests.Session()
        to_event, to_202, stages, kinds = [], [], {}, []
        for n, (kind, data) in enumerate(uploads):
            cursor = session.get(f"{base}/events", headers=user_headers, timeout=10).json()[
                "cursor"
            ]
            started = time.perf_counter()
            response = session.post(
                f"{base}/interactions/register",
                headers=device,
                files={"audio": ("clip.wav", io.BytesIO(data))},
                data={"client_id": "mic0"},
                timeout=30,
            )
            accepted = time.perf_counter() - started
            job_id = response.json()["job_id"]
            seen = None
            while seen is None and time.perf_counter() - started < 60:
                body = session.get(
                    f"{base}/events?after={cursor}&wait=10", headers=user_headers, timeout=20
                ).json()
                cursor = body["cursor"]
                for event in body["events"]:
                    if event["type"] == "interaction.created":
                        seen = time.perf_counter() - started
            job = session.get(f"{base}/jobs/{job_id}", headers=device, timeout=10).json()
            if seen is None:
                print(f"round {n}: no interaction event within 60 s; job {job['status']}")
                continue
            if n == 0:
                print(f"warm-up round: {seen:.2f} s")
                continue
            to_event.append(seen)
            to_202.append(accepted)
            kinds.append(kind)
            for stage, ms in (job.get("timings") or {}).items():
                stages.setdefault(stage, []).append(ms)
        ordered = sorted(to_event)
        p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
        median = statistics.median(ordered)
        print(
            f"\n{len(ordered)} rounds ({len(kinds) - kinds.count('command')} × {args.cut:g} s "
            f"speech, {kinds.count('command')} flite commands), {args.microphones} microphone(s)"
        )
        print(
            f"upload → interaction event: median {median:.2f} s, p90 {p90:.2f} s, "
            f"max {ordered[-1]:.2f} s"
        )
        ref = statistics.median(to_202)
        print(
            f"reference, upload → 202: median {ref * 1000:.0f} ms "
            f"(event/202 ratio {median / ref:.0f}×)"
        )
        if stages:
            split = ", ".join(
                f"{k.removesuffix('_ms')} {statistics.median(v):.0f}" for k, v in stages.items()
            )
            print(f"worker stages, median ms: {split}")
        verdict = "PASS" if median <= TARGET_S else "MISS"
        print(f"target median <= {TARGET_S:.0f} s: {verdict}")
    finally:
        procs.stop_all()
        drop_database(database)


if __name__ == "__main__":
    main()
