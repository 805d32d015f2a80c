"""Upload acceptance is atomic for the client (issue 14, item 3).

- The blob and the job row commit together or neither stays: a database that fails during the
  accept answers 503 in the envelope with Retry-After and leaves nothing stored; a commit that
  happened although it raised is answered as accepted.
- An Idempotency-Key makes a retry safe: the first answer again, never a second job, also when
  the retries race; keys are per network and client.
- The orphan sweep deletes old blobs no row refers to and keeps fresh and referenced ones.
"""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mira.extensions import db
from mira.jobs.models import IdempotencyKey, Job
from mira.ops.blobs import iter_blobs
from mira.storage import blob_store
from mira.types import utcnow
from tests.api.test_errors import assert_envelope
from tests.audio_data import SR, wav_bytes


def quiet(seconds: float = 1.0, seed: int = 0) -> bytes:
    """Faint noise: a valid upload whose job finishes fast (no speech, no transcription)."""
    rng = np.random.default_rng(seed)
    return wav_bytes((rng.standard_normal(int(SR * seconds)) * 1e-4).astype(np.float32))


def upload(client, account, headers, data, key=None, field=None, path="interactions/register"):
    form = {"audio": (io.BytesIO(data), "clip.wav"), "client_id": "kitchen"}
    if field is not None:
        form["idempotency_key"] = field
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    return client.post(
        f"{account.prefix()}/{path}",
        data=form,
        headers=headers,
        content_type="multipart/form-data",
    )


def blobs(app, network_id) -> list[str]:
    return [b.key for b in iter_blobs(blob_store(app), f"{network_id}/")]


def jobs_of(network_id) -> list[Job]:
    db.session.rollback()
    return list(db.session.scalars(db.select(Job).where(Job.network_id == uuid.UUID(network_id))))


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture
def job_inserts(app):
    """Whether the current transaction has written a new job row, however it was written (the
    ORM or a plain INSERT): the upload's commit is the one that carries it."""
    seen = {"pending": False}

    def after_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO JOBS"):
            seen["pending"] = True

    def carries_new_job() -> bool:
        carried, seen["pending"] = seen["pending"], False
        return carried

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after_execute)
    yield carries_new_job
    event.remove(engine, "after_cursor_execute", after_execute)


@pytest.fixture
def fail_next_accept(app, job_inserts):
    """Make the next commit that carries a new job fail the way a dead database does.

    On PostgreSQL the session's own connection is terminated from another connection
    (`pg_terminate_backend`), so the INSERT meets a real disconnect; on SQLite the commit
    raises OperationalError."""
    state = {"armed": True}

    def before_commit(session):
        if not state["armed"] or not job_inserts():
            return
        state["armed"] = False
        if _is_postgres():
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with db.engine.connect() as killer:
                killer.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
                killer.commit()
        else:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    event.listen(Session, "before_commit", before_commit)
    yield state
    event.remove(Session, "before_commit", before_commit)


def test_a_database_failure_during_the_accept_is_503_and_stores_nothing(
    client, app, alice, mic, fail_next_accept
):
    response = upload(client, alice, mic, quiet())
    assert_envelope(response, 503, "DATABASE_UNAVAILABLE")
    assert int(response.headers["Retry-After"]) >= 1
    assert not fail_next_accept["armed"]
    assert blobs(app, alice.network_id) == []
    assert jobs_of(alice.network_id) == []
    # The session was rolled back and the pool replaced the dead connection: the retry works.
    retry = upload(client, alice, mic, quiet())
    assert retry.status_code == 202, retry.json
    assert len(jobs_of(alice.network_id)) == 1
    assert len(blobs(app, alice.network_id)) == 1


def test_a_commit_that_raised_but_happened_is_accepted(
    client, app, alice, mic, monkeypatch, job_inserts
):
    """The server committed and the connection died before it said so: the job exists and
    runs, so the client must hear 202 (a 5xx would make it upload the utterance again)."""
    state = {"armed": True}
    session = db.session()  # the test's app context is the requests' context too
    real_commit = session.commit

    def commit():
        carried = state["armed"] and job_inserts()
        real_commit()
        if carried:
            state["armed"] = False
            raise OperationalError("COMMIT", {}, Exception("connection lost after commit"))

    monkeypatch.setattr(session, "commit", commit)
    response = upload(client, alice, mic, quiet())
    monkeypatch.undo()
    assert not state["armed"]
    assert response.status_code == 202, response.json
    [job] = jobs_of(alice.network_id)
    assert str(job.id) == response.json["job_id"]
    assert blob_store(app).exists(job.payload["audio_key"])


def test_database_errors_on_any_route_are_503_in_the_envelope(make_app, _schema):
    app = make_app()

    @app.route("/_test/db-gone")
    def db_gone():
        db.session.execute(db.text("SELECT 1"))
        raise OperationalError("SELECT 1", {}, Exception("terminating connection"))

    client = app.test_client()
    response = client.get("/_test/db-gone", headers={"X-Request-ID": "req-503"})
    assert_envelope(response, 503, "DATABASE_UNAVAILABLE", "req-503")
    assert response.headers["Retry-After"] == str(app.config["MIRA_DB_RETRY_AFTER_S"])
    assert "terminating" not in response.get_data(as_text=True)
    assert client.get("/health").status_code == 200


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="terminates a PostgreSQL backend"
)
def test_a_pooled_connection_killed_between_requests_is_replaced(client, app, alice, mic):
    """The connection the app will use next is terminated while idle in the pool:
    pool_pre_ping replaces it, so the upload simply works (no 500 page, nothing half-done)."""
    import psycopg2

    db.session.remove()
    with db.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    url = db.engine.url
    killer = psycopg2.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname=url.database
    )
    killer.autocommit = True
    killer.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
    killer.close()
    response = upload(client, alice, mic, quiet())
    assert response.status_code == 202, response.json
    assert len(jobs_of(alice.network_id)) == 1


# Idempotency-Key ------------------------------------------------------------------------------


def test_the_same_key_twice_answers_the_first_job(client, app, alice, mic):
    data = quiet()
    first = upload(client, alice, mic, data, key="upload-1")
    assert first.status_code == 202, first.json
    again = upload(client, alice, mic, data, key="upload-1")
    assert again.status_code == 202, again.json
    assert again.json["job_id"] == first.json["job_id"]
    # The stream route is the same upload; the form field is the same key.
    streamed = upload(client, alice, mic, data, field="upload-1", path="streams/kitchen/audio")
    assert streamed.status_code == 202 and streamed.json["job_id"] == first.json["job_id"]
    assert len(jobs_of(alice.network_id)) == 1
    assert len(blobs(app, alice.network_id)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(IdempotencyKey)) == 1
    # Without a key every upload is its own job.
    assert upload(client, alice, mic, data).json["job_id"] != first.json["job_id"]


def test_a_key_reused_for_other_audio_is_refused(client, app, alice, mic):
    assert upload(client, alice, mic, quiet(seed=1), key="k").status_code == 202
    response = upload(client, alice, mic, quiet(seed=2), key="k")
    assert_envelope(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(jobs_of(alice.network_id)) == 1
    assert len(blobs(app, alice.network_id)) == 1


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("", None),
        ("x" * 129, None),
        (None, "caf\u00e9"),
        (None, "tab\there"),
        (None, " padded"),
        ("a", "b"),
    ],
)
def test_bad_keys_are_422_and_store_nothing(client, app, alice, mic, header, field):
    response = upload(client, alice, mic, quiet(), key=header, field=field)
    assert_envelope(response, 422, "VALIDATION_ERROR")
    assert "idempotency_key" in response.json["errors"]
    assert jobs_of(alice.network_id) == [] and blobs(app, alice.network_id) == []


def test_the_longest_key_and_any_printable_ascii_work(client, alice, mic):
    key = "".join(chr(c) for c in range(0x21, 0x7F)) + "a" * 34
    assert len(key) == 128
    assert upload(client, alice, mic, quiet(), key=key).status_code == 202


def test_concurrent_retries_with_one_key_make_one_job(app, alice, mic):
    """Eight copies of one upload at once: one job, one blob, every answer names it."""
    data = quiet(seed=3)
    barrier = threading.Barrier(8)
    answers: list = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = upload(client, alice, mic, data, key="race")
        answers.append((response.status_code, (response.json or {}).get("job_id")))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 8
    assert {status for status, _ in answers} == {202}, answers
    assert len({job for _, job in answers}) == 1, answers
    assert len(jobs_of(alice.network_id)) == 1
    assert len(blobs(app, alice.network_id)) == 1


def test_networks_and_clients_do_not_share_keys(client, app, alice, bob, mic):
    bob_key = client.post(
        f"{bob.prefix()}/service/keys", json={"name": "bob mic"}, headers=bob.headers
    ).json["key"]
    bob_mic = {"X-API-Key": bob_key}
    assert (
        client.post(f"{bob.prefix()}/service/client/register/kitchen", headers=bob_mic).status_code
        == 200
    )
    client.post(f"{alice.prefix()}/service/client/register/hall", headers=mic)
    data = quiet()
    mine = upload(client, alice, mic, data, key="shared")
    theirs = upload(client, bob, bob_mic, data, key="shared")
    assert mine.status_code == theirs.status_code == 202
    assert mine.json["job_id"] != theirs.json["job_id"]
    hall = client.post(
        f"{alice.prefix()}/interactions/register",
        data={"audio": (io.BytesIO(data), "c.wav"), "client_id": "hall"},
        headers={**mic, "Idempotency-Key": "shared"},
        content_type="multipart/form-data",
    )
    assert hall.status_code == 202 and hall.json["job_id"] != mine.json["job_id"]
    assert len(jobs_of(alice.network_id)) == 2
    assert len(jobs_of(bob.network_id)) == 1
    # Bob cannot read Alice's job through the shared key.
    assert client.get(mine.json["status_url"], headers=bob_mic).status_code in (403, 404)


def test_an_expired_key_makes_a_new_job(client, app, alice, mic):
    data = quiet()
    first = upload(client, alice, mic, data, key="old").json["job_id"]
    db.session.execute(db.update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    second = upload(client, alice, mic, data, key="old").json["job_id"]
    assert second != first
    assert len(jobs_of(alice.network_id)) == 2


# The orphan sweep ------------------------------------------------------------------------------


def _age(app, key: str, seconds: float) -> None:
    path = blob_store(app).root / key
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_orphan_sweep_removes_old_unreferenced_audio_only(client, app, alice, mic, runner):
    store = blob_store(app)
    job_id = upload(client, alice, mic, quiet()).json["job_id"]
    referenced = db.session.get(Job, uuid.UUID(job_id)).payload["audio_key"]
    old_orphan = f"{alice.network_id}/2026/01/01/{uuid.uuid4()}.wav"
    fresh_orphan = f"{alice.network_id}/2026/01/01/{uuid.uuid4()}.wav"
    for key in (old_orphan, fresh_orphan):
        store.put(key, b"RIFF")
    _age(app, old_orphan, 7200)
    _age(app, referenced, 7200)

    result = runner.invoke(args=["mira", "sweep-audio", "--older-than", "3600"])
    assert result.exit_code == 0, result.output
    assert '"orphan_audio_deleted": 1' in result.output
    assert not store.exists(old_orphan)
    assert store.exists(fresh_orphan)
    assert store.exists(referenced)

    from mira.ops.orphans import sweep_orphan_audio

    _age(app, fresh_orphan, 7200)
    assert sweep_orphan_audio(3600)["orphan_audio_deleted"] == 1
    assert not store.exists(fresh_orphan) and store.exists(referenced)


def test_lambdas_hourly_audio_sweep_deletes_old_orphans_at_the_configured_age(app, alice):
    from mira import lambda_tasks

    store = blob_store(app)
    old, fresh = (f"{alice.network_id}/2026/01/01/{uuid.uuid4()}.wav" for _ in range(2))
    for key, seconds in ((old, 7200), (fresh, 600)):
        store.put(key, b"RIFF")
        _age(app, key, seconds)
    app.config["MIRA_ORPHAN_AUDIO_AGE_S"] = 3600.0
    assert lambda_tasks.sweep_audio({}, None)["orphan_audio_deleted"] == 1
    assert not store.exists(old) and store.exists(fresh)
    app.config["MIRA_ORPHAN_AUDIO_AGE_S"] = 300.0
    assert lambda_tasks.sweep_audio()["orphan_audio_deleted"] == 1
    assert not store.exists(fresh)


def test_the_sweep_forgets_expired_keys(client, app, alice, mic):
    from mira.ops.orphans import sweep_orphan_audio

    upload(client, alice, mic, quiet(), key="keep")
    upload(client, alice, mic, quiet(seed=5), key="drop")
    db.session.execute(
        db.update(IdempotencyKey)
        .where(IdempotencyKey.key == "drop")
        .values(created_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    assert sweep_orphan_audio(3600)["idempotency_keys_expired"] == 1
    assert db.session.scalars(db.select(IdempotencyKey.key)).all() == ["keep"]


def test_a_voice_enrolment_retried_with_its_key_is_one_job(client, app, alice):
    person = client.post(
        f"{alice.prefix()}/persons", json={"name": "Ada"}, headers=alice.headers
    ).json
    data = quiet(seconds=2.5, seed=7)

    def enrol():
        return client.post(
            f"{alice.prefix()}/persons/{person['id']}/voice",
            data={"audio_file": (io.BytesIO(data), "ada.wav")},
            content_type="multipart/form-data",
            headers={**alice.headers, "Idempotency-Key": "ada-1"},
        )

    first, again = enrol(), enrol()
    assert first.status_code == again.status_code == 202, (first.json, again.json)
    assert again.json["job_id"] == first.json["job_id"]
    assert len(jobs_of(alice.network_id)) == 1
    assert len(blobs(app, alice.network_id)) == 1
