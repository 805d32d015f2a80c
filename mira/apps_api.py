"""The Mira apps' API: where the network-less paths answer differently from the REST contract.

The Mira apps (desktop app, website, dadei) call `/api/v1/…` and `/api/v2/…` without a network
in the path and follow their own contract where it differs from API.md: an upload answers 204
(the result comes on the realtime socket), the client list is an array of ids, and an action's
`details` is a string. The network-scoped paths (`/api/v1/{network_id}/…`) keep API.md's REST
answers. The services underneath are the same; each difference is one branch in its view,
through the helpers here.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from mira.auth.scope import scope


def for_apps() -> bool:
    """True on the network-less paths (the network comes from the caller's token)."""
    return not scope().network_in_path


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def no_content() -> Response:
    return Response(status=204)
