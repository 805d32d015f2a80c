"""The served OpenAPI document is the contract: property-based requests against every operation.

Schemathesis generates requests from /openapi.json and sends them through the WSGI app as a
registered user. Any 5xx, any undocumented status code, any body or content type that
contradicts the document fails the test. A second, plain test pins the document's paths to
API.md, so a route cannot silently vanish from the docs.
"""

from __future__ import annotations

import uuid

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mira.actions.models import Action  # noqa: E402
from mira.conversations.models import Conversation  # noqa: E402
from mira.extensions import db  # noqa: E402
from mira.jobs.models import Job  # noqa: E402
from mira.memories.models import Memory  # noqa: E402
from tests.oauth_provider import CLIENTS, FakeProviders  # noqa: E402
from tests.openapi import expanded_document, full_paths  # noqa: E402

# Deleting the caller's own account would revoke the token every other request relies on; the
# auth tests cover it.
EXCLUDED = {("DELETE", "/api/v1/auth/me")}


def no_server_error(ctx, response, case):
    """not_a_server_error, except the contract's own 503 for a network whose service is off.

    Fuzzing PATCH /service/disable turns the service off; from then on API.md requires uploads
    to answer 503 SERVICE_DISABLED. Any other 5xx still fails.
    """
    if response.status_code == 503:
        body = response.json() if "json" in response.headers.get("content-type", [""])[0] else {}
        if body.get("error_code") == "SERVICE_DISABLED":
            return None
    return not_a_server_error(ctx, response, case)


POSITIVE_CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Invalid input must be refused with a documented client error, never a crash.
NEGATIVE_CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

HYPOTHESIS_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
)


def _seed(client, account) -> dict[str, str]:
    """Real ids of the caller's network, so generated requests also reach the found-branch."""
    headers, prefix = account.headers, account.prefix()
    person = client.post(f"{prefix}/persons", json={"name": "Ada"}, headers=headers)
    assert person.status_code == 201, person.json
    interaction = client.post(
        f"{prefix}/interactions",
        json={"text": "remind me to call Bob at 5pm", "person_id": person.json["id"]},
        headers=headers,
    )
    assert interaction.status_code == 201, interaction.json
    key = client.post(f"{prefix}/service/keys", json={"name": "mic"}, headers=headers)
    assert key.status_code == 201, key.json
    # No route creates these directly (the pipeline and the assistant do): insert them.
    network_id = uuid.UUID(account.network_id)
    conversation = Conversation(network_id=network_id, title="Dinner plans")
    action = Action(
        network_id=network_id,
        action_type="remind",
        details={"time": "2026-01-01T17:00:00Z", "description": "call Bob"},
    )
    job = Job(network_id=network_id, kind="inference", status="failed", error="offline")
    memory = Memory(network_id=network_id, memory_type="plan", canonical_text="Dinner on Friday")
    db.session.add_all([conversation, action, job, memory])
    db.session.commit()
    return {
        "network_id": account.network_id,
        "person_id": person.json["id"],
        "interaction_id": interaction.json["id"],
        "key_id": key.json["id"],
        "conversation_id": str(conversation.id),
        "action_id": str(action.id),
        "job_id": str(job.id),
        "memory_id": str(memory.id),
        "user_id": account.user_id,
    }


def _path_names(operation) -> set[str]:
    return {parameter.name for parameter in operation.path_parameters}


def _strategy(operation, mode: GenerationMode, known: dict[str, str]):
    names = _path_names(operation)
    query = {"wait": 0} if any(p.name == "wait" for p in operation.query) else None
    generated = operation.as_strategy(generation_mode=mode, query=query)
    fixed = {name: value for name, value in known.items() if name in names}
    if not fixed or mode is GenerationMode.NEGATIVE:
        return generated
    return st.one_of(
        operation.as_strategy(generation_mode=mode, path_parameters=fixed, query=query), generated
    )


def test_every_operation_conforms_to_the_openapi_document(app, client, register, monkeypatch):
    # Sign-in with Google and GitHub configured (against the fake providers), so its routes are
    # fuzzed past "not configured".
    for name, (client_id, secret) in CLIENTS.items():
        monkeypatch.setitem(app.config, f"{name.upper()}_CLIENT_ID", client_id)
        monkeypatch.setitem(app.config, f"{name.upper()}_CLIENT_SECRET", secret)
    monkeypatch.setitem(app.config, "MIRA_OAUTH_TRANSPORT", FakeProviders())
    account = register()
    known = _seed(client, account)
    # Each documented route under its /api/v1 prefixes (the network's and the default one's);
    # /api/v2 is the same routing (tests/api/test_apps_api.py covers the alias).
    schema = schemathesis.openapi.from_dict(
        expanded_document(client.get("/openapi.json").json, ("/api/v1",))
    )
    schema.app, schema.location = app, "/openapi.json"
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if (result.ok().method.upper(), result.ok().path) not in EXCLUDED
    ]
    # Deletes last, so the seeded rows serve every other operation first; deleting the network
    # itself (or leaving it) comes at the very end.
    operations.sort(
        key=lambda operation: (
            operation.method.upper() == "DELETE",
            operation.path.startswith("/api/v1/networks/"),
        )
    )
    assert len(operations) > 50  # the whole API, not an empty or half-loaded document

    failures = []
    succeeded = []  # operations that answered 2xx at least once: the run reached the views
    for operation in operations:
        statuses: set[int] = set()
        for mode, checks in _modes(operation):
            try:
                _exercise(_strategy(operation, mode, known), checks, account.headers, statuses)
            except (Exception, BaseExceptionGroup) as exc:  # collect all: show every broken one
                failures.append(
                    f"{operation.method.upper()} {operation.path} [{mode.value}]\n{exc}"
                )
        print(operation.method.upper(), operation.path, sorted(statuses))
        if any(200 <= status < 300 for status in statuses):
            succeeded.append(f"{operation.method.upper()} {operation.path}")
    assert not failures, "\n\n".join(failures)
    never_succeeded = sorted(
        {f"{operation.method.upper()} {operation.path}" for operation in operations}
        - set(succeeded)
    )
    assert len(succeeded) >= 0.8 * len(operations), never_succeeded


def _modes(operation):
    yield GenerationMode.POSITIVE, POSITIVE_CHECKS
    # Without any input there is nothing to make invalid.
    if any((operation.path_parameters, operation.query, operation.headers, operation.body)):
        yield GenerationMode.NEGATIVE, NEGATIVE_CHECKS


def _exercise(strategy, checks, headers, statuses: set[int]) -> None:
    @HYPOTHESIS_SETTINGS
    @given(case=strategy)
    def run(case):
        response = case.call_and_validate(headers=headers, checks=checks)
        statuses.add(response.status_code)

    run()


# Every path of API.md, in both forms where it is a network resource (`{P}` = `/api/v1/{network_id}`
# or `/api/v1`). Written out rather than derived, so the list itself is the contract.
PLAIN_PATHS = [
    "/",
    "/health",
    "/health/detailed",
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/me",
    "/api/v1/networks",
    "/api/v1/networks/{network_id}",
    "/api/v1/networks/{network_id}/members",
    "/api/v1/networks/{network_id}/members/{user_id}",
]
NETWORK_PATHS = [
    "/service/info",
    "/service/client/register/{client_id}",
    "/service/client/deregister/{client_id}",
    "/service/clients",
    "/service/clients/{client_id}",
    "/service/enable",
    "/service/disable",
    "/service/keys",
    "/service/keys/{key_id}",
    "/interactions/register",
    "/interactions/{interaction_id}/inference",
    "/streams/{stream_id}/audio",
    "/jobs",
    "/jobs/{job_id}",
    "/jobs/{job_id}/retry",
    "/events",
    "/interactions",
    "/interactions/{interaction_id}",
    "/persons",
    "/persons/{person_id}",
    "/persons/{person_id}/voice",
    "/persons/{person_id}/update",
    "/persons/{person_id}/voice-samples",
    "/persons/{person_id}/voice-samples/{sample_id}",
    "/persons/{person_id}/merge",
    "/conversations",
    "/conversations/{conversation_id}",
    "/conversations/{conversation_id}/interactions",
    "/streams/best",
    "/streams/scores",
    "/streams/{client_id}/info",
    "/streams/phone/location",
    "/streams/phone/rssi",
    "/actions",
    "/actions/{action_id}",
    "/audit",
]
EXPECTED_PATHS = PLAIN_PATHS + [
    f"{prefix}{path}" for path in NETWORK_PATHS for prefix in ("/api/v1/{network_id}", "/api/v1")
]


def test_openapi_document_has_every_path_of_the_api_contract(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    documented = set(full_paths(response.json))
    missing = [path for path in EXPECTED_PATHS if path not in documented]
    assert not missing, f"API.md paths missing from /openapi.json: {missing}"
    aliased = [path.replace("/api/v1", "/api/v2", 1) for path in EXPECTED_PATHS]
    assert not [path for path in aliased if path.startswith("/api/") and path not in documented]
