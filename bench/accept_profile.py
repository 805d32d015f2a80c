"""CPU per accepted upload, Mira against the stack's floor, in one process and one thread.

`bench/upload_load.py` measures the accept path under gunicorn, where one worker is bound by the
GIL: uploads/s is about 1 / (CPU per upload). This bench isolates that CPU: it builds Mira's app
(production settings, PostgreSQL, RQ on Redis, no queue worker) and `bench/floor_app.py` in this
process, and calls each WSGI app directly with prebuilt environs holding the same multipart
bodies (a 3 s WAV, `client_id`, chunk times) as upload_load.py's clients send. Measured per
request: process CPU time (so the realtime publisher thread's work counts too) and wall time,
medians over `--requests`, app calls interleaved in blocks so both see the same machine.
`--profile N` prints the N heaviest functions of Mira's requests (cProfile, own time and
cumulative), the floor's beside them.

    .venv/bin/python bench/accept_profile.py --requests 600
    .venv/bin/python bench/accept_profile.py --requests 300 --profile 40

Only 127.0.0.1 is contacted; the database it creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import HOST, PROJECT_ROOT, create_database, drop_database, flask
from upload_load import BOUNDARY, CLIP_S, make_clips, multipart

BLOCK = 20  # requests per app before switching to the other


def environ_for(path: str, body: bytes, headers: dict[str, str]) -> dict:
    """A WSGI environ as gunicorn would build it for one keep-alive POST."""
    environ = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": HOST,
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": f"{HOST}:8000",
        "HTTP_CONNECTION": "keep-alive",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call(app, environ: dict) -> tuple[int, float, float]:
    """(status, CPU s, wall s) of one request, its body consumed as a server would."""
    status_holder: list[str] = []

    def start_response(status, headers, exc_info=None):
        status_holder.append(status)

    cpu, wall = time.process_time(), time.perf_counter()
    result = app(environ, start_response)
    try:
        for _ in result:
            pass
    finally:
        if hasattr(result, "close"):
            result.close()
    return int(status_holder[0].split()[0]), time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600, help="uploads per app")
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--profile", type=int, default=0, help="print the N heaviest functions")
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    database = f"mira_accept_prof_{tag}"
    storage = tempfile.TemporaryDirectory(prefix="mira-accept-prof-")
    env = {
        "FLASK_APP": "wsgi",
        "DATABASE_URL": f"postgresql://postgres@{HOST}:5432/{database}",
        "REDIS_URL": os.environ.get("REDIS_URL", f"redis://{HOST}:6379/0"),
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "MIRA_RATE_LIMITS": "false",
        "MIRA_QUEUE": "rq",
        "MIRA_QUEUE_NAME": f"mira-accept-prof-{tag}",
        "MIRA_STORAGE_URL": str(Path(storage.name) / "audio"),
        "MIRA_INSTANCE_PATH": str(Path(storage.name) / "instance"),
        "MIRA_METRICS_DIR": str(Path(storage.name) / "metrics"),
        "LOG_LEVEL": "WARNING",
        "FLOOR_DATABASE_URL": f"postgresql://postgres@{HOST}:5432/{database}",
        "FLOOR_STORAGE": str(Path(storage.name) / "floor"),
        "FLOOR_REDIS_LIST": f"mira-accept-prof-{tag}:floor",
    }
    os.makedirs(env["MIRA_METRICS_DIR"])
    create_database(database)
    try:
        flask({**os.environ, **env}, "db", "upgrade")
        user = json.loads(
            flask(
                {**os.environ, **env}, "mira", "create-user", "p@example.com", "--password", tag * 2
            )
        )
        network = user["default_network_id"]
        key = json.loads(flask({**os.environ, **env}, "mira", "create-device-key", network))["key"]
        os.environ.update(env)
        sys.path.insert(0, str(PROJECT_ROOT))
        os.chdir(PROJECT_ROOT)
        import floor_app
        from floor_app import FLOOR_TABLE_SQL
        from sqlalchemy import create_engine, text

        from wsgi import app as mira_app

        engine = create_engine(
            env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://")
        )
        with engine.begin() as conn:
            conn.execute(text(FLOOR_TABLE_SQL))
        engine.dispose()
        client_id = "bench-client-00"
        with mira_app.test_client() as test_client:
            answer = test_client.post(
                f"/api/v1/{network}/service/client/register/{client_id}",
                headers={"X-API-Key": key},
            )
            assert answer.status_code == 200, answer.get_data(as_text=True)

        clips = make_clips(40)
        epoch_ms = int(time.time() * 1000) - 10 * 86_400_000
        total = args.warmup + args.requests

        def body(i: int) -> bytes:
            start_ms = epoch_ms + i * 5_000
            return multipart(
                clips[i % len(clips)],
                {
                    "client_id": client_id,
                    "chunk_start_ms": str(start_ms),
                    "chunk_end_ms": str(start_ms + int(CLIP_S * 1000)),
                },
            )

        apps = {
            "floor": (floor_app.app, "/upload", {}),
            "mira": (mira_app, f"/api/v1/{network}/interactions/register", {"X-API-Key": key}),
        }
        figures: dict[str, dict[str, list[float]]] = {n: {"cpu": [], "wall": []} for n in apps}
        profiles = {n: cProfile.Profile(time.process_time) for n in apps}
        for start in range(0, total, BLOCK):
            for name, (app, path, headers) in apps.items():
                for i in range(start, min(start + BLOCK, total)):
                    environ = environ_for(path, body(i), headers)
                    profiling = args.profile and i >= args.warmup
                    if profiling:
                        profiles[name].enable()
                    status, cpu, wall = call(app, environ)
                    if profiling:
                        profiles[name].disable()
                    if status != 202:
                        raise SystemExit(f"{name}: answered {status} to upload {i}")
                    if i >= args.warmup:
                        figures[name]["cpu"].append(cpu * 1000)
                        figures[name]["wall"].append(wall * 1000)

        med = {n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()}
        mean = {n: {k: statistics.fmean(v) for k, v in f.items()} for n, f in figures.items()}
        print(f"{args.requests} uploads each, one thread, in blocks of {BLOCK} alternating")
        for name in apps:
            print(
                f"  {name:5s}: CPU median {med[name]['cpu']:.2f} ms (mean {mean[name]['cpu']:.2f}),"
                f" wall median {med[name]['wall']:.2f} ms (mean {mean[name]['wall']:.2f})"
            )
        print(
            f"  floor/mira CPU (≈ throughput ratio on one GIL-bound worker): "
            f"{med['floor']['cpu'] / med['mira']['cpu']:.2f} (target ≥ 0.75); "
            f"wall {med['floor']['wall'] / med['mira']['wall']:.2f}"
        )
        if args.profile:
            for name in apps:
                print(f"\n== {name}: heaviest by own time")
                pstats.Stats(profiles[name]).sort_stats("tottime").print_stats(args.profile)
            print("\n== mira: by cumulative time")
            pstats.Stats(profiles["mira"]).sort_stats("cumulative").print_stats(args.profile)
    finally:
        try:
            from mira.extensions import db
            from wsgi import app as mira_app

            with mira_app.app_context():
                db.engine.dispose()
        except Exception:  # noqa: BLE001 — the bench may have failed before the app existed
            pass
        drop_database(database)
        storage.cleanup()


if __name__ == "__main__":
    main()
