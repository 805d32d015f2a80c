"""`flask mira purge | stats | export-network | import-network`: operating a server's data."""

from __future__ import annotations

import json
import os
import time
import uuid
import zipfile
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from mira.audit.models import AuditEntry
from mira.config import normalise_db_url
from mira.events.models import Event
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs.models import Job
from mira.storage import blob_store
from mira.types import utcnow
from tests.api.factories import (
    create_person,
    insert_action,
    insert_conversation,
    insert_interaction,
    insert_job,
    insert_voice_sample,
)


def json_lines(result) -> list[dict]:
    assert result.exit_code == 0, (result.output, result.exception)
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def put_audio(network_id: str, name: str, data: bytes | None = None, age_s: float = 0) -> str:
    """Store a blob under the network's folder; `age_s` backdates it (local store)."""
    key = f"{network_id}/2025/01/01/{name}"
    store = blob_store()
    store.put(key, data or f"audio of {name}".encode())
    if age_s:
        old = time.time() - age_s
        os.utime(store.root / key, (old, old))
    return key


def audit_actions(network_id: str) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(AuditEntry.action).where(AuditEntry.network_id == uuid.UUID(network_id))
        )
    )


@pytest.fixture(autouse=True)
def own_audio_folder(app, tmp_path):
    """A blob store of this test only: purge and stats look at everything stored."""
    from mira.storage import LocalStore

    saved = app.extensions.get("mira_storage")
    app.extensions["mira_storage"] = LocalStore(tmp_path / "audio")
    yield
    app.extensions["mira_storage"] = saved


def import_into(server, bundle):
    """Run import-network on another server (the CLI uses the app whose context is active)."""
    with server.app_context():
        return server.test_cli_runner().invoke(args=["mira", "import-network", str(bundle)])


# purge ----------------------------------------------------------------------------------------


@pytest.fixture
def aged(client, alice):
    """Alice's network with data on both sides of a 90-day cutoff, and stray audio."""
    now = utcnow()
    old, recent = now - timedelta(days=120), now - timedelta(days=10)
    day = 86400
    ids = {}
    ids["old_conversation"] = insert_conversation(alice.network_id, started_at=old)
    ids["mixed_conversation"] = insert_conversation(alice.network_id, started_at=old)
    ids["old_audio"] = put_audio(alice.network_id, "old.wav", age_s=120 * day)
    ids["recent_audio"] = put_audio(alice.network_id, "recent.wav", age_s=10 * day)
    ids["old"] = insert_interaction(
        alice.network_id,
        "said long ago",
        timestamp=old,
        conversation_id=ids["old_conversation"],
        audio_key=ids["old_audio"],
    )
    ids["old_in_mixed"] = insert_interaction(
        alice.network_id, "old turn", timestamp=old, conversation_id=ids["mixed_conversation"]
    )
    ids["recent"] = insert_interaction(
        alice.network_id,
        "said lately",
        timestamp=recent,
        conversation_id=ids["mixed_conversation"],
        audio_key=ids["recent_audio"],
    )
    ids["old_job"] = insert_job(
        alice.network_id, kind="analyze", status="succeeded", created_at=old
    )
    ids["queued_job"] = insert_job(
        alice.network_id, kind="analyze", status="queued", created_at=old
    )
    # A deleted person's enrolment: the sample rows cascade away, the job and audio remain.
    ghost = create_person(client, alice, "Gone")
    ids["ghost_audio"] = put_audio(alice.network_id, "ghost-voice.wav", age_s=5 * day)
    ids["ghost_job"] = insert_job(
        alice.network_id,
        kind="enroll",
        status="succeeded",
        payload={"person_id": ghost["id"], "audio_key": ids["ghost_audio"]},
    )
    assert client.delete(f"{alice.prefix()}/persons/{ghost['id']}", headers=alice.headers)
    ids["stray_old"] = put_audio(alice.network_id, "stray.wav", age_s=3 * day)
    ids["stray_fresh"] = put_audio(alice.network_id, "just-uploaded.wav")
    for event in db.session.scalars(db.select(Event)):
        event.created_at = old
    db.session.add(Event(network_id=uuid.UUID(alice.network_id), type="x.y", data={}))
    db.session.commit()
    return ids


def test_purge_deletes_old_interactions_their_audio_events_jobs_and_dead_voices(
    runner, aged, alice
):
    (result,) = json_lines(runner.invoke(args=["mira", "purge", "--older-than", "90d", "--yes"]))
    assert result["days"] == 90
    assert result["interactions"] == 2
    assert result["conversations"] == 1
    assert result["jobs"] == 2 and result["voice_jobs_of_deleted_persons"] == 1
    assert result["audio_deleted"] == 3  # old.wav, ghost-voice.wav, stray.wav
    assert result["events"] >= 1

    db.session.expire_all()
    left = {str(i.id) for i in db.session.scalars(db.select(Interaction))}
    assert left == {aged["recent"]}
    store = blob_store()
    assert not store.exists(aged["old_audio"])
    assert not store.exists(aged["ghost_audio"])
    assert not store.exists(aged["stray_old"])
    assert store.exists(aged["recent_audio"])
    assert store.exists(aged["stray_fresh"]), "an upload whose job is not committed yet stays"
    jobs = {str(j.id) for j in db.session.scalars(db.select(Job))}
    assert aged["queued_job"] in jobs and aged["old_job"] not in jobs
    assert aged["ghost_job"] not in jobs
    assert [e.type for e in db.session.scalars(db.select(Event))] == ["x.y"]
    assert "data.purged" in audit_actions(alice.network_id)


def test_purge_keeps_conversations_that_still_hold_recent_turns(runner, aged, client, alice):
    json_lines(runner.invoke(args=["mira", "purge", "--older-than", "90d", "--yes"]))
    conversations = client.get(f"{alice.prefix()}/conversations", headers=alice.headers).json
    assert [c["id"] for c in conversations] == [aged["mixed_conversation"]]


def test_purge_of_one_network_leaves_the_others_alone(runner, aged, alice, bob):
    bobs = insert_interaction(
        bob.network_id, "bob long ago", timestamp=utcnow() - timedelta(days=400)
    )
    (result,) = json_lines(
        runner.invoke(
            args=["mira", "purge", "--older-than", "13w", "--network", alice.network_id, "--yes"]
        )
    )
    assert result["networks"] == 1 and result["interactions"] == 2
    assert db.session.get(Interaction, uuid.UUID(bobs)) is not None


def test_purge_removes_the_audio_of_deleted_networks(runner, alice):
    gone = str(uuid.uuid4())
    key = put_audio(gone, "left-behind.wav", age_s=7200)
    (result,) = json_lines(runner.invoke(args=["mira", "purge", "--older-than", "30d", "--yes"]))
    assert result["audio_deleted"] == 1
    assert not blob_store().exists(key)
    assert audit_actions(gone) == ["data.purged"]


def test_purge_asks_before_deleting(runner, aged):
    result = runner.invoke(args=["mira", "purge", "--older-than", "90d"], input="n\n")
    assert result.exit_code != 0
    assert db.session.get(Interaction, uuid.UUID(aged["old"])) is not None


@pytest.mark.parametrize("age", ["0d", "ninety", "-3"])
def test_purge_refuses_a_bad_age(runner, age):
    result = runner.invoke(args=["mira", "purge", "--older-than", age, "--yes"])
    assert result.exit_code != 0


def test_purge_function_is_callable_without_the_cli(app, aged, alice):
    from mira.ops.purge import purge_older_than

    calls = []
    result = purge_older_than(90, progress=lambda done, total: calls.append((done, total)))
    assert result["interactions"] == 2
    assert calls[-1][0] == calls[-1][1] == result["networks"]


# stats ----------------------------------------------------------------------------------------


def test_stats_count_each_networks_rows_jobs_and_stored_bytes(runner, client, alice, bob):
    ada = create_person(client, alice, "Ada")
    insert_voice_sample(alice.network_id, ada["id"], seed=1)
    for text in ("one", "two"):
        insert_interaction(alice.network_id, text)
    insert_job(alice.network_id, status="failed")
    insert_job(alice.network_id, status="queued")
    put_audio(alice.network_id, "a.wav", b"x" * 1000)
    put_audio(alice.network_id, "b.wav", b"y" * 24)
    lines = json_lines(runner.invoke(args=["mira", "stats"]))
    by_id = {line["network_id"]: line for line in lines}
    assert set(by_id) == {alice.network_id, bob.network_id}
    mine = by_id[alice.network_id]
    assert (mine["interactions"], mine["persons"], mine["voice_samples"]) == (2, 1, 1)
    assert mine["jobs"] == {
        "queued": 1,
        "running": 0,
        "succeeded": 0,
        "failed": 1,
        "superseded": 0,
    }
    assert (mine["storage_files"], mine["storage_bytes"]) == (2, 1024)
    assert by_id[bob.network_id]["storage_bytes"] == 0
    only = json_lines(runner.invoke(args=["mira", "stats", "--network", bob.network_id]))
    assert [line["network_id"] for line in only] == [bob.network_id]


# export / import ------------------------------------------------------------------------------


@contextmanager
def fresh_database(db_url: str, tmp_path):
    """An empty database for the import: TEST_IMPORT_DATABASE_URL, a throwaway PostgreSQL
    database beside the test one, or a SQLite file."""
    given = os.environ.get("TEST_IMPORT_DATABASE_URL")
    if given:
        yield normalise_db_url(given), True
        return
    if make_url(db_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'imported.db'}", False
        return
    from tests.test_migrations import throwaway_database

    with throwaway_database(db_url, tmp_path) as url:
        yield url, False


@pytest.fixture
def target(make_app, db_url, tmp_path):
    """A second server: its own (migrated) database and its own audio folder."""
    with fresh_database(db_url, tmp_path) as (url, shared):
        server = make_app(SQLALCHEMY_DATABASE_URI=url, MIRA_STORAGE_URL=str(tmp_path / "target"))
        with server.app_context():
            if shared:
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            upgrade()
        try:
            yield server
        finally:
            with server.app_context():
                db.session.remove()
                db.engine.dispose()


def _household(client, alice, bob) -> dict:
    """Alice's network with something in every exported resource, audio included."""
    h, p = alice.headers, alice.prefix()
    client.patch(
        f"/api/v1/networks/{alice.network_id}",
        json={"name": "The Lovelaces", "settings": {"speaker_threshold": 0.7, "wake": ["mira"]}},
        headers=h,
    )
    client.post(
        f"/api/v1/networks/{alice.network_id}/members", json={"email": bob.email}, headers=h
    )
    client.post(
        f"{p}/service/clients", json={"client_id": "kitchen", "metadata": {"room": "k"}}, headers=h
    )
    ada = create_person(client, alice, "Ada")
    stranger = create_person(client, alice, None)
    voice = put_audio(alice.network_id, "ada-voice.wav", b"RIFF ada voice")
    insert_voice_sample(alice.network_id, ada["id"], seed=7, audio_key=voice)
    conversation = insert_conversation(
        alice.network_id, participants=[ada["id"], stranger["id"]], title="Tea", topic_summary="tea"
    )
    audio = put_audio(alice.network_id, "utterance.wav", b"RIFF utterance bytes")
    said = insert_interaction(
        alice.network_id,
        "remind me to buy tea",
        person_id=ada["id"],
        conversation_id=conversation,
        audio_key=audio,
        client_id="kitchen",
        duration_s=2.5,
        meta={"source": "mic"},
    )
    insert_interaction(alice.network_id, "who is there", person_id=stranger["id"])
    insert_action(
        alice.network_id,
        person_id=uuid.UUID(ada["id"]),
        interaction_id=uuid.UUID(said),
        conversation_id=uuid.UUID(conversation),
        details={"time": "17:00", "description": "buy tea"},
    )
    return {"ada": ada["id"], "conversation": conversation, "audio": [audio, voice]}


def _api_view(http, account, network_id: str, household: dict) -> dict:
    """What a client app sees of the network."""
    h = account.headers
    p = f"/api/v1/{network_id}"
    paths = [
        f"{p}/persons?include_embedding=true",
        f"{p}/interactions",
        f"{p}/conversations",
        f"{p}/conversations/{household['conversation']}/interactions",
        f"{p}/actions",
        f"{p}/persons/{household['ada']}/voice-samples",
    ]
    view = {}
    for path in paths:
        response = http.get(path, headers=h)
        assert response.status_code == 200, (path, response.json)
        view[path] = (response.json, response.headers.get("X-Total-Count"))
    network = http.get(f"/api/v1/networks/{network_id}", headers=h).json
    view["network"] = {k: network[k] for k in ("id", "name", "settings", "service_enabled")}
    members = http.get(f"/api/v1/networks/{network_id}/members", headers=h).json
    view["members"] = sorted((m["email"], m["role"]) for m in members)
    clients = http.get(f"{p}/service/clients", headers=h).json
    view["clients"] = [(c["client_id"], c["metadata"]) for c in clients]
    return view


def _login(http, account):
    from dataclasses import replace

    registered = http.post(
        "/api/v1/auth/register", json={"email": account.email, "password": account.password}
    )
    assert registered.status_code == 201
    return replace(account, access_token=registered.json["access_token"])


def test_export_then_import_into_a_fresh_server_answers_the_same(
    runner, client, alice, bob, target, tmp_path
):
    household = _household(client, alice, bob)
    before = _api_view(client, alice, alice.network_id, household)
    bundle = tmp_path / "household.zip"
    (exported,) = json_lines(
        runner.invoke(args=["mira", "export-network", alice.network_id, str(bundle)])
    )
    assert exported["counts"]["interactions"] == 2 and exported["counts"]["persons"] == 2
    assert exported["audio_files"] == 2 and exported["missing_audio"] == []
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "members.json", "tables/interactions.jsonl"} <= names
    assert {f"audio/{key}" for key in household["audio"]} <= names

    http = target.test_client()
    alice_there, bob_there = _login(http, alice), _login(http, bob)
    (imported,) = json_lines(import_into(target, bundle))
    assert imported["network_id"] == alice.network_id
    assert imported["missing_members"] == []
    assert imported["audio_files"] == 2

    after = _api_view(http, alice_there, alice.network_id, household)
    assert after == before
    assert http.get(f"/api/v1/{alice.network_id}/persons", headers=bob_there.headers).json
    with target.app_context():
        store = blob_store()
        for key in household["audio"]:
            assert store.get(key) == blob_store(client.application).get(key)
        actions = [
            a.action
            for a in db.session.scalars(
                db.select(AuditEntry).where(AuditEntry.network_id == uuid.UUID(alice.network_id))
            )
        ]
        assert actions == ["network.imported"]
    assert "network.exported" in audit_actions(alice.network_id)


def test_import_reports_members_missing_on_the_new_server(
    runner, client, alice, bob, target, tmp_path
):
    _household(client, alice, bob)
    bundle = tmp_path / "household.zip"
    json_lines(runner.invoke(args=["mira", "export-network", alice.network_id, str(bundle)]))
    http = target.test_client()
    alice_there = _login(http, alice)
    (imported,) = json_lines(import_into(target, bundle))
    assert imported["members"] == [{"email": alice.email, "role": "owner"}]
    assert imported["missing_members"] == [{"email": bob.email, "role": "member"}]
    network = http.get(f"/api/v1/networks/{alice.network_id}", headers=alice_there.headers)
    assert network.status_code == 200 and network.json["role"] == "owner"


def test_a_laptop_to_server_move_keeps_its_owner_and_default_network(
    runner, client, alice, bob, target, tmp_path
):
    _household(client, alice, bob)
    bundle = tmp_path / "laptop.zip"
    json_lines(runner.invoke(args=["mira", "export-network", alice.network_id, str(bundle)]))
    with target.app_context():
        result = target.test_cli_runner().invoke(
            args=[
                "mira",
                "import-network",
                str(bundle),
                "--owner",
                alice.email,
                "--password",
                alice.password,
            ]
        )
    assert result.exit_code == 0, result.output
    (imported,) = json_lines(result)
    assert imported["members"][0] == {"email": alice.email, "role": "owner"}
    http = target.test_client()
    login = http.post("/api/v1/auth/login", json={"email": alice.email, "password": alice.password})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    me = http.get("/api/v1/auth/me", headers=headers).json
    # One network, the imported one, as default: no second, empty personal network.
    assert me["default_network_id"] == alice.network_id
    assert [n["id"] for n in me["networks"]] == [alice.network_id]
    assert http.get("/api/v1/persons", headers=headers).json  # the network-less routes reach it


def test_an_import_that_fails_leaves_no_owner_account_behind(runner, client, alice, tmp_path):
    bundle = tmp_path / "same.zip"
    json_lines(runner.invoke(args=["mira", "export-network", alice.network_id, str(bundle)]))
    result = runner.invoke(
        args=[
            "mira",
            "import-network",
            str(bundle),
            "--owner",
            "new@example.com",
            "--password",
            "long enough pw",
        ]
    )
    assert result.exit_code != 0 and "already exists" in result.output
    from mira.auth.models import User

    assert db.session.scalar(db.select(User).where(User.email == "new@example.com")) is None


def test_importing_a_network_that_exists_is_refused_and_changes_nothing(
    runner, client, alice, tmp_path
):
    insert_interaction(alice.network_id, "kept once")
    bundle = tmp_path / "same.zip"
    json_lines(runner.invoke(args=["mira", "export-network", alice.network_id, str(bundle)]))
    result = runner.invoke(args=["mira", "import-network", str(bundle)])
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert (
        client.get(f"{alice.prefix()}/interactions", headers=alice.headers).headers["X-Total-Count"]
        == "1"
    )


def test_import_refuses_a_file_that_is_no_bundle(runner, tmp_path):
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    result = runner.invoke(args=["mira", "import-network", str(not_zip)])
    assert result.exit_code != 0 and "Not a Mira bundle" in result.output
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "something-else"}))
    result = runner.invoke(args=["mira", "import-network", str(other_zip)])
    assert result.exit_code != 0 and "Not a Mira network bundle" in result.output


def test_export_of_an_unknown_network_fails_and_writes_nothing(runner, tmp_path):
    out = tmp_path / "nothing.zip"
    result = runner.invoke(args=["mira", "export-network", str(uuid.uuid4()), str(out)])
    assert result.exit_code != 0
    assert not out.exists()
