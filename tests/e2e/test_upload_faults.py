"""Database connections killed during uploads, with real gunicorn, worker and PostgreSQL.

Every client either gets a 202 whose job completes, or an error in the envelope (503, never
gunicorn's 500 page) and retries with the same Idempotency-Key: no upload is made twice, and
every stored blob belongs to a job.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg2
import requests
from sqlalchemy.engine import make_url

from tests.audio_data import SR, wav_bytes


def _quiet(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return wav_bytes((rng.standard_normal(SR) * 1e-4).astype(np.float32))


def _connect(url: str):
    u = make_url(url)
    conn = psycopg2.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database
    )
    conn.autocommit = True
    return conn


def test_killed_database_connections_during_uploads_never_lose_or_duplicate(stack):
    stack.start_web()
    # A job whose worker lost the database mid-run stays `running` until the sweeper sees its
    # heartbeat stop (3 minutes by default); short here so the test sees it revived.
    stack.start_worker(MIRA_SWEEP_HEARTBEAT_S="6", MIRA_SWEEP_EVERY_S="2")
    stack.register_client("kitchen")
    db_url = stack.env["DATABASE_URL"]
    db_name = make_url(db_url).database

    stop = threading.Event()
    kills = []

    def killer():
        conn = _connect(db_url)
        while not stop.is_set():
            cur = conn.cursor()
            cur.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (db_name,),
            )
            kills.append(cur.fetchone()[0])
            time.sleep(0.05 + (len(kills) % 4) * 0.03)
        conn.close()

    uploads = [(f"utt-{i}-{uuid.uuid4().hex[:6]}", _quiet(i)) for i in range(24)]
    outcomes: dict[str, list[tuple[int, str | None]]] = {}
    bad: list[str] = []

    def client(chunk):
        for key, data in chunk:
            answers = outcomes.setdefault(key, [])
            for _attempt in range(15):
                try:
                    response = requests.post(
                        stack.url("/interactions/register"),
                        headers={**stack.headers, "Idempotency-Key": key},
                        files={"audio": ("clip.wav", io.BytesIO(data))},
                        data={"client_id": "kitchen"},
                        timeout=30,
                    )
                except requests.RequestException as exc:
                    answers.append((0, repr(exc)))
                    time.sleep(0.2)
                    continue
                body = response.json() if "json" in response.headers.get("Content-Type", "") else {}
                answers.append((response.status_code, body.get("job_id") or body.get("error_code")))
                if response.status_code == 202:
                    break
                if response.status_code != 503 or "Retry-After" not in response.headers:
                    bad.append(f"{key}: {response.status_code} {response.text[:200]}")
                time.sleep(0.2)

    thread_killer = threading.Thread(target=killer, daemon=True)
    thread_killer.start()
    chunks = [uploads[i::4] for i in range(4)]
    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    stop.set()
    thread_killer.join(timeout=10)

    assert not bad, bad
    assert sum(kills) > 0, "the killer terminated no connection"
    failures = [a for answers in outcomes.values() for a in answers if a[0] != 202]
    # A retry after any outcome answers 202 in the end, with one job per key.
    job_of = {}
    for key, answers in outcomes.items():
        accepted = {job for status, job in answers if status == 202}
        assert len(accepted) == 1, (key, answers)
        job_of[key] = accepted.pop()
    assert len(set(job_of.values())) == len(uploads)

    # Once the database is left alone: one job per key, each completes, each blob is a job's.
    conn = _connect(db_url)
    cur = conn.cursor()
    cur.execute("SELECT id::text, payload->>'audio_key' FROM jobs WHERE kind = 'analyze'")
    rows = dict(cur.fetchall())
    cur.execute("SELECT count(*) FROM idempotency_keys")
    assert cur.fetchone()[0] == len(uploads)
    conn.close()
    assert set(rows) == set(job_of.values()), (len(rows), len(job_of))
    jobs = stack.wait_jobs(list(job_of.values()), timeout_s=180)
    assert all(j["status"] == "succeeded" for j in jobs), [
        (j["status"], j.get("error")) for j in jobs if j["status"] != "succeeded"
    ]
    stored = {
        p.relative_to(stack.tmp / "audio").as_posix()
        for p in Path(stack.tmp / "audio").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    unknown_outcomes = stack.read_log("web").count("commit outcome unknown")
    assert set(rows.values()) <= stored
    assert len(stored - set(rows.values())) <= unknown_outcomes, sorted(stored - set(rows.values()))
    print(
        f"\n{len(uploads)} uploads, {sum(kills)} connections killed, "
        f"{len(failures)} answers other than 202 (all 503 + Retry-After, retried), "
        f"{unknown_outcomes} blobs left for the orphan sweep"
    )
