"""Upload load: concurrent clients posting utterances to gunicorn, next to the stack's floor.

Creates its own PostgreSQL database and RQ queue name, migrates, provisions a user, network and
device key with the `flask mira` CLI, registers one client id per load client, starts gunicorn
(`gunicorn.conf.py`) and `flask mira worker` processes, then drives
`POST /api/v1/{network}/interactions/register` (multipart: a 3 s 16 kHz mono s16 WAV cut from the
LibriSpeech files in tests/data, made in memory) from a separate load-generator process (one
keep-alive http.client connection per client thread).

The floor, in the same run: `bench/floor_app.py`, a bare Flask endpoint that parses the same
multipart body, writes and fsyncs the file, inserts one row into a table of the same database
and RPUSHes one id to Redis, served by a second gunicorn with the same config and shape
(`gunicorn.conf.py`, same workers x threads, gthread) and driven by the same load generator,
clients and WAVs. Each pair measures the floor, then Mira, back to back; with `--pairs N` the
pairs repeat and the medians are compared. Printed: both throughputs and p95s, Mira/floor for
throughput (PASS at >= 0.75) and for p95 (PASS at <= 1.5).

Every upload carries chunk_start_ms/chunk_end_ms. Each upload has its own slot (its own time
interval), so no two are duplicates, except in every 10th round, where clients upload in groups
of 2-3 the same utterance with the same chunk times: each such group must end as exactly one
interaction. Printed: time to the 202 (p50/p95/p99), accepted uploads/s, errors; after the load
the job status counts (all must be succeeded or superseded), interactions vs accepted distinct
slots (PASS/FAIL), the worker drain rate, worker RSS after warm-up and web RSS after the load.
Reference in the same run: GET /health at the same concurrency. Targets: p95 <= 50 ms,
>= 150 uploads/s, web RSS <= 150 MB.

Queue workers: by default they run during the load (they compete for the CPU). With
`--workers-after` they start once the load is over and drain it (the checks above still run);
with `--no-workers` none ever runs: the issue's floor comparison, without the drain and the
interaction checks (each accepted upload must still answer 202 with a job, and the number of
queued job rows must equal the accepted uploads).

    .venv/bin/python bench/upload_load.py                          # 16 clients, 2 RQ workers
    .venv/bin/python bench/upload_load.py --settings 1x8,2x4 --rq-workers 1
    .venv/bin/python bench/upload_load.py --workers-after          # drain after the load
    .venv/bin/python bench/upload_load.py --no-workers --pairs 3   # Mira vs the floor only

Only 127.0.0.1 is contacted. Every process started here is stopped and the database dropped,
even on failure.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from functools import partial
from pathlib import Path

from common import (
    HOST,
    PROJECT_ROOT,
    Processes,
    add_settings_option,
    admin_connection,
    children,
    create_database,
    drop_database,
    flask,
    free_port,
    gunicorn_command,
    latency_figures,
    latency_line,
    parse_settings,
    rss_mb,
    run_clients,
    wait_healthy,
)

DATA = PROJECT_ROOT / "tests" / "data" / "librispeech-test-other"
SR = 16_000
CLIP_S = 3.0
SLOT_MS = 5_000  # each slot is a distinct 3 s interval, 2 s apart from the next
DUP_EVERY = 10  # every 10th round holds duplicate groups
DUP_GROUPS = (3, 2)  # group sizes, alternating, in a duplicate round
TARGET_P95_MS = 50.0
TARGET_RPS = 150.0
TARGET_RSS_MB = 150.0
TARGET_FLOOR_RPS_RATIO = 0.75  # Mira's uploads/s at least this share of the floor's
TARGET_FLOOR_P95_RATIO = 1.5  # Mira's p95 at most this multiple of the floor's
BOUNDARY = "mira-bench-boundary-7f3a"


# --------------------------------------------------------------------------- audio


def make_clips(count: int) -> list[bytes]:
    """3 s WAVs (s16, 16 kHz mono) cut from the LibriSpeech files, each holding speech."""
    import numpy as np
    import soundfile

    from mira.audio.denoise import denoise
    from mira.audio.vad import find_speech

    clips: list[bytes] = []
    files = sorted(DATA.glob("*/*.flac"))
    if not files:
        sys.exit(f"no LibriSpeech files under {DATA.resolve()}")
    length = int(CLIP_S * SR)
    for offset_s in (0.5, 4.0, 8.0):
        for path in files:
            samples, rate = soundfile.read(path, dtype="float32")
            assert rate == SR
            start = int(offset_s * SR)
            cut = samples[start : start + length]
            if len(cut) < length or not find_speech(denoise(cut, "highpass")).has_speech:
                continue
            buffer = io.BytesIO()
            soundfile.write(buffer, np.ascontiguousarray(cut), SR, format="WAV", subtype="PCM_16")
            clips.append(buffer.getvalue())
            if len(clips) == count:
                return clips
    return clips


def multipart(audio: bytes, fields: dict[str, str]) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    head = "".join(parts) + (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="audio"; filename="clip.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    )
    return head.encode() + audio + f"\r\n--{BOUNDARY}--\r\n".encode()


def plan(clients: int, rounds: int, round_base: int, clip_count: int):
    """Per client, per round: (slot, clip index). Duplicate rounds share slot and clip in
    groups of 2-3; every other upload has a slot of its own."""
    schedule: list[list[tuple[int, int]]] = [[] for _ in range(clients)]
    for r in range(round_base, round_base + rounds):
        groups: list[list[int]] = []
        if r % DUP_EVERY == DUP_EVERY // 2:
            c, size_index = 0, 0
            while c < clients:
                size = DUP_GROUPS[size_index % len(DUP_GROUPS)]
                groups.append(list(range(c, min(c + size, clients))))
                c += size
                size_index += 1
        else:
            groups = [[c] for c in range(clients)]
        for group in groups:
            slot = r * clients + group[0]
            for c in group:
                schedule[c].append((slot, slot % clip_count))
    return schedule


# --------------------------------------------------------------------------- load generator


def _drive(args: argparse.Namespace) -> None:
    """Child process: N client threads, one keep-alive connection each; prints JSON."""
    uploading = args.mode in ("upload", "floor")
    clips = json.loads(sys.stdin.read()) if uploading else {}
    key = os.environ.get("MIRA_BENCH_KEY", "")
    latencies: list[list[float]] = [[] for _ in range(args.clients)]
    accepted: list[list[list]] = [[] for _ in range(args.clients)]
    statuses: dict[str, int] = {}
    samples_of_errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.duration

    if uploading:
        clip_bytes = [bytes.fromhex(c) for c in clips["clips"]]
        schedule = plan(args.clients, args.rounds, args.round_base, len(clip_bytes))
        path = (
            f"/api/v1/{args.network}/interactions/register" if args.mode == "upload" else "/upload"
        )
    else:
        schedule = [[(0, 0)] * args.rounds for _ in range(args.clients)]
        path = "/health"

    def client(index: int, gate: threading.Barrier) -> None:
        conn = http.client.HTTPConnection(HOST, args.port, timeout=30)
        client_id = f"bench-client-{index:02d}"
        gate.wait()
        for slot, clip in schedule[index]:
            if time.monotonic() > deadline:
                break
            if uploading:
                start_ms = args.epoch_ms + slot * SLOT_MS
                body = multipart(
                    clip_bytes[clip],
                    {
                        "client_id": client_id,
                        "chunk_start_ms": str(start_ms),
                        "chunk_end_ms": str(start_ms + int(CLIP_S * 1000)),
                    },
                )
                headers = {
                    "X-API-Key": key,
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                }
                method = "POST"
            else:
                body, headers, method = None, {}, "GET"
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                text = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(HOST, args.port, timeout=30)
                status, text = 0, repr(exc).encode()
            latencies[index].append(time.perf_counter() - started)
            ok = 202 if uploading else 200
            if status == ok and uploading:
                accepted[index].append([slot, json.loads(text)["job_id"]])
            with lock:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status != ok and len(samples_of_errors) < 5:
                    samples_of_errors.append(f"{status}: {text[:300]!r}")
        conn.close()

    elapsed = run_clients(args.clients, client)
    print(
        json.dumps(
            {
                "latencies_ms": sorted(round(x * 1000, 3) for per in latencies for x in per),
                "elapsed_s": elapsed,
                "statuses": statuses,
                "accepted": [a for per in accepted for a in per],
                "error_samples": samples_of_errors,
            }
        )
    )


def run_load(port: int, mode: str, clients: int, rounds: int, duration: float, **extra) -> dict:
    command = [
        sys.executable,
        __file__,
        "--drive",
        "--mode",
        mode,
        "--port",
        str(port),
        "--clients",
        str(clients),
        "--rounds",
        str(rounds),
        "--duration",
        str(duration),
    ]
    for name in ("network", "round_base", "epoch_ms"):
        if name in extra:
            command += [f"--{name.replace('_', '-')}", str(extra[name])]
    stdin = json.dumps({"clips": [c.hex() for c in extra.get("clips", [])]})
    env = {**os.environ, "MIRA_BENCH_KEY": extra.get("key", "")}
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, env=env, check=False, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout)
    lat = data["latencies_ms"]
    ok = "202" if mode in ("upload", "floor") else "200"
    good = data["statuses"].get(ok, 0)
    return {
        **latency_figures(lat),
        "rps": good / data["elapsed_s"] if data["elapsed_s"] else 0.0,
        "errors": len(lat) - good,
        "statuses": data["statuses"],
        "accepted": data["accepted"],
        "error_samples": data["error_samples"],
    }


# --------------------------------------------------------------------------- processes


def start_rq_workers(procs: Processes, count: int, tag: str) -> list[subprocess.Popen]:
    workers = [
        procs.start(f"worker-{tag}-{i}", [sys.executable, "-m", "flask", "mira", "worker"])
        for i in range(count)
    ]
    deadline = time.monotonic() + 120
    for i, proc in enumerate(workers):
        while '"worker": "ready"' not in procs.log(f"worker-{tag}-{i}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker did not start:\n" + procs.log(f"worker-{tag}-{i}"))
            time.sleep(0.2)
    time.sleep(1.0)  # the RQ Worker object registers after "ready"
    return workers


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of gunicorn's workers, from /proc."""
    total = 0.0
    for child in children(pid):
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measured(server_pid: int, *args, **kwargs) -> dict:
    """run_load, with the CPU time its gunicorn's workers spent per accepted upload."""
    before = cpu_s(server_pid)
    result = run_load(*args, **kwargs)
    good = result["n"] - result["errors"]
    result["cpu_ms"] = (cpu_s(server_pid) - before) * 1000 / good if good else float("nan")
    return result


def floor_command(port: int) -> list[str]:
    """bench/floor_app.py under the same gunicorn config (and so the same shape) as Mira."""
    command = gunicorn_command(port)
    return [*command[:-1], "--pythonpath", str(Path(__file__).resolve().parent), "floor_app:app"]


def register_clients(port: int, network: str, key: str, clients: int) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    for index in range(clients):
        conn.request(
            "POST",
            f"/api/v1/{network}/service/client/register/bench-client-{index:02d}",
            headers={"X-API-Key": key},
        )
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"client registration failed: {response.status} {body[:300]!r}")
    conn.close()


# --------------------------------------------------------------------------- database


def db_query(database: str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = admin_connection(database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def wait_jobs(database: str, timeout: float) -> tuple[dict[str, int], float]:
    """Wait until no job is queued or running (bounded); (status counts, seconds waited)."""
    started = time.monotonic()
    while True:
        counts = dict(db_query(database, "SELECT status, count(*) FROM jobs GROUP BY status"))
        busy = counts.get("queued", 0) + counts.get("running", 0)
        if not busy or time.monotonic() - started > timeout:
            return counts, time.monotonic() - started
        time.sleep(0.5)


# --------------------------------------------------------------------------- main


line = partial(latency_line, name_width=30, count_width=5, rate_width=6, rate_unit="/s")


def drain_checks(args, procs, database, workers, accepted, load_started) -> dict:
    """After the load: wait for the RQ workers to drain it, then check what they made."""
    counts, waited = wait_jobs(database, args.drain_timeout)
    if counts.get("queued") or counts.get("running"):  # show what is stuck, and where
        for row in db_query(
            database,
            "SELECT pid, state, wait_event_type, wait_event, left(query, 120) "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
            "pg_backend_pid()",
        ):
            print("   pg:", row)
        for name, _ in procs.procs:
            if name.startswith("worker"):
                print(f"   {name} log tail:", procs.log(name)[-1500:])
    worker_rss_end = [rss_mb(w.pid) for w in workers]

    expected = len({slot for slot, _ in accepted})
    interactions = db_query(database, "SELECT count(*) FROM interactions")[0][0]
    leaked = db_query(
        database,
        "SELECT count(*) FROM (SELECT j.dedup_start_ms FROM interactions i JOIN jobs j "
        "ON j.id = i.job_id GROUP BY j.dedup_start_ms HAVING count(*) > 1) AS d",
    )[0][0]
    span = db_query(
        database,
        "SELECT count(*), extract(epoch FROM max(finished_at) - min(started_at)) FROM jobs "
        "WHERE started_at >= to_timestamp(%s)",
        (load_started,),
    )[0]
    stages = db_query(
        database,
        "SELECT key, percentile_cont(0.5) WITHIN GROUP (ORDER BY value::text::float) "
        "FROM jobs, jsonb_each(timings::jsonb) GROUP BY key ORDER BY key",
    )
    stages += db_query(
        database,
        "SELECT 'run_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY "
        "extract(epoch FROM finished_at - started_at) * 1000) FROM jobs",
    )
    failed = db_query(
        database,
        "SELECT error, count(*) FROM jobs WHERE status = 'failed' GROUP BY error LIMIT 5",
    )
    return {
        "worker_rss_end": worker_rss_end,
        "counts": counts,
        "waited": waited,
        "expected": expected,
        "interactions": interactions,
        "leaked": leaked,
        "drain": (span[0] / float(span[1])) if span[1] else float("nan"),
        "failed": failed,
        "stages": stages,
    }


def bench_setting(args, base_env, gunicorn_workers, gunicorn_threads, clips) -> dict:
    tag = uuid.uuid4().hex[:8]
    database = f"mira_upload_bench_{tag}"
    storage = tempfile.TemporaryDirectory(prefix="mira-upload-bench-")
    env = {
        **base_env,
        "DATABASE_URL": f"postgresql://postgres@{HOST}:5432/{database}",
        "MIRA_QUEUE_NAME": f"mira-upload-bench-{tag}",
        "MIRA_STORAGE_URL": str(Path(storage.name) / "audio"),
        "MIRA_INSTANCE_PATH": str(Path(storage.name) / "instance"),
        "GUNICORN_WORKERS": str(gunicorn_workers),
        "GUNICORN_THREADS": str(gunicorn_threads),
    }
    procs = Processes(env, Path(storage.name))
    create_database(database)
    result: dict = {"setting": f"{gunicorn_workers}x{gunicorn_threads}"}
    try:
        flask(env, "db", "upgrade")
        user = json.loads(
            flask(env, "mira", "create-user", "bench@example.com", "--password", tag * 2)
        )
        network = user["default_network_id"]
        key = json.loads(flask(env, "mira", "create-device-key", network))["key"]

        from floor_app import FLOOR_TABLE_SQL

        db_query(database, FLOOR_TABLE_SQL + "; SELECT 1")
        port, floor_port = free_port(), free_port()
        web = procs.start("web", gunicorn_command(port))
        floor = procs.start(
            "floor",
            floor_command(floor_port),
            FLOOR_DATABASE_URL=env["DATABASE_URL"],
            FLOOR_STORAGE=str(Path(storage.name) / "floor"),
            FLOOR_REDIS_LIST=f"{env['MIRA_QUEUE_NAME']}:floor",
            MIRA_METRICS_DIR=str(Path(storage.name) / "floor-metrics"),
        )
        wait_healthy(port, web)
        wait_healthy(floor_port, floor, log=lambda: procs.log("floor"))
        register_clients(port, network, key, args.clients)

        workers: list[subprocess.Popen] = []
        result["worker_rss_warm"] = []
        if not (args.workers_after or args.no_workers):
            workers = start_rq_workers(procs, args.rq_workers, "a")
            result["worker_rss_warm"] = [rss_mb(w.pid) for w in workers]

        epoch_ms = int(time.time() * 1000) - 10 * 86_400_000  # slots never overlap real time
        common = {"network": network, "key": key, "clips": clips, "epoch_ms": epoch_ms}
        # Warm-up: every gunicorn worker thread imports lazily, opens its pool; counted too.
        warm = run_load(port, "upload", args.clients, 2, 60, round_base=0, **common)
        run_load(floor_port, "floor", args.clients, 2, 60, round_base=0, **common)
        run_load(port, "health", args.clients, 20, 30)
        ref = run_load(port, "health", args.clients, args.requests // args.clients, args.duration)
        load_started = time.time()
        rounds = args.requests // args.clients
        floors, ups = [], []
        for pair in range(args.pairs):
            # The floor first, then Mira, back to back: the same load on the same machine.
            floors.append(
                measured(
                    floor.pid, floor_port, "floor", args.clients, rounds, args.duration, **common
                )
            )
            ups.append(
                measured(
                    web.pid,
                    port,
                    "upload",
                    args.clients,
                    rounds,
                    args.duration,
                    round_base=2 + pair * rounds,
                    **common,
                )
            )
        web_rss = [rss_mb(pid) for pid in children(web.pid)]
        accepted = warm["accepted"] + [a for u in ups for a in u["accepted"]]
        if args.workers_after:
            workers = start_rq_workers(procs, args.rq_workers, "b")
            result["worker_rss_warm"] = [rss_mb(w.pid) for w in workers]
        result.update(ref=ref, ups=ups, floors=floors, web_rss=web_rss, jobs_total=len(accepted))
        if args.no_workers:  # nothing drains: the rows must all be there, queued
            result["queued_rows"] = db_query(
                database, "SELECT count(*) FROM jobs WHERE status = 'queued'"
            )[0][0]
            result["distinct_jobs"] = len({job for _, job in accepted})
        else:
            result.update(drain_checks(args, procs, database, workers, accepted, load_started))
    finally:
        procs.stop_all()
        try:
            drop_database(database)
        finally:
            _drop_queue(env)
            storage.cleanup()
    report(result)
    return result


def _drop_queue(env: dict[str, str]) -> None:
    from redis import Redis

    redis = Redis.from_url(env["REDIS_URL"])
    keys = list(redis.scan_iter(match=f"*{env['MIRA_QUEUE_NAME']}*", count=1000))
    if keys:
        redis.delete(*keys)
    redis.close()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def floor_figures(r: dict) -> dict:
    """Medians over the pairs, and Mira/floor for throughput and p95, with their verdicts."""
    up_rps = median([u["rps"] for u in r["ups"]])
    up_p95 = median([u["p95"] for u in r["ups"]])
    floor_rps = median([f["rps"] for f in r["floors"]])
    floor_p95 = median([f["p95"] for f in r["floors"]])
    rps_ratio = up_rps / floor_rps if floor_rps else float("nan")
    p95_ratio = up_p95 / floor_p95 if floor_p95 else float("nan")
    return {
        "up_rps": up_rps,
        "up_p95": up_p95,
        "floor_rps": floor_rps,
        "floor_p95": floor_p95,
        "rps_ratio": rps_ratio,
        "p95_ratio": p95_ratio,
        "rps_ok": rps_ratio >= TARGET_FLOOR_RPS_RATIO,
        "p95_ok": p95_ratio <= TARGET_FLOOR_P95_RATIO,
        "errors": sum(u["errors"] for u in r["ups"]) + sum(f["errors"] for f in r["floors"]),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(r: dict) -> None:
    ups, floors, ref = r["ups"], r["floors"], r["ref"]
    print(
        f"\n== gunicorn {r['setting']} (workers x threads), "
        f"{len(r['worker_rss_warm'])} RQ workers during the load"
    )
    for i, (up, floor) in enumerate(zip(ups, floors, strict=True)):
        tag = f" #{i + 1}" if len(ups) > 1 else ""
        print(line(f"POST /upload (floor){tag}", floor) + f"  cpu {floor['cpu_ms']:.2f} ms/upload")
        print(line(f"POST interactions/register{tag}", up) + f"  cpu {up['cpu_ms']:.2f} ms/upload")
        for name, x in (("floor", floor), ("register", up)):
            if x["errors"]:
                print(f"{name} statuses {x['statuses']}; samples: {x['error_samples']}")
    print(line("GET /health (reference)", ref))
    f = floor_figures(r)
    medians = f" (medians of {len(ups)} pairs)" if len(ups) > 1 else ""
    print(
        f"Mira vs floor{medians}: {f['up_rps']:.1f} vs {f['floor_rps']:.1f} uploads/s, "
        f"p95 {f['up_p95']:.1f} vs {f['floor_p95']:.1f} ms"
    )
    print(
        f"ratio Mira/floor: throughput {f['rps_ratio']:.2f}x "
        f"(>= {TARGET_FLOOR_RPS_RATIO}: {verdict(f['rps_ok'])}), "
        f"p95 {f['p95_ratio']:.2f}x (<= {TARGET_FLOOR_P95_RATIO}: {verdict(f['p95_ok'])})"
    )
    up = median_run(ups)
    print(
        f"ratio upload/health: p95 {up['p95'] / ref['p95']:.2f}x, "
        f"throughput {up['rps'] / ref['rps']:.2f}x"
    )
    if "queued_rows" in r:
        ok = r["queued_rows"] == r["jobs_total"] == r["distinct_jobs"]
        print(
            f"no queue workers: {r['queued_rows']} queued job rows for {r['jobs_total']} "
            f"accepted uploads ({r['distinct_jobs']} distinct job ids): {verdict(ok)}"
        )
        print(
            "RSS: gunicorn workers after load "
            + ", ".join(f"{x:.1f}" for x in r["web_rss"])
            + " MB"
        )
        return
    counts = r["counts"]
    clean = set(counts) <= {"succeeded", "superseded"}
    print(
        f"jobs after {r['waited']:.1f} s: {dict(sorted(counts.items()))} "
        f"({'all succeeded or superseded' if clean else 'NOT ALL FINISHED CLEANLY'})"
    )
    for error, n in r["failed"]:
        print(f"   failed x{n}: {error}")
    checked = verdict(r["interactions"] == r["expected"] and not r["leaked"])
    print(
        f"interactions {r['interactions']} vs expected {r['expected']} non-duplicate uploads "
        f"({r['jobs_total']} accepted, {r['leaked']} utterances with >1 interaction): {checked}"
    )
    print(
        f"worker drain rate {r['drain']:.1f} jobs/s; median job stage ms: "
        + ", ".join(f"{k} {v:.1f}" for k, v in r["stages"] if v is not None)
    )
    print(
        "RSS: RQ workers after warm-up "
        + ", ".join(f"{x:.1f}" for x in r["worker_rss_warm"])
        + " MB (after drain "
        + ", ".join(f"{x:.1f}" for x in r["worker_rss_end"])
        + " MB); gunicorn workers after load "
        + ", ".join(f"{x:.1f}" for x in r["web_rss"])
        + " MB"
    )


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def median_run(runs: list[dict]) -> dict:
    """The run with the median throughput (the whole run, so its figures belong together)."""
    return sorted(runs, key=lambda x: x["rps"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="upload", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--network", help=argparse.SUPPRESS)
    parser.add_argument("--round-base", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--epoch-ms", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=3200, help="uploads per measurement")
    parser.add_argument("--duration", type=float, default=40.0, help="cap per measurement (s)")
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--workers-after", action="store_true", help="start RQ workers after load")
    parser.add_argument(
        "--no-workers",
        action="store_true",
        help="no RQ worker at all (the floor comparison; no drain or interaction checks)",
    )
    parser.add_argument(
        "--pairs", type=int, default=1, help="floor-then-Mira measurements; medians compared"
    )
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    add_settings_option(parser)
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT_ROOT))
    if args.drive:
        _drive(args)
        return

    clips = make_clips(200)
    print(f"{len(clips)} clips of {CLIP_S:g} s ({len(clips[0]) // 1024} KiB WAV each)")
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "PYTHONUNBUFFERED": "1",
        "REDIS_URL": os.environ.get("REDIS_URL", f"redis://{HOST}:6379/0"),
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "MIRA_RATE_LIMITS": "false",
        "MIRA_QUEUE": "rq",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("GUNICORN_ACCESSLOG", None)
    settings = parse_settings(args.settings)
    results = [bench_setting(args, env, w, t, clips) for w, t in settings]

    print("\n== summary")
    for r in results:
        f = floor_figures(r)
        rss = max(r["web_rss"]) if r["web_rss"] else 0.0
        if "queued_rows" in r:
            ok = r["queued_rows"] == r["jobs_total"] == r["distinct_jobs"]
            checks = f"  queued rows {verdict(ok)}"
        else:
            ok = r["interactions"] == r["expected"] and not r["leaked"]
            checks = f"  drain {r['drain']:.1f} jobs/s  interactions {verdict(ok)}"
        print(
            f"{r['setting']:<5} p95 {f['up_p95']:6.1f} ms ({met(f['up_p95'] <= TARGET_P95_MS)})"
            f"  {f['up_rps']:6.1f} uploads/s ({met(f['up_rps'] >= TARGET_RPS)})"
            f"  web RSS {rss:5.1f} MB ({met(rss <= TARGET_RSS_MB)})"
            f"  errors {f['errors']}{checks}"
        )
        print(
            f"      floor {f['floor_rps']:6.1f} uploads/s p95 {f['floor_p95']:6.1f} ms;"
            f" Mira/floor throughput {f['rps_ratio']:.2f} ({verdict(f['rps_ok'])}),"
            f" p95 {f['p95_ratio']:.2f} ({verdict(f['p95_ok'])})"
        )


if __name__ == "__main__":
    main()
