"""Episodic memories: distilled from what is said, listed, confirmed, superseded, expired."""

from __future__ import annotations

from datetime import timedelta

from mira.extensions import db
from mira.memories.models import Memory
from mira.memories.services import expire_due
from mira.types import utcnow
from tests.realtime_client import Socket

FIELDS = {
    "id", "network_id", "source_conversation_id", "memory_type", "status", "canonical_text",
    "action_kind", "participant_person_ids", "proposed_start_at", "proposed_end_at",
    "expires_at", "confidence", "provenance", "transition_history", "created_at", "updated_at",
}  # fmt: skip


def say(client, account, text: str) -> dict:
    response = client.post("/api/v1/interactions", json={"text": text}, headers=account.headers)
    assert response.status_code == 201, response.json
    return response.json


def memories(client, account, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/memories?limit=100{query}", headers=account.headers)
    assert response.status_code == 200, response.json
    return response.json


def test_a_fact_said_becomes_a_proposed_memory_with_the_apps_fields(client, alice):
    said = say(client, alice, "Anna is allergic to peanuts.")
    [memory] = memories(client, alice)
    assert set(memory) >= FIELDS
    assert memory["memory_type"] == "fact" and memory["status"] == "proposed"
    assert memory["canonical_text"] == "Anna is allergic to peanuts"
    assert memory["provenance"]["interaction_id"] == said["id"]
    assert [t["to"] for t in memory["transition_history"]] == ["proposed"]


def test_plans_preferences_and_filters(client, alice):
    say(client, alice, "We're having dinner with the Müllers on Saturday at 7.")
    say(client, alice, "I love Italian food.")
    say(client, alice, "The weather was lovely today.")
    assert {m["memory_type"] for m in memories(client, alice)} == {"plan", "preference"}
    [plan] = memories(client, alice, "&memory_type=plan")
    assert plan["proposed_start_at"] and plan["expires_at"] and plan["action_kind"] == "schedule"
    listed = client.get("/api/v1/memories?limit=1&offset=1", headers=alice.headers)
    assert listed.headers["X-Total-Count"] == "2" and len(listed.json) == 1
    assert (
        client.get("/api/v1/memories?memory_type=gossip", headers=alice.headers).status_code == 422
    )


def test_confirm_dismiss_and_forget(client, alice):
    say(client, alice, "My sister lives in Berlin.")
    [memory] = memories(client, alice)
    path = f"/api/v1/memories/{memory['id']}"
    confirmed = client.patch(path, json={"status": "confirmed"}, headers=alice.headers).json
    assert confirmed["status"] == "confirmed"
    assert [t["to"] for t in confirmed["transition_history"]] == ["proposed", "confirmed"]
    assert client.patch(path, json={"status": "expired"}, headers=alice.headers).status_code == 422
    assert client.delete(path, headers=alice.headers).status_code == 204
    assert client.delete(path, headers=alice.headers).status_code == 204
    assert client.get(path, headers=alice.headers).status_code == 404


def test_a_correction_supersedes_the_plan_it_changes(client, alice):
    say(client, alice, "We're having dinner with the Müllers on Saturday at 7.")
    say(client, alice, "Actually, make it Sunday at 8.")
    found = {m["status"]: m for m in memories(client, alice, "&memory_type=plan")}
    assert set(found) == {"superseded", "proposed"}
    old, new = found["superseded"], found["proposed"]
    assert old["superseded_by_id"] == new["id"]
    assert "dinner" in new["canonical_text"] and "Sun" in new["canonical_text"]
    assert new["proposed_start_at"] != old["proposed_start_at"]


def test_memories_expire_once_their_time_has_passed(client, alice):
    say(client, alice, "Schedule a dentist appointment tomorrow at 3.")
    memory = db.session.scalar(db.select(Memory))
    memory.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert expire_due() == 1
    assert expire_due() == 0
    [expired] = memories(client, alice)
    assert expired["status"] == "expired"
    assert expired["transition_history"][-1]["reason"] == "its time passed"


def test_memories_reach_the_socket_as_episodic_memory(client, live, alice):
    socket = Socket(live, token=alice.access_token, client_id="dadei")
    socket.wait_for("service_status")
    say(client, alice, "Tom really likes jazz.")
    message = socket.wait_for("episodic_memory", timeout=10)
    assert message["data"]["canonical_text"] == "Tom really likes jazz"
    assert message["data"]["status"] == "proposed"
    socket.close()


def test_another_network_never_sees_them(client, alice, bob):
    say(client, alice, "Anna is allergic to peanuts.")
    [memory] = memories(client, alice)
    assert memories(client, bob) == []
    foreign = f"/api/v1/memories/{memory['id']}"
    assert client.get(foreign, headers=bob.headers).status_code == 404
    assert (
        client.patch(foreign, json={"status": "dismissed"}, headers=bob.headers).status_code == 404
    )
    assert (
        client.delete(foreign, headers=bob.headers).status_code == 204
    )  # idempotent, touches nothing
    assert memories(client, alice)[0]["status"] == "proposed"


def test_a_spoken_command_leaves_a_commitment(client, alice):
    from tests.api.test_voice_commands import ask, sse_events
    from tests.audio_data import flite_speech, wav_bytes

    sse_events(ask(client, alice, wav_bytes(flite_speech("Remind me to call mom at five."))))
    [memory] = memories(client, alice)
    assert memory["memory_type"] == "commitment" and "call mom" in memory["canonical_text"]
    assert memory["action_kind"] == "remind" and memory["proposed_start_at"]
