"""The one error envelope: every non-2xx answer has the same shape, and no internals leak."""

from __future__ import annotations

import logging
import re
import uuid

import pytest

from mira.extensions import db

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def assert_envelope(response, status: int, error_code: str, request_id: str | None = None):
    assert response.status_code == status
    assert response.is_json, response.data
    body = response.json
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["error_code"] == error_code
    assert ISO_Z.match(body["timestamp"]), body["timestamp"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    if request_id is not None:
        assert body["request_id"] == request_id
    if status == 422:
        assert isinstance(body["errors"], dict) and body["errors"]
    else:
        assert "errors" not in body
    assert set(body) <= {"detail", "error_code", "timestamp", "request_id", "errors"}
    return body


def test_an_unknown_route_is_404_in_the_envelope(client):
    response = client.get("/no/such/route", headers={"X-Request-ID": "req-404"})
    body = assert_envelope(response, 404, "NOT_FOUND", "req-404")
    assert body["detail"] == "Not found"


def test_an_unknown_route_under_the_api_is_404_in_the_envelope(client, alice):
    response = client.get(f"{alice.prefix()}/nothing-here", headers=alice.headers)
    assert_envelope(response, 404, "NOT_FOUND")


def test_a_wrong_method_is_405_with_allow(client, alice):
    response = client.put(
        f"{alice.prefix()}/persons",
        json={"name": "x"},
        headers={**alice.headers, "X-Request-ID": "req-405"},
    )
    body = assert_envelope(response, 405, "METHOD_NOT_ALLOWED", "req-405")
    assert "PUT" in body["detail"]
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "PUT" not in allowed


def test_a_body_over_the_size_limit_is_413(make_app, _schema):
    small = make_app(MAX_CONTENT_LENGTH=1024)
    client = small.test_client()
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "big@example.com", "password": "x" * 4096},
        headers={"X-Request-ID": "req-413"},
    )
    body = assert_envelope(response, 413, "PAYLOAD_TOO_LARGE", "req-413")
    assert body["detail"] == "Request body too large"


def test_a_validation_failure_is_422_with_field_errors(client, alice):
    response = client.post(
        f"{alice.prefix()}/persons",
        json={"name": "", "extra": 1},
        headers={**alice.headers, "X-Request-ID": "req-422"},
    )
    body = assert_envelope(response, 422, "VALIDATION_ERROR", "req-422")
    assert set(body["errors"]) == {"name", "extra"}
    assert all(isinstance(m, list) and m for m in body["errors"].values())
    assert body["detail"].startswith("Validation failed")
    assert "name" in body["detail"]


def test_a_query_validation_failure_names_the_parameter_not_the_location(client, alice):
    response = client.get(f"{alice.prefix()}/interactions?limit=0", headers=alice.headers)
    body = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert "limit" in body["errors"]
    assert "query" not in body["errors"]


def test_a_form_validation_failure_names_the_field_not_the_location(client, alice):
    person = client.post(
        f"{alice.prefix()}/persons", json={"name": "Ada"}, headers=alice.headers
    ).json
    response = client.patch(
        f"{alice.prefix()}/persons/{person['id']}",
        data={"name": "x" * 200},
        content_type="multipart/form-data",
        headers=alice.headers,
    )
    body = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert list(body["errors"]) == ["name"]


def test_a_malformed_network_id_is_422(client, alice):
    response = client.get("/api/v1/not-a-uuid/persons", headers=alice.headers)
    body = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert "network_id" in body["errors"]


def test_malformed_json_is_400(client, alice):
    response = client.post(
        f"{alice.prefix()}/persons",
        data='{"name": "Ada",',
        content_type="application/json",
        headers={**alice.headers, "X-Request-ID": "req-400"},
    )
    body = assert_envelope(response, 400, "MALFORMED_JSON", "req-400")
    assert body["detail"] == "Malformed JSON body"


def test_missing_credentials_are_401_in_the_envelope(client, alice):
    response = client.get(f"{alice.prefix()}/persons")
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_conflict_is_409_in_the_envelope(client, alice, app):
    from tests.api.factories import insert_job

    job_id = insert_job(alice.network_id, status="succeeded")
    response = client.post(f"{alice.prefix()}/jobs/{job_id}/retry", headers=alice.headers)
    assert_envelope(response, 409, "JOB_NOT_RETRYABLE")


@pytest.fixture
def exploding_app(make_app, _schema):
    app = make_app()

    @app.route("/_test/explode")
    def explode():
        raise RuntimeError("secret detail: postgres://admin:hunter2@db")

    @app.route("/_test/explode-after-write")
    def explode_after_write():
        db.session.execute(db.text("SELECT 1"))
        raise RuntimeError("secret detail in a transaction")

    return app


def test_an_unexpected_exception_is_500_without_internals(exploding_app, caplog):
    client = exploding_app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/_test/explode", headers={"X-Request-ID": "req-500"})
    body = assert_envelope(response, 500, "INTERNAL_ERROR", "req-500")
    assert body["detail"] == "Internal server error"
    text = response.get_data(as_text=True)
    assert "secret" not in text
    assert "hunter2" not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged, "the failure is logged for the operators"
    assert any(
        r.exc_info and "secret detail" in str(r.exc_info[1]) and "req-500" in r.getMessage()
        for r in logged
    )


def test_the_app_keeps_answering_after_an_unexpected_exception(exploding_app):
    client = exploding_app.test_client()
    assert client.get("/_test/explode-after-write").status_code == 500
    assert client.get("/health").status_code == 200
    registered = client.post(
        "/api/v1/auth/register",
        json={"email": f"{uuid.uuid4().hex}@example.com", "password": "long enough pw"},
    )
    assert registered.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),
        ("get", "/health"),
        ("get", "/no/such/route"),
        ("delete", "/health"),
        ("get", "/api/v1/persons"),
        ("post", "/api/v1/auth/login"),
    ],
)
def test_every_response_carries_a_request_id(client, method, path):
    response = getattr(client, method)(path)
    generated = response.headers.get("X-Request-ID")
    assert generated and re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", generated)
    echoed = getattr(client, method)(path, headers={"X-Request-ID": "trace-abc.123"})
    assert echoed.headers["X-Request-ID"] == "trace-abc.123"


def test_successful_responses_echo_the_request_id(client, alice):
    response = client.get(
        f"{alice.prefix()}/persons", headers={**alice.headers, "X-Request-ID": "ok-1"}
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "ok-1"


def test_an_unsafe_request_id_is_replaced_not_echoed(client):
    unsafe = "<script>alert(1)</script> " + "x" * 200
    response = client.get("/no/such/route", headers={"X-Request-ID": unsafe})
    assert response.headers["X-Request-ID"] != unsafe
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", response.headers["X-Request-ID"])
    assert response.json["request_id"] == response.headers["X-Request-ID"]


def test_each_request_gets_its_own_request_id(client):
    first = client.get("/health").headers["X-Request-ID"]
    second = client.get("/health").headers["X-Request-ID"]
    assert first != second
