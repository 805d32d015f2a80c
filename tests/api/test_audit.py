"""The audit log: every admin and biometric action leaves one entry, read by owners only."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from mira import audit
from mira.audit.models import AuditEntry
from mira.extensions import db
from tests.api.factories import create_interaction, create_person, insert_voice_sample
from tests.audio_data import speech, wav_bytes


def entries(network_id: str, action: str | None = None) -> list[AuditEntry]:
    db.session.expire_all()
    query = db.select(AuditEntry).where(AuditEntry.network_id == uuid.UUID(network_id))
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query.order_by(AuditEntry.created_at, AuditEntry.id)))


def only(network_id: str, action: str) -> AuditEntry:
    found = entries(network_id, action)
    assert len(found) == 1, [(e.action, e.target) for e in entries(network_id)]
    return found[0]


def by_user(entry: AuditEntry, account) -> bool:
    return (entry.actor_kind, str(entry.actor_id), entry.actor_label) == (
        "user",
        account.user_id,
        account.email,
    )


# Each audited action --------------------------------------------------------------------------


def test_creating_and_revoking_a_device_key_are_audited(client, alice):
    created = client.post(
        f"{alice.prefix()}/service/keys", json={"name": "porch mic"}, headers=alice.headers
    ).json
    entry = only(alice.network_id, "device_key.created")
    assert by_user(entry, alice)
    assert entry.target == created["id"]
    assert entry.details == {"name": "porch mic", "prefix": created["key"][:12]}
    assert created["key"] not in json.dumps(entry.details)

    response = client.delete(
        f"{alice.prefix()}/service/keys/{created['id']}", headers=alice.headers
    )
    assert response.status_code == 204
    assert only(alice.network_id, "device_key.revoked").target == created["id"]
    again = client.delete(f"{alice.prefix()}/service/keys/{created['id']}", headers=alice.headers)
    assert again.status_code == 204
    assert len(entries(alice.network_id, "device_key.revoked")) == 1, "nothing revoked twice"


def test_adding_and_removing_a_member_are_audited(client, alice, bob):
    url = f"/api/v1/networks/{alice.network_id}/members"
    assert client.post(url, json={"email": bob.email}, headers=alice.headers).status_code == 201
    added = only(alice.network_id, "member.added")
    assert by_user(added, alice)
    assert added.target == bob.user_id
    assert added.details == {"email": bob.email, "role": "member"}

    assert client.delete(f"{url}/{bob.user_id}", headers=alice.headers).status_code == 204
    removed = only(alice.network_id, "member.removed")
    assert (removed.target, removed.details) == (bob.user_id, {"role": "member"})


def test_a_refused_member_change_leaves_no_entry(client, alice, bob):
    url = f"/api/v1/networks/{alice.network_id}/members"
    assert client.post(url, json={"email": bob.email}, headers=alice.headers).status_code == 201
    # Bob is a member, not an owner: he may not remove Alice.
    assert client.delete(f"{url}/{alice.user_id}", headers=bob.headers).status_code == 403
    assert entries(alice.network_id, "member.removed") == []


def test_deleting_a_person_is_audited_once(client, alice):
    person = create_person(client, alice, "Ada")
    insert_voice_sample(alice.network_id, person["id"], seed=1)
    url = f"{alice.prefix()}/persons/{person['id']}"
    assert client.delete(url, headers=alice.headers).status_code == 204
    assert client.delete(url, headers=alice.headers).status_code == 204
    entry = only(alice.network_id, "person.deleted")
    assert by_user(entry, alice)
    assert entry.target == person["id"]
    assert entry.details == {"index": person["index"], "voice_samples": 1}


def test_merging_persons_is_audited(client, alice):
    source = create_person(client, alice, "Ada L")
    target = create_person(client, alice, "Ada")
    response = client.post(
        f"{alice.prefix()}/persons/{source['id']}/merge",
        json={"into": target["id"]},
        headers=alice.headers,
    )
    assert response.status_code == 200
    entry = only(alice.network_id, "persons.merged")
    assert (entry.target, entry.details) == (target["id"], {"merged": source["id"]})


def test_removing_a_voice_sample_is_audited(client, alice):
    person = create_person(client, alice, "Ada")
    sample = insert_voice_sample(alice.network_id, person["id"], seed=2)
    url = f"{alice.prefix()}/persons/{person['id']}/voice-samples/{sample}"
    assert client.delete(url, headers=alice.headers).status_code == 204
    assert client.delete(url, headers=alice.headers).status_code == 204
    entry = only(alice.network_id, "voice_sample.removed")
    assert by_user(entry, alice)
    assert (entry.target, entry.details) == (sample, {"person": person["id"]})


def test_enrolling_a_voice_audits_the_upload_and_the_added_sample(client, alice):
    person = create_person(client, alice, "Ada")
    response = client.post(
        f"{alice.prefix()}/persons/{person['id']}/voice",
        data={"audio_file": (io.BytesIO(wav_bytes(speech(3))), "ada.wav")},
        content_type="multipart/form-data",
        headers=alice.headers,
    )
    assert response.status_code == 202
    job_id = str(response.json["job_id"])
    uploaded = only(alice.network_id, "voice_sample.uploaded")
    assert by_user(uploaded, alice)
    assert (uploaded.target, uploaded.details) == (person["id"], {"job": job_id})
    job = client.get(f"{alice.prefix()}/jobs/{job_id}", headers=alice.headers).json
    assert job["status"] == "succeeded", job
    added = only(alice.network_id, "voice_sample.added")
    assert added.actor_kind == "system"
    assert added.target == job["result"]["sample_id"]
    assert added.details["person"] == person["id"] and added.details["job"] == job_id


def test_a_speaker_correction_audits_the_learned_sample_it_moves_or_drops(client, alice):
    ada = create_person(client, alice, "Ada")
    grace = create_person(client, alice, "Grace")
    said = create_interaction(client, alice, "hello", person_id=ada["id"])
    sample = insert_voice_sample(
        alice.network_id,
        ada["id"],
        seed=4,
        source="learned",
        interaction_id=uuid.UUID(said["id"]),
    )
    url = f"{alice.prefix()}/interactions/{said['id']}"
    assert (
        client.patch(url, json={"person_id": grace["id"]}, headers=alice.headers).status_code == 200
    )
    moved = only(alice.network_id, "voice_sample.moved")
    assert (moved.target, moved.details["source"]) == (sample, "learned")
    assert client.patch(url, json={"person_id": None}, headers=alice.headers).status_code == 200
    dropped = only(alice.network_id, "voice_sample.removed")
    assert dropped.target == sample and dropped.details["interaction"] == said["id"]


def test_deleting_a_network_is_audited_and_the_entry_outlives_it(client, alice):
    network = client.post("/api/v1/networks", json={"name": "Cabin"}, headers=alice.headers).json
    response = client.delete(f"/api/v1/networks/{network['id']}", headers=alice.headers)
    assert response.status_code == 204
    entry = only(network["id"], "network.deleted")
    assert by_user(entry, alice)


def test_deleting_an_account_audits_the_networks_it_alone_owned(client, alice):
    assert client.delete("/api/v1/auth/me", headers=alice.headers).status_code == 204
    assert only(alice.network_id, "network.deleted").actor_label == alice.email


def test_cli_actions_are_attributed_to_the_cli(runner, alice, bob):
    assert runner.invoke(args=["mira", "create-device-key", alice.network_id]).exit_code == 0
    assert runner.invoke(args=["mira", "add-member", alice.network_id, bob.email]).exit_code == 0
    created = only(alice.network_id, "device_key.created")
    added = only(alice.network_id, "member.added")
    assert (created.actor_kind, created.actor_id) == ("cli", None)
    assert (added.actor_kind, added.target, added.details["role"]) == ("cli", bob.user_id, "member")


def test_record_refuses_an_unknown_action(app):
    with pytest.raises(ValueError):
        audit.record(uuid.uuid4(), "system", "person.renamed", None, {})


# GET {P}/audit --------------------------------------------------------------------------------


def _make_history(client, account, count: int) -> list[str]:
    ids = []
    for index in range(count):
        key = client.post(
            f"{account.prefix()}/service/keys", json={"name": f"k{index}"}, headers=account.headers
        ).json
        ids.append(key["id"])
    return ids


def test_owners_read_the_log_newest_first_with_pagination(client, alice):
    keys = _make_history(client, alice, 3)
    person = create_person(client, alice, "Ada")
    client.delete(f"{alice.prefix()}/persons/{person['id']}", headers=alice.headers)

    response = client.get(f"{alice.prefix()}/audit", headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "4"
    body = response.json
    assert [e["action"] for e in body] == ["person.deleted"] + ["device_key.created"] * 3
    assert [e["target"] for e in body[1:]] == list(reversed(keys))
    first = body[0]
    assert set(first) == {"id", "network_id", "actor", "action", "target", "details", "created_at"}
    assert first["actor"] == {"kind": "user", "id": alice.user_id, "label": alice.email}
    assert first["network_id"] == alice.network_id
    assert first["created_at"].endswith("Z")

    page = client.get(f"{alice.prefix()}/audit?limit=2&offset=1", headers=alice.headers)
    assert [e["id"] for e in page.json] == [e["id"] for e in body[1:3]]
    assert page.headers["X-Total-Count"] == "4"
    default_prefix = client.get("/api/v1/audit?action=device_key.created", headers=alice.headers)
    assert default_prefix.headers["X-Total-Count"] == "3"
    assert {e["action"] for e in default_prefix.json} == {"device_key.created"}


def test_members_and_device_keys_may_not_read_the_log(client, alice, bob, device_key):
    url = f"/api/v1/networks/{alice.network_id}/members"
    client.post(url, json={"email": bob.email}, headers=alice.headers)
    as_member = client.get(f"{alice.prefix()}/audit", headers=bob.headers)
    assert as_member.status_code == 403
    assert as_member.json["error_code"] == "FORBIDDEN"
    as_device = client.get(f"{alice.prefix()}/audit", headers={"X-API-Key": device_key})
    assert as_device.status_code == 403
    assert client.get(f"{alice.prefix()}/audit").status_code == 401


def test_an_unknown_action_filter_is_422(client, alice):
    response = client.get(f"{alice.prefix()}/audit?action=everything", headers=alice.headers)
    assert response.status_code == 422
    assert "action" in response.json["errors"]


def test_the_log_of_one_network_holds_nothing_of_another(client, alice, bob):
    _make_history(client, alice, 2)
    _make_history(client, bob, 1)
    mine = client.get(f"{bob.prefix()}/audit", headers=bob.headers).json
    assert [e["network_id"] for e in mine] == [bob.network_id]
    foreign = client.get(f"/api/v1/{alice.network_id}/audit", headers=bob.headers)
    assert foreign.status_code == 404
