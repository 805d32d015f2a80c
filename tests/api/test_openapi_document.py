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


def test_each_route_is_documented_once_with_the_prefixes_it_is_served_under(client):
    from tests.openapi import full_paths

    spec = client.get("/openapi.json").json
    # No route appears twice: the prefixes are the path item's servers, not copies of it.
    assert [path for path in spec["paths"] if path.startswith("/api/")] == []
    persons = spec["paths"]["/persons"]
    assert [server["url"] for server in persons["servers"]] == [
        "/api/v1",
        "/api/v1/{network_id}",
        "/api/v2",
        "/api/v2/{network_id}",
    ]
    login = spec["paths"]["/auth/login"]
    assert [server["url"] for server in login["servers"]] == ["/api/v1", "/api/v2"]
    assert "servers" not in spec["paths"]["/health"]
    # The documented forms are the ones that answer, /api/v2 included.
    served = full_paths(spec)
    for path in ("/api/v2/{network_id}/persons", "/api/v2/auth/login", "/api/v1/realtime/ws"):
        assert path in served


def test_the_api_v2_prefix_serves_what_its_documented_servers_say(client, register):
    account = register()
    for prefix in ("/api/v2", f"/api/v2/{account.network_id}"):
        response = client.get(f"{prefix}/persons", headers=account.headers)
        assert response.status_code == 200, (prefix, response.json)


def _examples(spec):
    """(where, schema, example) for every media-type example in the document."""
    for method, path, operation in _operations(spec):
        bodies = [("request", operation.get("requestBody", {}))]
        bodies += [(status, response) for status, response in operation["responses"].items()]
        for where, body in bodies:
            for media in body.get("content", {}).values():
                if "example" in media:
                    yield f"{method} {path} {where}", media["schema"], media["example"]


def test_every_example_in_the_document_is_valid_against_its_schema(client):
    from openapi_schema_validator import OAS30Validator

    spec = client.get("/openapi.json").json
    checked = 0
    for where, schema, example in _examples(spec):
        # The components ride along so the schema's "#/components/…" references resolve.
        validator = OAS30Validator({**schema, "components": spec["components"]})
        errors = [error.message for error in validator.iter_errors(example)]
        assert errors == [], where
        checked += 1
    assert checked >= 20


def test_the_first_session_s_bodies_have_examples(client):
    """The quick start's calls show a newcomer a real body, in and out."""
    spec = client.get("/openapi.json").json
    documented = {
        where.rsplit(" ", 1)[0] + " " + where.rsplit(" ", 1)[1] for where, *_ in _examples(spec)
    }
    for expected in (
        "POST /auth/register request",
        "POST /auth/register 201",
        "POST /auth/login request",
        "POST /auth/login 200",
        "POST /service/client/register/{client_id} 200",
        "POST /interactions/register 202",
        "GET /jobs/{job_id} 200",
        "GET /interactions 200",
        "GET /interactions/{interaction_id} 200",
        "GET /persons 200",
        "GET /conversations 200",
        "GET /actions 200",
        "GET /events 200",
    ):
        assert expected in documented, expected
