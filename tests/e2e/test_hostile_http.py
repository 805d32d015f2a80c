"""HTTP edges under gunicorn (issue 14): long request lines, and a refused form on a kept-alive
connection. Raw sockets, so what the client sees on the wire is what is asserted."""

from __future__ import annotations

import json
import socket
import uuid
from urllib.parse import urlsplit

import pytest
import requests


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (Content-Length bodies): status, headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response: " + data.decode(errors="replace"))
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def _token(stack) -> str:
    response = requests.post(
        f"{stack.base_url}/api/v1/auth/login",
        json={"email": "e2e@example.com", "password": "e2e password!"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_long_request_lines(stack):
    stack.start_web()
    headers = {"Authorization": f"Bearer {_token(stack)}"}
    ids = "&".join(f"conversation_ids={uuid.uuid4()}" for _ in range(200))
    url = f"{stack.base_url}/api/v1/{stack.network_id}/interactions?{ids}"
    assert len(url) > 8190  # beyond anything gunicorn's own limit allows but 0
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text

    response = requests.get(
        f"{stack.base_url}/api/v1/{stack.network_id}/interactions?q={'x' * 40_000}",
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 414
    body = response.json()  # Mira's envelope, not gunicorn's HTML page
    assert body["request_id"] and body["detail"]


@pytest.mark.parametrize("value_bytes", [1, 1000])
def test_a_413_on_a_form_of_2000_parts_keeps_the_connection(stack, value_bytes):
    stack.start_web()
    value = "v" * value_bytes
    parts = urlsplit(stack.base_url)
    boundary = "mira-boundary"
    form = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n'.encode()
            + f"{value}\r\n".encode()
            for i in range(2000)
        )
        + f"--{boundary}--\r\n".encode()
    )
    path = f"/api/v1/{stack.network_id}/interactions/register?client_id=kitchen"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nX-API-Key: {stack.key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    ).encode() + form
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        status, headers, body = _read_response(sock)
        assert status == 413, body
        assert json.loads(body)["error_code"] == "PAYLOAD_TOO_LARGE"
        assert headers.get("connection", "").lower() != "close"
        # The same connection answers the next request.
        sock.sendall(f"GET /health HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        status, _, body = _read_response(sock)
        assert status == 200, body
