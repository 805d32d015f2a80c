"""API latency under concurrent clients: the real gunicorn server on PostgreSQL.

Seeds its own database (one user, one network, 10,000 interactions spread over 60 days, a few
persons and conversations), starts gunicorn with `gunicorn.conf.py`, and drives
`GET /api/v1/{network}/interactions?limit=50` from a separate load-generator process (keep-alive
http.client connections, one per client thread). A reference is measured in the same run at the
same concurrency (`GET /health`: the framework floor, no auth, no database), and the ratio is
printed. Target: p95 <= 25 ms at 16 concurrent clients; web RSS <= 150 MB after load.

    .venv/bin/python bench/api_load.py                        # GUNICORN_WORKERS/THREADS or 1x8
    .venv/bin/python bench/api_load.py --settings 1x8,2x4,2x8 # compare worker x thread settings

Only 127.0.0.1 is ever contacted. Everything started here is stopped before exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
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

TARGET_P95_MS = 25.0
TARGET_RSS_MB = 150.0

PEOPLE = ["Ada", "Grace", "Linus", "Margaret", None, None]
OPENERS = [
    "Mira, remind me to",
    "Can you",
    "I think we should",
    "Don't forget to",
    "Tomorrow I'll",
    "We need to",
    "Hey, did you",
    "Let's",
]
TASKS = [
    "call the plumber about the kitchen sink",
    "pick up the kids from football practice at five",
    "book the dentist appointment for next Tuesday",
    "water the tomatoes before it gets too hot",
    "send the slides to Margaret before the meeting",
    "buy oat milk, eggs and a loaf of sourdough",
    "check whether the train to Leeds is running on time",
    "move the standup to half past nine",
    "renew the car insurance before the end of the month",
    "ask Grace if she wants to come to dinner on Friday",
    "turn the heating down, it's far too warm in here",
    "look up a recipe for lentil soup",
]
CLOSERS = ["", " please.", ", okay?", " — it's important.", " when you get a chance.", "."]


# --------------------------------------------------------------------------- load generator


def _drive(args: argparse.Namespace) -> None:
    """Child process: N client threads, each with one keep-alive connection; prints JSON."""
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    latencies: list[list[float]] = [[] for _ in range(args.clients)]
    errors = [0] * args.clients
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    per_client = max(1, args.requests // args.clients)
    deadline = time.monotonic() + args.duration

    def client(index: int, gate: threading.Barrier) -> None:
        conn = http.client.HTTPConnection(HOST, args.port, timeout=30)
        gate.wait()
        for _ in range(per_client):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            try:
                conn.request("GET", args.path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, args.port, timeout=30)
                status = 0
            latencies[index].append(time.perf_counter() - started)
            if status != 200:
                errors[index] += 1
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    elapsed = run_clients(args.clients, client)
    flat = sorted(x for per in latencies for x in per)
    print(
        json.dumps(
            {
                "latencies_ms": [round(x * 1000, 3) for x in flat],
                "elapsed_s": elapsed,
                "errors": sum(errors),
                "statuses": statuses,
            }
        )
    )


def run_load(port: int, path: str, token: str | None, clients: int, requests: int, duration: float):
    command = [
        sys.executable,
        __file__,
        "--drive",
        "--port",
        str(port),
        "--path",
        path,
        "--clients",
        str(clients),
        "--requests",
        str(requests),
        "--duration",
        str(duration),
    ]
    env = {**os.environ, "MIRA_BENCH_TOKEN": token or ""}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{result.stderr}")
    data = json.loads(result.stdout)
    lat = data["latencies_ms"]
    return {
        **latency_figures(lat),
        "mean": statistics.fmean(lat) if lat else float("nan"),
        "rps": len(lat) / data["elapsed_s"] if data["elapsed_s"] else 0.0,
        "errors": data["errors"],
        "statuses": data["statuses"],
    }


# --------------------------------------------------------------------------- database


def recreate_database(name: str) -> None:
    drop_database(name)
    create_database(name)


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(OPENERS)} {rng.choice(TASKS)}{rng.choice(CLOSERS)}"


def seed(env: dict[str, str], database: str, interactions: int) -> tuple[str, str]:
    """One user (registered through the API), their network, persons, conversations, rows."""
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT_ROOT))
    from sqlalchemy import insert

    from mira.app import create_app
    from mira.conversations.models import Conversation, conversation_participants
    from mira.extensions import db
    from mira.interactions.models import Interaction
    from mira.persons.models import Person

    app = create_app({"RATELIMIT_ENABLED": False, "MIRA_QUEUE": "sync"})
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "bench@example.com", "password": "correct horse battery"},
    )
    assert response.status_code == 201, response.json
    token = response.json["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json
    network_id = uuid.UUID(me["default_network_id"])

    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=60)
    with app.app_context():
        persons = [
            {"id": uuid.uuid4(), "network_id": network_id, "name": name, "index": i + 1}
            for i, name in enumerate(PEOPLE)
        ]
        db.session.execute(insert(Person), persons)
        # Timestamps spread over 60 days, in bursts: a conversation every ~25 interactions.
        stamps = sorted(
            start + timedelta(seconds=rng.uniform(0, 60 * 86400)) for _ in range(interactions)
        )
        conversations, rows, participants = [], [], set()
        current = None
        for i, stamp in enumerate(stamps):
            if current is None or i % 25 == 0:
                current = {
                    "id": uuid.uuid4(),
                    "network_id": network_id,
                    "title": f"Conversation {len(conversations) + 1}",
                    "started_at": stamp,
                    "ended_at": stamp,
                    "is_active": False,
                }
                conversations.append(current)
            current["ended_at"] = stamp
            person = rng.choice(persons)
            in_conversation = rng.random() > 0.1  # some orphans
            if in_conversation:
                participants.add((current["id"], person["id"]))
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "network_id": network_id,
                    "text": _sentence(rng),
                    "timestamp": stamp,
                    "person_id": person["id"] if rng.random() > 0.05 else None,
                    "conversation_id": current["id"] if in_conversation else None,
                    "client_id": rng.choice(["kitchen", "living room", "phone-ada"]),
                    "interaction_type": "audio",
                    "duration_s": round(rng.uniform(0.8, 9.0), 2),
                    "language": "en",
                    "confidence": round(rng.uniform(0.6, 0.99), 3),
                    "audio_quality": {"snr_db": round(rng.uniform(5, 40), 1), "score": 70.0},
                    "meta": {"source": "bench"},
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        db.session.execute(insert(Conversation), conversations)
        db.session.execute(
            insert(conversation_participants),
            [{"conversation_id": c, "person_id": p} for c, p in participants],
        )
        for chunk in range(0, len(rows), 2000):
            db.session.execute(insert(Interaction), rows[chunk : chunk + 2000])
        db.session.commit()
        db.engine.dispose()
    # Steady state, as autovacuum leaves it: statistics and a visibility map (index-only scans).
    vacuum = admin_connection(database)
    with vacuum.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    vacuum.close()
    print(
        f"seeded: {interactions} interactions, {len(conversations)} conversations, "
        f"{len(persons)} persons in network {network_id}"
    )
    return token, str(network_id)


# --------------------------------------------------------------------------- main


_line = partial(latency_line, name_width=28, count_width=6, rate_width=7, rate_unit=" req/s")


def bench_setting(base_env, workers, threads, token, network_id, args) -> dict:
    logs = tempfile.TemporaryDirectory(prefix="mira-bench-logs-")
    procs = Processes(base_env, Path(logs.name))
    port = free_port()
    try:
        web = procs.start(
            "web",
            gunicorn_command(port),
            GUNICORN_WORKERS=str(workers),
            GUNICORN_THREADS=str(threads),
        )
        wait_healthy(port, web, log=lambda: procs.log("web"))
        path = f"/api/v1/{network_id}/interactions?limit=50"
        # Warm-up: every worker imports lazily, opens its pool, fills caches.
        run_load(port, path, token, args.clients, args.clients * 10, 30)
        run_load(port, "/health", None, args.clients, args.clients * 10, 30)
        api = run_load(port, path, token, args.clients, args.requests, args.duration)
        ref = run_load(port, "/health", None, args.clients, args.requests, args.duration)
        master, workers_rss = rss_mb(web.pid), [rss_mb(pid) for pid in children(web.pid)]
    finally:
        procs.stop_all()
        logs.cleanup()
    print(f"\n== gunicorn {workers} worker(s) x {threads} thread(s), {args.clients} clients")
    print(_line("GET interactions?limit=50", api))
    print(_line("GET /health (reference)", ref))
    print(f"ratio p95 interactions/health: {api['p95'] / ref['p95']:.2f}x")
    print(
        f"RSS after load: master {master:.1f} MB, workers "
        + ", ".join(f"{w:.1f}" for w in workers_rss)
        + f" MB (total {master + sum(workers_rss):.1f} MB)"
    )
    if api["errors"] or ref["errors"]:
        print(f"statuses: interactions {api['statuses']}, health {ref['statuses']}")
    return {"workers": workers, "threads": threads, "api": api, "ref": ref, "rss": workers_rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4000, help="per measurement")
    parser.add_argument("--duration", type=float, default=30.0, help="cap per measurement (s)")
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--database", default="mira_bench")
    parser.add_argument("--keep-db", action="store_true")
    add_settings_option(parser)
    args = parser.parse_args()
    if args.drive:
        args.token = os.environ.get("MIRA_BENCH_TOKEN") or None
        _drive(args)
        return

    settings = parse_settings(args.settings)
    instance = tempfile.TemporaryDirectory(prefix="mira-bench-")
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": f"postgresql://postgres@{HOST}:5432/{args.database}",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "MIRA_RATE_LIMITS": "false",
        "MIRA_INSTANCE_PATH": instance.name,
        "MIRA_ACCESS_TOKEN_MINUTES": "240",
        "MIRA_QUEUE": "inline",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    env.pop("GUNICORN_ACCESSLOG", None)
    recreate_database(args.database)
    try:
        started = time.perf_counter()
        flask(env, "db", "upgrade")
        token, network_id = seed(env, args.database, args.interactions)
        print(f"database ready in {time.perf_counter() - started:.1f} s")
        results = [bench_setting(env, w, t, token, network_id, args) for w, t in settings]
    finally:
        if not args.keep_db:
            drop_database(args.database)
        instance.cleanup()

    print("\n== summary (GET interactions?limit=50)")
    for r in results:
        verdict = "met" if r["api"]["p95"] <= TARGET_P95_MS else "MISSED"
        rss = max(r["rss"]) if r["rss"] else 0.0
        print(
            f"{r['workers']}x{r['threads']:<3} p50 {r['api']['p50']:6.1f}  p95 "
            f"{r['api']['p95']:6.1f}  p99 {r['api']['p99']:6.1f} ms  {r['api']['rps']:7.1f} req/s"
            f"  ref p95 {r['ref']['p95']:5.1f} ms  max worker RSS {rss:5.1f} MB"
            f"  (p95 target {TARGET_P95_MS:.0f} ms: {verdict}; RSS target {TARGET_RSS_MB:.0f} MB: "
            f"{'met' if rss <= TARGET_RSS_MB else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
