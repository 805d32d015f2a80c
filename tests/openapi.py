"""The OpenAPI document as a client calls it: each route under every prefix it documents.

The served document holds each route once, relative to the prefixes in its path item's
`servers` (/api/v1, /api/v1/{network_id}, /api/v2, …). Tests that check or fuzz concrete URLs
expand it back into full paths, with `network_id` as an ordinary path parameter.
"""

from __future__ import annotations

import copy
from typing import Any

NETWORK_ID_PARAMETER = {
    "in": "path",
    "name": "network_id",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def full_paths(spec: dict[str, Any], prefixes: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Every documented path under each of its servers (only `prefixes` when given)."""
    expanded: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        servers = item.get("servers") or [{"url": "/"}]
        for server in servers:
            url = server["url"].rstrip("/")
            base = url.split("/{", 1)[0]
            if prefixes is not None and base.startswith("/api/") and base not in prefixes:
                continue
            full = copy.deepcopy({k: v for k, v in item.items() if k != "servers"})
            if "{network_id}" in url:
                full["parameters"] = [dict(NETWORK_ID_PARAMETER), *full.get("parameters", [])]
            expanded[url + path] = full
    return expanded


def expanded_document(spec: dict[str, Any], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """The whole document with `full_paths` in place of its relative paths."""
    return {**spec, "paths": full_paths(spec, prefixes)}
