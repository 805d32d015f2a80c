"""Stream quality per client, best stream, phone location and RSSI."""

import io

import pytest

from tests.audio_data import speech, wav_bytes


@pytest.fixture
def mic(client, alice, device_key):
    headers = {"X-API-Key": device_key}
    for name in ("kitchen", "phone"):
        assert (
            client.post(
                f"{alice.prefix()}/service/client/register/{name}", headers=headers
            ).status_code
            == 200
        )
    return headers


def _upload(client, alice, mic, client_id, samples):
    response = client.post(
        f"{alice.prefix()}/interactions/register?wait=5",
        data={"audio": (io.BytesIO(wav_bytes(samples)), "a.wav"), "client_id": client_id},
        headers=mic,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    return response.json


def test_no_scored_stream_means_no_best(client, alice, mic):
    response = client.get(f"{alice.prefix()}/streams/best", headers=alice.headers)
    assert response.status_code == 200
    assert response.json == {"best_stream": None}
    scores = client.get(f"{alice.prefix()}/streams/scores", headers=alice.headers).json
    assert scores == {"active_streams": 0, "stream_scores": {}, "current_best": None}


def test_an_upload_scores_its_client(client, alice, mic):
    job = _upload(client, alice, mic, "kitchen", speech(0))
    score = job["result"]["quality"]["score"]
    best = client.get(f"{alice.prefix()}/streams/best", headers=alice.headers).json
    assert best["best_stream"]["client_id"] == "kitchen"
    assert best["best_stream"]["score"] == pytest.approx(score)
    info = client.get(f"{alice.prefix()}/streams/kitchen/info", headers=alice.headers).json
    assert info["is_best_stream"] is True
    assert info["quality_metrics"]["sample_count"] == 1
    assert info["quality_metrics"]["snr_db"] == job["result"]["quality"]["snr_db"]
    assert info["current_score"] == pytest.approx(score)
    clients = client.get(f"{alice.prefix()}/service/clients", headers=alice.headers).json
    kitchen = next(c for c in clients if c["client_id"] == "kitchen")
    assert kitchen["stream"] == {"score": pytest.approx(score), "is_best": True}


def test_louder_cleaner_stream_becomes_best(client, alice, mic):
    _upload(client, alice, mic, "kitchen", speech(1) * 0.05)
    _upload(client, alice, mic, "phone", speech(2))
    scores = client.get(f"{alice.prefix()}/streams/scores", headers=alice.headers).json
    assert scores["active_streams"] == 2
    assert scores["stream_scores"]["phone"] > scores["stream_scores"]["kitchen"]
    assert scores["current_best"]["client_id"] == "phone"


def test_phone_location_accuracy_changes_the_score(client, alice, mic):
    _upload(client, alice, mic, "phone", speech(3))
    before = client.get(f"{alice.prefix()}/streams/phone/info", headers=alice.headers).json
    response = client.post(
        f"{alice.prefix()}/streams/phone/location",
        headers=mic,
        json={
            "client_id": "phone",
            "location": {"latitude": 48.1, "longitude": 11.5, "accuracy": 500},
        },
    )
    assert response.status_code == 200, response.json
    # location score 100 → 50, weight 0.15: the score drops by 7.5
    assert response.json["current_score"] == pytest.approx(before["current_score"] - 7.5, abs=0.01)
    assert response.json["quality_metrics"]["location"]["accuracy"] == 500


def test_rssi_accepts_client_id_for_the_target(client, alice, mic):
    _upload(client, alice, mic, "kitchen", speech(4))
    before = client.get(f"{alice.prefix()}/streams/kitchen/info", headers=alice.headers).json
    response = client.post(
        f"{alice.prefix()}/streams/phone/rssi",
        headers=mic,
        json={"phone_client_id": "phone", "client_id": "kitchen", "rssi": -90},
    )
    assert response.status_code == 200, response.json
    assert response.json["quality_metrics"]["rssi"] == -90
    assert response.json["current_score"] == pytest.approx(before["current_score"] - 15, abs=0.01)


@pytest.mark.parametrize(
    "path, body",
    [
        ("phone/location", {"client_id": "phone", "location": {"latitude": 91, "longitude": 0}}),
        ("phone/location", {"client_id": "phone"}),
        ("phone/rssi", {"target_client_id": "kitchen", "rssi": "loud"}),
        ("phone/rssi", {"target_client_id": "kitchen"}),
    ],
)
def test_bad_phone_reports_are_422(client, alice, mic, path, body):
    response = client.post(f"{alice.prefix()}/streams/{path}", headers=mic, json=body)
    assert response.status_code == 422
    assert response.json["errors"]


def test_unknown_client_is_404(client, alice, mic):
    response = client.get(f"{alice.prefix()}/streams/attic/info", headers=alice.headers)
    assert response.status_code == 404
    response = client.post(
        f"{alice.prefix()}/streams/phone/rssi",
        headers=mic,
        json={"target_client_id": "attic", "rssi": -50},
    )
    assert response.status_code == 404


def test_streams_of_another_network_are_invisible(client, alice, bob, mic):
    _upload(client, alice, mic, "kitchen", speech(5))
    bob_view = client.get(f"{bob.prefix()}/streams/scores", headers=bob.headers).json
    assert bob_view["active_streams"] == 0
    foreign = client.get(f"{alice.prefix()}/streams/best", headers=bob.headers)
    assert foreign.status_code == 404
    assert (
        client.get(f"{bob.prefix()}/streams/kitchen/info", headers=bob.headers).status_code == 404
    )
