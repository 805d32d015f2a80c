"""Tenant isolation: nothing of one network can be read, listed, changed or deleted from another.

Alice and Bob each hold data in every resource. Bob then attacks every network route of the API
contract three ways: with Alice's network id in the path, with Alice's resource ids under his
own network (explicit and default prefix), and with his device key. Every attempt must answer
without a trace of Alice's data, and Alice's view of her network must be exactly as before.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from mira.clients.models import Client
from mira.extensions import db
from mira.jobs.models import Job
from mira.memories.models import Memory
from mira.types import utcnow
from tests.api.factories import (
    create_interaction,
    create_person,
    insert_action,
    insert_conversation,
    insert_job,
    insert_voice_sample,
)
from tests.audio_data import SR, wav_bytes


def _tone_wav() -> bytes:
    t = np.arange(int(SR * 1.0)) / SR
    return wav_bytes((0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))


WAV = _tone_wav()

# Strings only Alice's data holds; none may reach Bob.
ALICE_SECRETS = (
    "alice-secret-person",
    "alice-secret-words",
    "alice-secret-title",
    "alice-secret-topic",
    "alice-secret-errand",
    "alice-secret-failure",
    "alice-secret-room",
    "alice-secret-key",
    "alice-secret-sample",
    "carol-alice-member",
)


@dataclass
class Tenant:
    account: Any
    ids: dict[str, str] = field(default_factory=dict)
    device_key: str = ""


def _populate(client, account, tag: str, member_email: str) -> Tenant:
    """One network with something in every resource; `tag` marks each string it holds."""
    tenant = Tenant(account)
    h = account.headers
    p = account.prefix()
    person = create_person(client, account, f"{tag}-secret-person")
    other = create_person(client, account, f"{tag}-other-person")
    sample = insert_voice_sample(
        account.network_id, person["id"], seed=3, description=f"{tag}-secret-sample"
    )
    conversation = insert_conversation(
        account.network_id,
        participants=[person["id"]],
        title=f"{tag}-secret-title",
        topic_summary=f"{tag}-secret-topic",
    )
    interaction = create_interaction(
        client,
        account,
        f"{tag}-secret-words",
        person_id=person["id"],
        conversation_id=conversation,
    )
    action = insert_action(
        account.network_id,
        details={"time": "18:00", "description": f"{tag}-secret-errand"},
        person_id=uuid.UUID(person["id"]),
        interaction_id=uuid.UUID(interaction["id"]),
    )
    job = insert_job(account.network_id, kind="enroll", error=f"{tag}-secret-failure")
    memory = Memory(
        network_id=uuid.UUID(account.network_id),
        memory_type="fact",
        canonical_text=f"{tag}-secret-memory",
        source_interaction_id=uuid.UUID(interaction["id"]),
    )
    db.session.add(memory)
    db.session.commit()
    client_id = f"{tag}-kitchen"
    response = client.post(
        f"{p}/service/clients",
        json={"client_id": client_id, "metadata": {"room": f"{tag}-secret-room"}},
        headers=h,
    )
    assert response.status_code == 201, response.json
    key = client.post(f"{p}/service/keys", json={"name": f"{tag}-secret-key"}, headers=h)
    assert key.status_code == 201, key.json
    tenant.device_key = key.json["key"]
    located = client.post(
        f"{p}/streams/phone/location",
        json={"client_id": client_id, "location": {"latitude": 1.0, "longitude": 2.0}},
        headers={"X-API-Key": tenant.device_key},
    )
    assert located.status_code == 200, located.json
    # As if it had uploaded audio: a scored stream shows up in best/scores.
    row = db.session.scalar(
        db.select(Client).where(
            Client.network_id == uuid.UUID(account.network_id), Client.client_id == client_id
        )
    )
    row.quality = {"snr_db": 20.0, "clarity": 55.0, "rms": 0.05, "sample_count": 1}
    row.stream_score = 61.5
    row.stream_updated_at = utcnow()
    db.session.commit()
    member = client.post(
        "/api/v1/auth/register", json={"email": member_email, "password": "long enough pw"}
    )
    assert member.status_code == 201, member.json
    added = client.post(
        f"/api/v1/networks/{account.network_id}/members",
        json={"email": member_email, "role": "member"},
        headers=h,
    )
    assert added.status_code == 201, added.json
    tenant.ids = {
        "network_id": account.network_id,
        "owner_id": account.user_id,
        "person_id": person["id"],
        "other_person_id": other["id"],
        "sample_id": sample,
        "conversation_id": conversation,
        "interaction_id": interaction["id"],
        "action_id": action,
        "memory_id": str(memory.id),
        "job_id": job,
        "client_id": client_id,
        "stream_id": client_id,
        "key_id": key.json["id"],
        "user_id": member.json["user"]["id"],
    }
    return tenant


@pytest.fixture
def world(client, alice, bob, app):
    return {
        "alice": _populate(client, alice, "alice", "carol-alice-member@example.com"),
        "bob": _populate(client, bob, "bob", "dave-bob-member@example.com"),
    }


# Every network route of API.md, as Flask rules under /api/v1/<network_id>. `device` marks the
# routes a device key may use. Bodies and query strings refer to Alice's rows as <name> and to
# Bob's as <bob:name>.
@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    body: Any = None
    query: str = ""
    device: bool = False
    form: bool = False
    raw_audio: bool = False
    # Names are not secrets: Bob may register a client that happens to share Alice's name.
    own_network_may_succeed: bool = False

    @property
    def id(self) -> str:
        query = f"?{self.query}" if self.query else ""
        body = f" {json.dumps(self.body, sort_keys=True)}" if self.body else ""
        return f"{self.method} {self.rule}{query}{' form' if self.form else ''}{body}"


ROUTES = [
    # service and clients
    Route("GET", "/service/info", device=True),
    Route(
        "POST",
        "/service/client/register/<client_id>",
        {"metadata": {"room": "x"}},
        device=True,
        own_network_may_succeed=True,
    ),
    Route("DELETE", "/service/client/deregister/<client_id>", device=True),
    Route("GET", "/service/clients"),
    Route("POST", "/service/clients", {"metadata": {}}),
    Route("PATCH", "/service/clients/<client_id>", {"client_id": "stolen"}),
    Route("DELETE", "/service/clients/<client_id>"),
    Route("PATCH", "/service/clients/<client_id>/rename", {"new_client_id": "stolen"}),
    Route("PATCH", "/service/enable"),
    Route("PATCH", "/service/disable"),
    Route("PATCH", "/service/network/enable"),
    Route("PATCH", "/service/network/disable"),
    Route("GET", "/service/keys"),
    Route("POST", "/service/keys", {"name": "intruder"}),
    Route("GET", "/service/keys/<key_id>"),
    Route("DELETE", "/service/keys/<key_id>"),
    # audio in, streams
    Route("POST", "/interactions/register", {"client_id": "<client_id>"}, device=True, form=True),
    Route("POST", "/streams/<stream_id>/audio", device=True, raw_audio=True),
    Route("GET", "/streams/best"),
    Route("GET", "/streams/scores"),
    Route("GET", "/streams/<client_id>/info"),
    Route(
        "POST",
        "/streams/phone/location",
        {"client_id": "<client_id>", "location": {"latitude": 5.0, "longitude": 5.0}},
        device=True,
    ),
    Route(
        "POST",
        "/streams/phone/rssi",
        {"phone_client_id": "<bob:client_id>", "target_client_id": "<client_id>", "rssi": -40},
        device=True,
    ),
    # jobs, events
    Route("GET", "/jobs"),
    Route("GET", "/jobs", query="status=failed&kind=enroll"),
    Route("GET", "/jobs/<job_id>", device=True),
    Route("POST", "/jobs/<job_id>/retry"),
    Route("GET", "/events", device=True),
    Route("GET", "/events", query="after=0&limit=500", device=True),
    # interactions
    Route("GET", "/interactions"),
    Route("GET", "/interactions", query="person_id=<person_id>"),
    Route("GET", "/interactions", query="conversation_id=<conversation_id>"),
    Route("GET", "/interactions", query="conversation_ids=<conversation_id>&orphans_only=true"),
    Route("GET", "/interactions", query="q=alice-secret"),
    Route("POST", "/interactions", {"text": "x", "person_id": "<person_id>"}),
    Route("POST", "/interactions", {"text": "x", "conversation_id": "<conversation_id>"}),
    Route("GET", "/interactions/<interaction_id>"),
    Route("PATCH", "/interactions/<interaction_id>", {"text": "overwritten"}),
    Route("PATCH", "/interactions/<bob:interaction_id>", {"person_id": "<person_id>"}),
    Route("PATCH", "/interactions/<bob:interaction_id>", {"conversation_id": "<conversation_id>"}),
    Route("DELETE", "/interactions/<interaction_id>"),
    Route("POST", "/interactions/<interaction_id>/inference"),
    # persons
    Route("GET", "/persons"),
    Route("GET", "/persons", query="include_embedding=true"),
    Route("GET", "/persons/all"),
    Route("POST", "/persons", {"name": "intruder"}),
    Route("GET", "/persons/<person_id>"),
    Route("GET", "/persons/<person_id>", query="include_embedding=true"),
    Route("PATCH", "/persons/<person_id>", {"name": "overwritten"}),
    Route("PATCH", "/persons/<person_id>", {"name": "overwritten"}, form=True),
    Route("DELETE", "/persons/<person_id>"),
    Route("POST", "/persons/<person_id>/merge", {"into": "<bob:person_id>"}),
    Route("POST", "/persons/<person_id>/merge", {"into": "<other_person_id>"}),
    Route("POST", "/persons/<bob:person_id>/merge", {"into": "<person_id>"}),
    Route("POST", "/persons/<person_id>/voice", {"description": "x"}, form=True),
    Route("POST", "/persons/<person_id>/update", {"name": "overwritten"}, form=True),
    Route("GET", "/persons/<person_id>/voice-samples"),
    Route("DELETE", "/persons/<person_id>/voice-samples/<sample_id>"),
    Route("DELETE", "/persons/<bob:person_id>/voice-samples/<sample_id>"),
    # conversations
    Route("GET", "/conversations"),
    Route("GET", "/conversations/<conversation_id>"),
    Route("PATCH", "/conversations/<conversation_id>", {"title": "overwritten"}),
    Route("DELETE", "/conversations/<conversation_id>"),
    Route("GET", "/conversations/<conversation_id>/interactions"),
    # actions
    Route("GET", "/actions"),
    Route("GET", "/actions", query="status=pending"),
    Route("GET", "/actions/<action_id>"),
    Route("PATCH", "/actions/<action_id>", {"status": "dismissed"}),
    Route("POST", "/actions/voice", {"client_id": "<client_id>"}, form=True),
    # memories
    Route("GET", "/memories"),
    Route("GET", "/memories", query="memory_type=fact&status=proposed"),
    Route("GET", "/memories/<memory_id>"),
    Route("PATCH", "/memories/<memory_id>", {"status": "dismissed"}),
    Route("DELETE", "/memories/<memory_id>"),
    # audit log (owners only)
    Route("GET", "/audit"),
    Route("GET", "/audit", query="action=device_key.created&limit=500"),
]

NETWORK_ROUTES = [
    Route("GET", "/api/v1/networks/<network_id>"),
    Route("PATCH", "/api/v1/networks/<network_id>", {"name": "overwritten"}),
    Route("DELETE", "/api/v1/networks/<network_id>"),
    Route("GET", "/api/v1/networks/<network_id>/members"),
    Route(
        "POST",
        "/api/v1/networks/<network_id>/members",
        {"email": "bob@example.com", "role": "owner"},
    ),
    Route("DELETE", "/api/v1/networks/<network_id>/members/<user_id>"),
    Route("DELETE", "/api/v1/networks/<network_id>/members/<owner_id>"),
]

_PLACEHOLDER = re.compile(r"<(bob:)?([a-z_]+)>")


def _fill(text: str, world) -> str:
    def swap(match):
        tenant = world["bob"] if match.group(1) else world["alice"]
        return tenant.ids[match.group(2)]

    return _PLACEHOLDER.sub(swap, text)


def _fill_body(body: Any, world) -> Any:
    if isinstance(body, str):
        return _fill(body, world)
    if isinstance(body, dict):
        return {k: _fill_body(v, world) for k, v in body.items()}
    return body


def _send(client, route: Route, prefix: str, headers: dict, world):
    path = prefix + _fill(route.rule, world)
    if route.query:
        path += "?" + _fill(route.query, world)
    body = _fill_body(route.body, world)
    kwargs: dict[str, Any] = {}
    if route.raw_audio:
        kwargs = {"data": WAV, "content_type": "audio/wav"}
    elif route.form:
        data = dict(body or {})
        if route.rule.endswith(("/register", "/voice", "/update")):
            data["audio"] = (io.BytesIO(WAV), "clip.wav")
            data["audio_file"] = (io.BytesIO(WAV), "clip.wav")
        kwargs = {"data": data, "content_type": "multipart/form-data"}
    elif body is not None:
        kwargs = {"json": body}
    response = client.open(path, method=route.method, headers=headers, **kwargs)
    return response, path + json.dumps(body, default=str)


def _leaks(response, request_text: str, world) -> list[str]:
    """Alice's strings and ids in the answer, except those Bob sent himself."""
    text = response.get_data(as_text=True)
    alice_ids = [v for k, v in world["alice"].ids.items() if k not in {"client_id", "stream_id"}]
    return [
        marker
        for marker in (*ALICE_SECRETS, *alice_ids)
        if marker in text and marker not in request_text
    ]


def _snapshot(client, world) -> dict[str, Any]:
    """Everything Alice sees of her network through the API."""
    alice = world["alice"]
    h = alice.account.headers
    p = alice.account.prefix()
    ids = alice.ids
    paths = [
        f"/api/v1/networks/{ids['network_id']}",
        f"/api/v1/networks/{ids['network_id']}/members",
        f"{p}/persons?include_embedding=true",
        f"{p}/persons/{ids['person_id']}/voice-samples",
        f"{p}/conversations",
        f"{p}/interactions",
        f"{p}/actions",
        f"{p}/jobs",
        f"{p}/events?after=0&limit=500",
        f"{p}/service/info",
        f"{p}/service/clients",
        f"{p}/service/keys",
        f"{p}/streams/scores",
        f"{p}/streams/{ids['client_id']}/info",
    ]
    out = {}
    for path in paths:
        response = client.get(path, headers=h)
        out[path] = (response.status_code, response.json, response.headers.get("X-Total-Count"))
    key_still_works = client.get(f"{p}/service/info", headers={"X-API-Key": alice.device_key})
    out["device key"] = key_still_works.status_code
    return out


def _rows(world) -> dict[str, list]:
    """Every database row of Alice's network (and of its members), every column."""
    db.session.expire_all()
    network_id = uuid.UUID(world["alice"].ids["network_id"])
    user_ids = [uuid.UUID(world["alice"].ids[k]) for k in ("owner_id", "user_id")]
    out: dict[str, list] = {}
    for table in db.metadata.sorted_tables:
        columns = table.c
        if "network_id" in columns:
            where = columns.network_id == network_id
        elif table.name == "networks":
            where = columns.id == network_id
        elif table.name == "users":
            where = columns.id.in_(user_ids)
        elif table.name == "conversation_participants":
            where = columns.conversation_id == uuid.UUID(world["alice"].ids["conversation_id"])
        else:
            continue
        rows = db.session.execute(db.select(table).where(where)).all()
        out[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    db.session.rollback()
    return out


def test_the_snapshots_see_all_of_alices_data(client, world):
    """The before/after comparisons are only worth something if Alice's data is really there."""
    snapshot = _snapshot(client, world)
    text = json.dumps(snapshot)
    for secret in ALICE_SECRETS:
        assert secret in text, secret
    assert all(
        status == 200 for status, *_ in (v for k, v in snapshot.items() if k != "device key")
    )
    rows = _rows(world)
    for table in (
        "persons",
        "voice_samples",
        "conversations",
        "conversation_participants",
        "interactions",
        "actions",
        "jobs",
        "events",
        "clients",
        "device_keys",
        "memberships",
    ):
        assert rows[table], table
    assert len(rows["users"]) == 2


def _refers_to_alice(*texts: str) -> bool:
    return any(not m.group(1) for text in texts for m in _PLACEHOLDER.finditer(text))


# (label, credentials, prefix, whose network the prefix names, device routes only)
VARIANTS = [
    ("bob names alice's network (v1)", "bearer", "alice-v1", "alice", False),
    ("bob names alice's network (v2)", "bearer", "alice-v2", "alice", False),
    ("bob's own network", "bearer", "bob", "bob", False),
    ("bob's default network", "bearer", "default", "bob", False),
    ("bob's device key on alice's network", "device", "alice-v1", "alice", False),
    ("bob's device key on his own network", "device", "default", "bob", True),
]


def _prefix(kind: str, world) -> str:
    alice_network = world["alice"].ids["network_id"]
    return {
        "alice-v1": f"/api/v1/{alice_network}",
        "alice-v2": f"/api/v2/{alice_network}",
        "bob": world["bob"].account.prefix(),
        "default": "/api/v1",
    }[kind]


def _check_status(route: Route, response, credentials: str, target: str) -> None:
    status = response.status_code
    assert status < 500, response.json
    if target == "alice":
        if credentials == "device" and not route.device:
            assert status in {403, 404}  # device keys are refused outside device routes
        else:
            assert status == 404
            assert response.json["error_code"] == "NOT_FOUND"
        return
    if route.own_network_may_succeed:
        return
    if _refers_to_alice(route.rule, json.dumps(route.body)):
        assert status in ({204, 404} if route.method == "DELETE" else {404})
    elif _refers_to_alice(route.query):
        assert status in {200, 404}  # a filter naming a foreign row matches nothing


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_bob_cannot_read_list_change_or_delete_alices_rows(client, world, route):
    before_api = _snapshot(client, world)
    before_rows = _rows(world)
    bob = world["bob"]
    for label, credentials, prefix, target, device_only in VARIANTS:
        if device_only and not route.device:
            continue
        headers = bob.account.headers if credentials == "bearer" else {"X-API-Key": bob.device_key}
        response, sent = _send(client, route, _prefix(prefix, world), headers, world)
        try:
            _check_status(route, response, credentials, target)
        except AssertionError as exc:
            raise AssertionError(f"{label}: {response.status_code} {response.json}") from exc
        assert _leaks(response, sent, world) == [], label
        assert _rows(world) == before_rows, f"{label} changed Alice's rows"
    after_api = _snapshot(client, world)
    assert after_api["device key"] == 200
    for path, state in before_api.items():
        assert after_api[path] == state, f"Alice's {path} changed"


@pytest.mark.parametrize("route", NETWORK_ROUTES, ids=lambda r: r.id)
def test_bob_cannot_reach_alices_network_record_or_members(client, world, route):
    before = _snapshot(client, world)
    before_rows = _rows(world)
    response, sent = _send(client, route, "", world["bob"].account.headers, world)
    allowed = {204, 404} if route.method == "DELETE" else {404}
    assert response.status_code in allowed, (response.status_code, response.json)
    assert _leaks(response, sent, world) == []
    assert _rows(world) == before_rows
    assert _snapshot(client, world) == before


def test_bobs_lists_hold_only_his_own_rows(client, world):
    bob = world["bob"]
    h = bob.account.headers
    p = bob.account.prefix()
    persons = client.get(f"{p}/persons", headers=h).json
    assert {x["id"] for x in persons} == {bob.ids["person_id"], bob.ids["other_person_id"]}
    assert [x["id"] for x in client.get(f"{p}/conversations", headers=h).json] == [
        bob.ids["conversation_id"]
    ]
    assert [x["id"] for x in client.get(f"{p}/interactions", headers=h).json] == [
        bob.ids["interaction_id"]
    ]
    assert [x["id"] for x in client.get(f"{p}/actions", headers=h).json] == [bob.ids["action_id"]]
    # Bob's own jobs: the one made for him, and the assistant's run on his typed interaction.
    bobs_jobs = {
        str(job_id)
        for job_id in db.session.scalars(
            db.select(Job.id).where(Job.network_id == uuid.UUID(bob.account.network_id))
        )
    }
    assert bob.ids["job_id"] in bobs_jobs
    assert {x["id"] for x in client.get(f"{p}/jobs", headers=h).json} == bobs_jobs
    assert [x["client_id"] for x in client.get(f"{p}/service/clients", headers=h).json] == [
        bob.ids["client_id"]
    ]
    assert [x["id"] for x in client.get(f"{p}/service/keys", headers=h).json] == [bob.ids["key_id"]]
    assert list(client.get(f"{p}/streams/scores", headers=h).json["stream_scores"]) == [
        bob.ids["client_id"]
    ]
    events = client.get(f"{p}/events?after=0&limit=500", headers=h).json["events"]
    assert events, "Bob's own changes are in his feed"
    assert all("alice" not in json.dumps(e) for e in events)
    members = client.get(f"/api/v1/networks/{bob.ids['network_id']}/members", headers=h).json
    assert {m["email"] for m in members} == {"bob@example.com", "dave-bob-member@example.com"}


def test_every_network_route_of_the_app_is_covered(app):
    """A new network route must get an isolation case here before it ships."""

    def shape(rule: str) -> str:
        return re.sub(r"<[^>]+>", "<>", rule)

    covered = {(r.method, shape(r.rule)) for r in ROUTES}
    served = set()
    for rule in app.url_map.iter_rules():
        # The realtime socket is no HTTP route: its isolation is proven with a real WebSocket
        # client (tests/api/test_realtime.py).
        if not rule.rule.startswith("/api/v1/<network_id>/") or rule.websocket:
            continue
        suffix = rule.rule[len("/api/v1/<network_id>") :]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((method, shape(suffix)))
    assert served, "network routes are mounted under /api/v1/<network_id>"
    assert served - covered == set()
