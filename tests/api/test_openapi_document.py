"""The OpenAPI document a newcomer reads at /docs: complete and precise."""

from __future__ import annotations

import ast
from pathlib import Path

from mira.events.services import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield method.upper(), path, operation


def test_every_operation_has_a_summary(client):
    spec = client.get("/openapi.json").json
    missing = [f"{m} {p}" for m, p, op in _operations(spec) if not op.get("summary")]
    assert missing == []


def test_event_types_are_an_enum_holding_every_type_the_code_records(client):
    schema = client.get("/openapi.json").json["components"]["schemas"]["Event"]
    assert schema["properties"]["type"]["enum"] == list(EVENT_TYPES)
    recorded = set()
    for source in (ROOT / "mira").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "events"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                recorded.add(node.args[1].value)
    assert recorded and recorded <= set(EVENT_TYPES), recorded - set(EVENT_TYPES)


def test_recording_an_unlisted_event_type_is_a_bug_caught_at_once(app):
    import uuid

    import pytest

    from mira.events import services

    with pytest.raises(ValueError, match="Unknown event type"):
        services.record(uuid.uuid4(), "client.teleported", {})
