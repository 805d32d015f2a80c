"""Legacy LAN mode: first-generation clients (terminal-client, desktop-client) without accounts.

The calls are replayed as reference/mira-clients.md describes the clients: unprefixed paths, no
credentials, raw s16le 16 kHz PCM. The mode serves them only when it is on and the peer is in
the allow-list, and only as requests to the configured network (Alice's here); Bob's network is
the other tenant that must stay untouched.
"""

from __future__ import annotations

import io
import ipaddress
import uuid
from datetime import timedelta

import numpy as np
import pytest

from mira import legacy_lan
from mira.config import ConfigError, load_config
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs.models import Job
from tests.api.factories import T0, create_interaction, create_person, iso
from tests.audio_data import speech

OUTSIDER = {"REMOTE_ADDR": "203.0.113.9"}  # TEST-NET-3: neither loopback nor private
LEGACY_FIELDS = {"enabled", "connected_clients", "recent_interactions"}
TERMINAL = "Ankur's MacBook Air"
TERMINAL_PATH = "Ankur's%20MacBook%20Air"  # as the terminal client sends it

# One concrete request per Gen-A route (the id values need not exist to be refused).
SOME_ID = "6f1c1e4e-1b7a-4f55-9d3c-0a8f2d1e5b11"
GEN_A_CALLS = [
    ("POST", f"/service/client/register/{TERMINAL_PATH}"),
    ("DELETE", f"/service/client/deregister/{TERMINAL_PATH}"),
    ("PATCH", "/service/enable"),
    ("PATCH", "/service/disable"),
    ("POST", "/interactions/register"),
    ("GET", f"/interactions/{SOME_ID}"),
    ("DELETE", f"/interactions/{SOME_ID}"),
    ("POST", f"/interactions/{SOME_ID}/inference"),
    ("GET", "/persons/all"),
    ("GET", f"/persons/{SOME_ID}"),
    ("POST", f"/persons/{SOME_ID}/update"),
]


def pcm(index: int) -> bytes:
    """A LibriSpeech utterance as the Gen-A clients send it: headerless int16 LE, 16 kHz mono."""
    return (np.clip(speech(index), -1, 1) * 32767).astype("<i2").tobytes()


def call(client, method: str, path: str, **kwargs):
    return client.open(path, method=method, **kwargs)


def assert_envelope(response, status: int, error_code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert {"detail", "error_code", "timestamp", "request_id"} <= set(body)
    assert body["error_code"] == error_code
    return body


@pytest.fixture
def legacy(app, alice, monkeypatch):
    """The mode on, serving Alice's network, with the default allow-list (restored after)."""
    monkeypatch.setitem(app.config, "MIRA_LEGACY_LAN", True)
    monkeypatch.setitem(app.config, "MIRA_LEGACY_LAN_NETWORK", uuid.UUID(alice.network_id))
    return alice


def service_info(client, account) -> dict:
    response = client.get(f"{account.prefix()}/service/info", headers=account.headers)
    assert response.status_code == 200
    return response.json


def network_rows(network_id: str) -> dict[str, int]:
    network = uuid.UUID(network_id)
    db.session.expire_all()
    counts = {
        model.__tablename__: db.session.scalar(
            db.select(db.func.count()).select_from(model).where(model.network_id == network)
        )
        for model in (Interaction, Job)
    }
    db.session.rollback()
    return counts


# The two clients' sessions -------------------------------------------------------------------


def test_the_terminal_clients_session_from_loopback(client, legacy, bob):
    alice = legacy
    client.patch(f"{alice.prefix()}/service/disable", headers=alice.headers)
    bob_before = service_info(client, bob)

    registered = client.post(f"/service/client/register/{TERMINAL_PATH}")
    assert registered.status_code == 200, registered.json
    assert registered.json["version"] == "2.0.0"
    assert registered.json["client"]["client_id"] == TERMINAL

    root = client.get("/").json
    assert root["enabled"] is False
    assert TERMINAL in root["connected_clients"]
    enabled = client.patch("/service/enable")
    assert enabled.status_code == 200
    assert client.get("/").json["enabled"] is True

    # No client_id: the upload belongs to the client registered from this address.
    uploaded = client.post(
        "/interactions/register",
        data=pcm(0),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 202, uploaded.json
    assert uploaded.is_json and uploaded.json["job_id"]
    job = client.get(f"{alice.prefix()}/jobs/{uploaded.json['job_id']}", headers=alice.headers)
    assert job.json["status"] == "succeeded", job.json
    assert job.json["client_id"] == TERMINAL
    assert job.json["result"]["format"] == "pcm"
    interaction_ids = job.json["result"]["interaction_ids"]
    assert interaction_ids
    for interaction_id in interaction_ids:
        stored = client.get(
            f"{alice.prefix()}/interactions/{interaction_id}", headers=alice.headers
        ).json
        assert stored["network_id"] == alice.network_id
        assert stored["client_id"] == TERMINAL
        assert stored["text"]
    assert client.get("/").json["recent_interactions"][-len(interaction_ids) :] == interaction_ids

    gone = client.delete(f"/service/client/deregister/{TERMINAL_PATH}")
    assert gone.status_code == 200
    assert TERMINAL not in client.get("/").json["connected_clients"]
    assert client.patch("/service/disable").status_code == 200
    assert client.get("/").json["enabled"] is False

    # Only the configured network changed.
    assert service_info(client, bob) == bob_before
    assert network_rows(bob.network_id) == {"interactions": 0, "jobs": 0}


def test_the_desktop_clients_calls(client, legacy, bob):
    alice = legacy
    ada = create_person(client, alice, "Ada")
    create_person(client, bob, "Bob's person")
    assert client.get("/").json["connected_clients"] == {}

    registered = client.post(
        "/service/client/register/desktop-client",
        json={"local_ip_address": "127.0.0.1", "external_ip_address": "192.168.1.20"},
    )
    assert registered.status_code == 200
    entry = client.get("/").json["connected_clients"]["desktop-client"]
    assert set(entry) == {"connected_at", "last_seen"}
    assert client.patch("/service/enable", json={"client_id": "desktop-client"}).status_code == 200

    uploaded = client.post(
        "/interactions/register",
        data={
            "audio": (io.BytesIO(pcm(1)), "audio.wav", "audio/wav"),
            "client_id": "desktop-client",
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 202, uploaded.json
    assert not isinstance(uploaded.json.get("message"), str)  # no toast
    newest = client.get("/").json["recent_interactions"][-1]

    shown = client.get(f"/interactions/{newest}")
    assert shown.status_code == 200
    assert {"id", "text", "timestamp", "speaker_id"} <= set(shown.json)
    assert shown.json["id"] == newest and shown.json["text"]
    assert shown.json["client_id"] == "desktop-client"
    speaker = client.get(f"/persons/{shown.json['speaker_id'] or 'null'}")
    assert speaker.status_code < 500
    if shown.json["speaker_id"]:
        assert {"id", "name", "index"} <= set(speaker.json)
    assert client.get("/persons/null").status_code == 422

    inference = client.post(
        f"/interactions/{newest}/inference", json={"client_id": "desktop-client"}
    )
    assert inference.status_code == 202, inference.json

    persons = client.get("/persons/all")
    assert persons.status_code == 200
    assert all({"id", "name", "index"} <= set(p) for p in persons.json)
    assert ada["id"] in [p["id"] for p in persons.json]
    assert "Bob's person" not in [p["name"] for p in persons.json]
    trained = client.post(
        f"/persons/{ada['id']}/update",
        data={
            "audio": (io.BytesIO(pcm(2)), "audio.wav", "audio/wav"),
            "expected_text": "the quick brown fox",
            "name": "Ada Lovelace",
        },
        content_type="multipart/form-data",
    )
    assert trained.status_code == 200, trained.json
    assert trained.json["name"] == "Ada Lovelace"

    assert client.delete(f"/interactions/{newest}").status_code == 204
    assert client.get(f"/interactions/{newest}").status_code == 404
    assert newest not in client.get("/").json["recent_interactions"]
    assert network_rows(bob.network_id) == {"interactions": 0, "jobs": 0}


def test_the_rest_register_reply_is_unchanged(client, legacy, device_key):
    """`version` is for first-generation clients only: the authenticated reply has none."""
    response = client.post(
        f"{legacy.prefix()}/service/client/register/kitchen", headers={"X-API-Key": device_key}
    )
    assert response.status_code == 200
    assert "version" not in response.json


def test_recent_interactions_are_bounded_and_newest_last(client, legacy):
    said_at = {}
    for minute in reversed(range(25)):  # made newest first: the order must come from the time
        said = create_interaction(
            client, legacy, "hi", timestamp=iso(T0 + timedelta(minutes=minute))
        )
        said_at[minute] = said["id"]
    oldest_first = [said_at[minute] for minute in range(25)]
    listed = client.get("/").json["recent_interactions"]
    assert listed == oldest_first[-legacy_lan.RECENT_INTERACTIONS :]


def test_a_cors_preflight_of_a_gen_a_route_is_answered(client, legacy):
    response = client.options(
        "/service/enable",
        headers={"Origin": "null", "Access-Control-Request-Method": "PATCH"},
    )
    assert response.status_code == 200
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]


# Who is refused -------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", GEN_A_CALLS, ids=[f"{m} {p}" for m, p in GEN_A_CALLS])
def test_a_peer_outside_the_allow_list_is_refused(client, legacy, method, path):
    before = network_rows(legacy.network_id)
    response = call(client, method, path, environ_base=OUTSIDER)
    body = assert_envelope(response, 403, "LEGACY_LAN_ADDRESS_NOT_ALLOWED")
    assert "203.0.113.9" in body["detail"] and "MIRA_LEGACY_LAN_ALLOW" in body["detail"]
    assert service_info(client, legacy)["connected_clients"] == {}
    assert network_rows(legacy.network_id) == before


def test_the_root_shows_no_legacy_state_to_a_peer_outside_the_allow_list(client, legacy):
    root = client.get("/", environ_base=OUTSIDER)
    assert root.status_code == 200
    assert not LEGACY_FIELDS & set(root.json)
    assert set(client.get("/").json) >= LEGACY_FIELDS


def test_a_forwarded_header_does_not_make_a_peer_local(client, legacy):
    """The peer address is trusted as it is; headers a caller writes are not."""
    response = client.patch(
        "/service/enable",
        headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"},
        environ_base=OUTSIDER,
    )
    assert_envelope(response, 403, "LEGACY_LAN_ADDRESS_NOT_ALLOWED")


def test_the_allow_list_is_the_setting(client, legacy, app, monkeypatch):
    monkeypatch.setitem(
        app.config, "MIRA_LEGACY_LAN_ALLOW", (ipaddress.ip_network("203.0.113.0/24"),)
    )
    assert client.patch("/service/enable", environ_base=OUTSIDER).status_code == 200
    assert_envelope(client.patch("/service/enable"), 403, "LEGACY_LAN_ADDRESS_NOT_ALLOWED")
    # An IPv4 peer seen through a dual-stack socket is the same peer.
    mapped = {"REMOTE_ADDR": "::ffff:203.0.113.9"}
    assert client.patch("/service/enable", environ_base=mapped).status_code == 200


@pytest.mark.parametrize("method, path", GEN_A_CALLS, ids=[f"{m} {p}" for m, p in GEN_A_CALLS])
def test_with_the_mode_off_gen_a_routes_are_not_found(client, alice, method, path):
    assert_envelope(call(client, method, path), 404, "NOT_FOUND")
    assert not LEGACY_FIELDS & set(client.get("/").json)


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/service/keys"),
        ("POST", "/service/keys"),
        ("GET", "/service/info"),
        ("GET", "/service/clients"),
        ("GET", "/networks"),
        ("GET", "/interactions"),
        ("PATCH", f"/persons/{SOME_ID}"),
        ("DELETE", f"/persons/{SOME_ID}"),
        ("GET", "/jobs"),
        ("GET", "/events"),
    ],
)
def test_routes_outside_the_table_stay_closed(client, legacy, method, path):
    assert_envelope(call(client, method, path, json={"name": "x"}), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "method, path",
    [
        ("PATCH", "/service/enable"),
        ("POST", "/service/client/register/laptop"),
        ("POST", "/interactions/register"),
        ("GET", "/persons/all"),
        ("GET", "/service/keys"),
        ("POST", "/service/keys"),
    ],
)
def test_prefixed_routes_still_need_credentials_from_loopback(client, legacy, method, path):
    for prefix in (legacy.prefix(), "/api/v1", f"/api/v2/{legacy.network_id}"):
        assert_envelope(call(client, method, prefix + path, json={}), 401, "UNAUTHORIZED")


def test_a_missing_network_is_a_clear_503(client, legacy, app, monkeypatch):
    missing = uuid.uuid4()
    monkeypatch.setitem(app.config, "MIRA_LEGACY_LAN_NETWORK", missing)
    for method, path in GEN_A_CALLS:
        body = assert_envelope(call(client, method, path), 503, "LEGACY_LAN_NETWORK_MISSING")
        assert str(missing) in body["detail"]
    root = client.get("/")
    assert root.status_code == 200
    assert not LEGACY_FIELDS & set(root.json)


# Tenant isolation -----------------------------------------------------------------------------


def test_another_tenants_rows_are_out_of_reach(client, legacy, bob):
    theirs = create_interaction(client, bob, "bob's secret")
    person = create_person(client, bob, "Bob's person")
    assert_envelope(client.get(f"/interactions/{theirs['id']}"), 404, "NOT_FOUND")
    assert client.delete(f"/interactions/{theirs['id']}").status_code in {204, 404}
    assert_envelope(client.post(f"/interactions/{theirs['id']}/inference"), 404, "NOT_FOUND")
    assert_envelope(client.get(f"/persons/{person['id']}"), 404, "NOT_FOUND")
    renamed = client.post(
        f"/persons/{person['id']}/update", data={"name": "x"}, content_type="multipart/form-data"
    )
    assert_envelope(renamed, 404, "NOT_FOUND")
    assert theirs["id"] not in client.get("/").json["recent_interactions"]
    still = client.get(f"{bob.prefix()}/interactions/{theirs['id']}", headers=bob.headers)
    assert still.status_code == 200 and still.json["text"] == "bob's secret"
    again = client.get(f"{bob.prefix()}/persons/{person['id']}", headers=bob.headers)
    assert again.json["name"] == "Bob's person"


# The table and the settings ------------------------------------------------------------------


def test_every_gen_a_route_is_served_by_a_network_route(app):
    """The table names routes that exist; a renamed route must not silently drop out."""
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    for method, path in legacy_lan.GEN_A_ROUTES:
        assert (method, f"/api/v1/<network_id>{path}") in served, (method, path)


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in ("MIRA_LEGACY_LAN", "MIRA_LEGACY_LAN_NETWORK", "MIRA_LEGACY_LAN_ALLOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MIRA_SECRETS_ARN", raising=False)

    def load(**values: str) -> dict:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        return load_config(tmp_path)

    return load


def test_the_settings_are_read_and_checked(env):
    off = env()
    assert off["MIRA_LEGACY_LAN"] is False
    assert legacy_lan.peer_allowed("192.168.1.20", off["MIRA_LEGACY_LAN_ALLOW"])
    assert legacy_lan.peer_allowed("::1", off["MIRA_LEGACY_LAN_ALLOW"])
    assert not legacy_lan.peer_allowed("203.0.113.9", off["MIRA_LEGACY_LAN_ALLOW"])
    network = uuid.uuid4()
    on = env(
        MIRA_LEGACY_LAN="true",
        MIRA_LEGACY_LAN_NETWORK=str(network),
        MIRA_LEGACY_LAN_ALLOW="10.1.0.0/16, 2001:db8::/32,192.168.7.7",
    )
    assert on["MIRA_LEGACY_LAN"] is True
    assert on["MIRA_LEGACY_LAN_NETWORK"] == network
    assert [str(n) for n in on["MIRA_LEGACY_LAN_ALLOW"]] == [
        "10.1.0.0/16",
        "2001:db8::/32",
        "192.168.7.7/32",
    ]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"MIRA_LEGACY_LAN_NETWORK": None}, "MIRA_LEGACY_LAN_NETWORK is not set"),
        ({"MIRA_LEGACY_LAN_NETWORK": "living-room"}, "MIRA_LEGACY_LAN_NETWORK must be"),
        ({"MIRA_LEGACY_LAN_ALLOW": "10.0.0.0/33"}, "MIRA_LEGACY_LAN_ALLOW holds '10.0.0.0/33'"),
        ({"MIRA_LEGACY_LAN_ALLOW": "192.168.1.5/24"}, "MIRA_LEGACY_LAN_ALLOW holds"),
        ({"MIRA_LEGACY_LAN_ALLOW": "lan"}, "MIRA_LEGACY_LAN_ALLOW holds 'lan'"),
        ({"MIRA_LEGACY_LAN_ALLOW": " , "}, "MIRA_LEGACY_LAN_ALLOW is empty"),
    ],
)
def test_bad_settings_stop_start_up_with_the_mode_on(env, values, message):
    values = {"MIRA_LEGACY_LAN_NETWORK": str(uuid.uuid4()), **values}
    with pytest.raises(ConfigError, match=message):
        env(MIRA_LEGACY_LAN="on", **{k: v for k, v in values.items() if v is not None})
