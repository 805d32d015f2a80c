"""Uploads: stored before the 202, analysed by the (sync) queue, bad input answered with 4xx."""

import io
import json
import uuid

import numpy as np
import pytest

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs.models import Job
from mira.storage import blob_store
from tests.audio_data import SR, encode_soundfile, sox_noise, speech, wav_bytes


def upload(client, alice, mic, data, client_id="kitchen", wait=None, **form):
    query = f"?wait={wait}" if wait else ""
    return client.post(
        f"{alice.prefix()}/interactions/register{query}",
        data={"audio": (io.BytesIO(data), "clip.bin"), "client_id": client_id, **form},
        headers=mic,
        content_type="multipart/form-data",
    )


def test_speech_upload_becomes_an_interaction(client, alice, mic):
    response = upload(client, alice, mic, wav_bytes(speech(0)))
    assert response.status_code == 202, response.json
    body = response.json
    assert body["status"] in {"queued", "running", "succeeded"}
    job = client.get(body["status_url"], headers=mic).json
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1
    assert job["result"]["quality"]["score"] > 0
    [interaction_id] = job["result"]["interaction_ids"]
    interaction = client.get(
        f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
    ).json
    assert interaction["interaction_type"] == "audio"
    assert interaction["client_id"] == "kitchen"
    assert interaction["duration_s"] == pytest.approx(len(speech(0)) / SR, abs=0.01)
    events = client.get(f"{alice.prefix()}/events", headers=alice.headers).json["events"]
    assert "interaction.created" in [e["type"] for e in events]


def test_the_audio_is_stored_before_the_answer(client, alice, mic, app):
    data = wav_bytes(speech(1))
    job_id = upload(client, alice, mic, data).json["job_id"]
    job = db.session.get(Job, uuid.UUID(job_id))
    assert blob_store(app).get(job.payload["audio_key"]) == data


def test_raw_body_with_client_in_query(client, alice, mic):
    pcm = (speech(2) * 32767).astype("<i2").tobytes()
    response = client.post(
        f"{alice.prefix()}/interactions/register?client_id=kitchen&wait=5",
        data=pcm,
        headers={**mic, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "succeeded"
    assert response.json["result"]["format"] == "pcm"


def test_stream_audio_route_is_the_same_upload(client, alice, mic):
    response = client.post(
        f"{alice.prefix()}/streams/kitchen/audio?wait=5",
        data=encode_soundfile(speech(3), SR, "FLAC", "PCM_16"),
        headers={**mic, "Content-Type": "audio/flac"},
    )
    assert response.status_code == 200
    assert response.json["result"]["format"] == "flac"


def test_noise_only_upload_succeeds_without_interaction(client, alice, mic):
    response = upload(client, alice, mic, wav_bytes(sox_noise("pinknoise", 3.0)), wait="5")
    assert response.status_code == 200
    result = response.json["result"]
    assert result["no_speech"] is True and result["interaction_ids"] == []
    assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 0


@pytest.mark.parametrize(
    "data, status, code",
    [
        (b"", 400, "EMPTY_AUDIO"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), 415, "UNSUPPORTED_AUDIO"),
        (b'{"not": "audio"}', 415, "UNSUPPORTED_AUDIO"),
        (bytes(3), 422, "CORRUPT_AUDIO"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(8), 422, "CORRUPT_AUDIO"),
    ],
)
def test_bad_audio_is_refused_in_the_request(client, alice, mic, data, status, code):
    response = upload(client, alice, mic, data)
    assert response.status_code == status, response.json
    assert response.json["error_code"] == code
    assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 0


def test_too_long_audio_is_422(client, alice, mic, app):
    app.config["MIRA_MAX_AUDIO_SECONDS"] = 2
    try:
        response = upload(client, alice, mic, wav_bytes(np.zeros(SR * 3, dtype=np.float32)))
    finally:
        app.config["MIRA_MAX_AUDIO_SECONDS"] = 600
    assert response.status_code == 422
    assert response.json["error_code"] == "AUDIO_TOO_LONG"


def test_truncated_compressed_audio_fails_the_job_clearly(client, alice, mic):
    data = encode_soundfile(speech(4), SR, "OGG", "VORBIS")
    response = upload(client, alice, mic, data[: len(data) // 3] + bytes(10), wait="5")
    assert response.status_code == 200
    job = response.json
    assert job["status"] in {"failed", "succeeded"}
    if job["status"] == "failed":
        assert job["error"].startswith("CORRUPT_AUDIO")
        assert job["attempts"] == 1  # bad audio is not retried
    else:
        # What was kept is the audio before the cut, said so, never 4 s padded or invented.
        kept = job["result"]["duration_s"]
        assert 0 < kept <= 4 / 3 + 0.5, kept
        interactions = client.get(f"{alice.prefix()}/interactions", headers=alice.headers).json
        assert [i["duration_s"] for i in interactions] in ([], [kept])


def test_too_large_upload_is_413(make_app, _schema, alice, device_key):
    small = make_app(MAX_CONTENT_LENGTH=10_000)
    with small.app_context():
        response = small.test_client().post(
            f"{alice.prefix()}/interactions/register?client_id=kitchen",
            data=bytes(20_000),
            headers={"X-API-Key": device_key, "Content-Type": "application/octet-stream"},
        )
    assert response.status_code == 413
    assert response.json["error_code"] == "PAYLOAD_TOO_LARGE"


def test_unregistered_client_is_404(client, alice, mic):
    response = upload(client, alice, mic, wav_bytes(speech(0)), client_id="attic")
    assert response.status_code == 404
    assert response.json["error_code"] == "CLIENT_NOT_REGISTERED"


def test_a_client_id_longer_than_the_rule_is_422_and_nothing_is_stored(client, alice, mic):
    response = upload(client, alice, mic, wav_bytes(speech(0)), client_id="x" * 129)
    assert response.status_code == 422 and "client_id" in response.json["errors"]
    jobs = client.get(f"{alice.prefix()}/jobs", headers=alice.headers)
    assert jobs.json == []


def test_disabled_service_is_503(client, alice, mic):
    client.patch(f"{alice.prefix()}/service/disable", headers=alice.headers)
    response = upload(client, alice, mic, wav_bytes(speech(0)))
    assert response.status_code == 503
    assert response.json["error_code"] == "SERVICE_DISABLED"


def test_missing_client_id_and_bad_metadata_are_422(client, alice, mic):
    response = client.post(
        f"{alice.prefix()}/interactions/register",
        data=wav_bytes(speech(0)),
        headers={**mic, "Content-Type": "audio/wav"},
    )
    assert response.status_code == 422
    assert "client_id" in response.json["errors"]
    response = upload(client, alice, mic, wav_bytes(speech(0)), metadata="{nope")
    assert response.status_code == 422
    assert "metadata" in response.json["errors"]


def test_metadata_and_capture_time_reach_the_interaction(client, alice, mic):
    response = upload(
        client,
        alice,
        mic,
        wav_bytes(speech(5)),
        wait="5",
        metadata=json.dumps({"room": "kitchen"}),
        captured_at="2026-03-01T10:00:00+01:00",
    )
    [interaction_id] = response.json["result"]["interaction_ids"]
    interaction = client.get(
        f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
    ).json
    # The client's metadata is kept; the server adds what it heard, whose voice it decided it
    # was (and why), and how the assistant acted.
    assert interaction["metadata"]["room"] == "kitchen"
    assert set(interaction["metadata"]) == {"room", "transcript", "speaker", "assistant"}
    assert interaction["metadata"]["speaker"]["decision"] in {"match", "new", "undecided"}
    assert interaction["metadata"]["transcript"]["engine"] == "whisper-tiny.en"
    assert interaction["timestamp"] == "2026-03-01T09:00:00Z"


def test_an_upload_decided_alone_keeps_the_utterance(client, alice, mic):
    """A duplicate arriving after the first one was decided is superseded by it."""
    client.post(f"{alice.prefix()}/service/client/register/hall", headers=mic)
    window = {"chunk_start_ms": "1760000000000", "chunk_end_ms": "1760000005000"}
    first = upload(client, alice, mic, wav_bytes(speech(6)), client_id="hall", wait="5", **window)
    second = upload(client, alice, mic, wav_bytes(speech(6)), wait="5", **window)
    assert first.json["status"] == "succeeded"
    assert second.json["status"] == "superseded"
    assert second.json["superseded_by"] == first.json["id"]
    assert second.json["result"]["superseded_by"] == first.json["id"]


@pytest.mark.parametrize("better_first", [True, False])
def test_same_utterance_from_two_clients_keeps_the_better_stream(
    make_app, _schema, alice, device_key, better_first
):
    """Both uploads queued together (two worker threads): whatever the order, the cleaner
    stream makes the one interaction and the other job is superseded by it."""
    import time

    app = make_app(MIRA_QUEUE="inline", MIRA_INLINE_WORKERS=2, MIRA_DEDUP_WINDOW_MS=1000)
    http = app.test_client()
    mic = {"X-API-Key": device_key}
    for name in ("kitchen", "hall"):
        http.post(f"{alice.prefix()}/service/client/register/{name}", headers=mic)
    clean = speech(7)
    noisy = clean + np.random.default_rng(0).normal(0, 0.05, len(clean)).astype(np.float32)
    uploads = [("kitchen", clean), ("hall", noisy)]
    if not better_first:
        uploads.reverse()
    job_ids = {}
    for name, audio in uploads:
        response = upload(http, alice, mic, wav_bytes(audio), client_id=name)
        assert response.status_code == 202
        job_ids[name] = response.json["job_id"]
    deadline = time.monotonic() + 30
    jobs = {}
    while time.monotonic() < deadline:
        jobs = {
            n: http.get(f"{alice.prefix()}/jobs/{j}", headers=mic).json for n, j in job_ids.items()
        }
        if all(j["status"] in {"succeeded", "superseded", "failed"} for j in jobs.values()):
            break
        time.sleep(0.1)
    assert jobs["kitchen"]["status"] == "succeeded", jobs
    assert jobs["hall"]["status"] == "superseded", jobs
    assert jobs["hall"]["superseded_by"] == jobs["kitchen"]["id"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 1


def test_quick_successive_uploads_of_one_client_are_not_duplicates(client, alice, mic):
    first = upload(client, alice, mic, wav_bytes(speech(8)), wait="5")
    second = upload(client, alice, mic, wav_bytes(speech(9)), wait="5")
    assert [first.json["status"], second.json["status"]] == ["succeeded", "succeeded"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 2


def test_deleting_an_interaction_deletes_its_audio(client, alice, mic, app):
    job = upload(client, alice, mic, wav_bytes(speech(10)), wait="5").json
    [interaction_id] = job["result"]["interaction_ids"]
    key = db.session.get(Job, uuid.UUID(job["id"])).payload["audio_key"]
    assert blob_store(app).exists(key)
    response = client.delete(
        f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
    )
    assert response.status_code == 204
    assert not blob_store(app).exists(key)


def test_retention_can_keep_audio_of_deleted_interactions(client, alice, mic, app):
    job = upload(client, alice, mic, wav_bytes(speech(11)), wait="5").json
    [interaction_id] = job["result"]["interaction_ids"]
    key = db.session.get(Job, uuid.UUID(job["id"])).payload["audio_key"]
    app.config["MIRA_DELETE_AUDIO"] = False
    try:
        client.delete(f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers)
    finally:
        app.config["MIRA_DELETE_AUDIO"] = True
    assert blob_store(app).exists(key)


def test_a_network_with_one_microphone_does_not_wait_out_the_dedup_window(
    make_app, _schema, alice, device_key
):
    import time

    app = make_app(MIRA_DEDUP_WINDOW_MS=8000)
    http = app.test_client()
    mic = {"X-API-Key": device_key}
    http.post(f"{alice.prefix()}/service/client/register/kitchen", headers=mic)
    began = time.monotonic()
    response = upload(http, alice, mic, wav_bytes(speech(2)), wait="20")
    assert response.json["status"] == "succeeded"
    assert time.monotonic() - began < 8.0
    # With a second microphone the same upload waits for a possible duplicate.
    http.post(f"{alice.prefix()}/service/client/register/hall", headers=mic)
    began = time.monotonic()
    response = upload(http, alice, mic, wav_bytes(speech(4)), wait="20")
    assert response.json["status"] == "succeeded"
    assert time.monotonic() - began >= 8.0
