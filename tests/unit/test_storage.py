"""Blob stores: the local folder and S3 (against moto's server, a real HTTP endpoint)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from mira.storage import BlobNotFound, LocalStore, store_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    import boto3

    bucket = f"mira-{request.node.name.lower().replace('[', '-').replace(']', '')}"[:60]
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return store_for(f"s3://{bucket}/audio", endpoint)


def test_put_get_delete_round_trip(store):
    store.put("net/2026/01/01/a.wav", b"RIFF...")
    assert store.exists("net/2026/01/01/a.wav")
    assert store.get("net/2026/01/01/a.wav") == b"RIFF..."
    store.delete("net/2026/01/01/a.wav")
    assert not store.exists("net/2026/01/01/a.wav")
    store.delete("net/2026/01/01/a.wav")  # deleting twice is fine


def test_missing_blob_raises_blob_not_found(store):
    with pytest.raises(BlobNotFound):
        store.get("nothing/here.wav")


def test_keys_cannot_escape_the_store(tmp_path):
    store = LocalStore(tmp_path / "blobs")
    store.put("../../etc/passwd", b"x")
    assert (tmp_path / "blobs" / "etc" / "passwd").read_bytes() == b"x"
    assert not (tmp_path / "etc").exists()


def test_s3_keys_live_under_the_prefix(s3_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="mira-prefix")
    store_for("s3://mira-prefix/some/prefix", s3_endpoint).put("k.wav", b"data")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="mira-prefix")["Contents"]]
    assert keys == ["some/prefix/k.wav"]


def test_an_upload_is_stored_in_s3_before_the_answer(make_app, _schema, s3_endpoint, register):
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="mira-uploads")
    app = make_app(MIRA_STORAGE_URL="s3://mira-uploads/audio", MIRA_S3_ENDPOINT_URL=s3_endpoint)
    from tests.audio_data import speech, wav_bytes

    with app.app_context():
        http = app.test_client()
        account = register()
        key = http.post(
            f"{account.prefix()}/service/keys", json={"name": "mic"}, headers=account.headers
        ).json["key"]
        http.post(f"{account.prefix()}/service/client/register/desk", headers={"X-API-Key": key})
        data = wav_bytes(speech(12))
        response = http.post(
            f"{account.prefix()}/interactions/register?client_id=desk&wait=5",
            data=data,
            headers={"X-API-Key": key, "Content-Type": "audio/wav"},
        )
        assert response.status_code == 200, response.json
        assert response.json["status"] == "succeeded"
        objects = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(
            Bucket="mira-uploads"
        )["Contents"]
        assert len(objects) == 1 and objects[0]["Key"].startswith(f"audio/{account.network_id}/")
        assert objects[0]["Size"] == len(data)


@pytest.mark.parametrize(
    "url, folder",
    [("file:///srv/mira/audio", "/srv/mira/audio"), ("file://localhost/a%20b", "/a b")],
)
def test_file_urls_name_local_folders(url, folder):
    store = store_for(url)
    assert isinstance(store, LocalStore) and str(store.root) == folder


@pytest.mark.parametrize(
    "url", ["file://otherhost/x", "ftp://example.com/audio", "gs://bucket/audio", "file:"]
)
def test_other_storage_urls_are_refused(url):
    with pytest.raises(ValueError, match="MIRA_STORAGE_URL"):
        store_for(url)


def test_windows_style_drive_paths_stay_folders():
    assert isinstance(store_for("C:/mira/audio"), LocalStore)


def test_a_bad_storage_url_stops_start_up(monkeypatch, tmp_path):
    from mira.config import ConfigError, load_config

    monkeypatch.setenv("MIRA_STORAGE_URL", "ftp://example.com/audio")
    with pytest.raises(ConfigError, match="MIRA_STORAGE_URL"):
        load_config(tmp_path)
