"""Reminders fire: when an action's scheduled time arrives the network is told, exactly once."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest

from mira.actions.models import Action
from mira.actions.reminders import fire_due
from mira.events.models import Event
from mira.extensions import db
from mira.types import utcnow
from tests.realtime_client import Socket


def _action(network_id, seconds_from_now: float, status: str = "pending") -> uuid.UUID:
    action = Action(
        network_id=uuid.UUID(network_id),
        action_type="remind",
        status=status,
        details={"time": "now", "description": "take the bread out"},
        scheduled_time=utcnow() + timedelta(seconds=seconds_from_now),
    )
    db.session.add(action)
    db.session.commit()
    return action.id


def _due_events(network_id) -> list[Event]:
    db.session.rollback()
    return [
        e
        for e in db.session.scalars(
            db.select(Event).where(Event.network_id == uuid.UUID(network_id)).order_by(Event.id)
        )
        if e.type == "action.updated" and e.data.get("status") == "due"
    ]


def test_a_due_action_fires_once(client, alice):
    action_id = _action(alice.network_id, -2)
    assert fire_due() == [action_id]
    assert fire_due() == []
    [event] = _due_events(alice.network_id)
    assert event.data["id"] == str(action_id)
    assert event.data["late"] is False
    action = client.get(f"{alice.prefix()}/actions/{action_id}", headers=alice.headers).json
    assert action["status"] == "due"
    assert action["fired_at"] is not None and action["late"] is False


def test_future_and_closed_actions_do_not_fire(alice):
    _action(alice.network_id, 3600)
    _action(alice.network_id, -5, status="dismissed")
    _action(alice.network_id, -5, status="completed")
    assert fire_due() == []
    assert _due_events(alice.network_id) == []


def test_a_time_that_passed_while_mira_was_down_fires_late(client, alice):
    action_id = _action(alice.network_id, -3600)
    assert fire_due() == [action_id]
    action = client.get(f"{alice.prefix()}/actions/{action_id}", headers=alice.headers).json
    assert action["late"] is True


def test_confirmed_actions_fire_and_due_can_then_be_completed(client, alice):
    action_id = _action(alice.network_id, -1, status="confirmed")
    assert fire_due() == [action_id]
    done = client.patch(
        f"{alice.prefix()}/actions/{action_id}", json={"status": "completed"}, headers=alice.headers
    )
    assert done.status_code == 200 and done.json["status"] == "completed"
    # `due` is Mira's to set, not a client's.
    again = client.patch(
        f"{alice.prefix()}/actions/{action_id}", json={"status": "due"}, headers=alice.headers
    )
    assert again.status_code == 422


def test_the_due_action_reaches_the_socket(live, alice):
    socket = Socket(live, token=alice.access_token, client_id="desk")
    socket.wait_for("service_status")
    action_id = _action(alice.network_id, -1)
    fire_due()
    message = socket.wait_for("action", timeout=5)
    assert message["data"]["id"] == str(action_id)
    assert message["data"]["status"] == "due"
    assert json.loads(message["data"]["details"])["canonical_text"] == "take the bread out"
    socket.close()


def test_several_processes_firing_at_once_fire_each_action_once(app, alice):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises the whole file)")
    ids = {_action(alice.network_id, -1) for _ in range(20)}
    fired: list[uuid.UUID] = []
    errors: list[str] = []
    gate = threading.Barrier(4)

    def worker():
        with app.app_context():
            try:
                gate.wait()
                fired.extend(fire_due())
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(fired) == sorted(ids)
    assert len(_due_events(alice.network_id)) == 20


def test_the_tick_command_fires_due_actions(runner, alice):
    action_id = _action(alice.network_id, -1)
    result = runner.invoke(args=["mira", "tick"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["fired"] == [str(action_id)]
