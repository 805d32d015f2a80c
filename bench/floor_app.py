"""The stack's floor for uploads: the least an accept path can do on this stack.

One POST route that does what accepting an upload cannot skip, and nothing else: Flask/werkzeug
parse the multipart body, the file is written to a temporary file, fsynced and renamed into
place, one row is inserted into a small table of the benchmark's PostgreSQL database (plain
SQLAlchemy Core, one transaction) and its id is pushed to a Redis list (RPUSH). No auth, no
validation, no events, no logging. `bench/upload_load.py` serves it with the same gunicorn
config as Mira's web process (`gunicorn.conf.py`: same workers, threads, worker class) next to
Mira, and drives both with the same load generator, clients and WAVs.

Settings (environment): FLOOR_DATABASE_URL, FLOOR_STORAGE (a folder), FLOOR_REDIS_LIST,
REDIS_URL. `FLOOR_TABLE_SQL` is the table it expects (the benchmark creates it).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from flask import Flask, jsonify, request
from redis import Redis
from sqlalchemy import create_engine, text

FLOOR_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS floor_uploads (id uuid PRIMARY KEY, client_id text NOT NULL, "
    "audio_key text NOT NULL, bytes integer NOT NULL, chunk_start_ms bigint, "
    "created_at timestamptz NOT NULL DEFAULT now())"
)
_INSERT = text(
    "INSERT INTO floor_uploads (id, client_id, audio_key, bytes, chunk_start_ms) "
    "VALUES (:id, :client_id, :audio_key, :bytes, :chunk_start_ms)"
)

flask_app = Flask("mira-floor")
_engine = None
_redis = None
_root = Path(os.environ.get("FLOOR_STORAGE", tempfile.gettempdir())) / "floor-audio"
_list = os.environ.get("FLOOR_REDIS_LIST", "mira-floor")


def _connections():
    global _engine, _redis
    if _engine is None:
        url = os.environ["FLOOR_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://")
        # The pool Mira sizes for its requests (mira/config.py), so neither pays for new
        # connections under the load.
        _engine = create_engine(
            url,
            pool_size=int(os.environ.get("MIRA_DB_POOL_SIZE") or 16),
            max_overflow=int(os.environ.get("MIRA_DB_MAX_OVERFLOW") or 16),
        )
        _redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    return _engine, _redis


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@flask_app.post("/upload")
def upload():
    audio = request.files["audio"]
    client_id = request.form["client_id"]
    start = request.form.get("chunk_start_ms")
    data = audio.read()
    job_id = uuid.uuid4()
    key = f"{job_id}.wav"
    _write(_root / key, data)
    engine, redis = _connections()
    with engine.begin() as conn:
        conn.execute(
            _INSERT,
            {
                "id": job_id,
                "client_id": client_id,
                "audio_key": key,
                "bytes": len(data),
                "chunk_start_ms": int(start) if start else None,
            },
        )
    redis.rpush(_list, str(job_id))
    response = jsonify({"job_id": str(job_id), "status": "queued"})
    response.status_code = 202
    return response


@flask_app.get("/health")
def health():
    return {"status": "ok"}


def app(environ, start_response):
    """A plain WSGI callable: gunicorn.conf.py's post_worker_init hooks (Mira's warm-up, its
    realtime sockets) look for a Flask app's `config` and leave this one alone."""
    return flask_app(environ, start_response)
