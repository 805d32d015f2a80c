"""Bounds on what a client's JSON may hold, checked before any service or the database sees it.

A hostile-input campaign (issue 14) found 500s rather than 422s for: lone UTF-16 surrogates
(`"\\ud800"` decodes to a Python str that PostgreSQL, the logs and UTF-8 encoding all refuse),
JSON nested so deep that the parser raises RecursionError (100,000 levels) or that storing and
dumping it does (900 levels in `metadata`), and integers PostgreSQL's BIGINT cannot hold. Every
JSON body (the request hook in `mira.app`) and every JSON-in-a-form field (an upload's
`metadata`) goes through `check`, so each of these answers one 422 envelope.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, has_app_context

from mira.errors import Invalid

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
DEFAULT_MAX_DEPTH = 64


def max_depth() -> int:
    if has_app_context():
        return int(current_app.config.get("MIRA_MAX_JSON_DEPTH", DEFAULT_MAX_DEPTH))
    return DEFAULT_MAX_DEPTH


def _printable(name: str) -> str:
    """A field name fit for the envelope and the logs even when it holds a lone surrogate."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _valid_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def problems(value: Any, field: str, depth_limit: int | None = None) -> dict[str, list[str]]:
    """{field: [message]} for what `value` holds beyond the bounds (empty when all is well).

    Iterative, so a value nested as deep as the parser allowed cannot overflow the stack here.
    """
    limit = max_depth() if depth_limit is None else depth_limit
    found: dict[str, list[str]] = {}

    def note(name: str, message: str) -> None:
        found.setdefault(_printable(name), [])
        if message not in found[_printable(name)]:
            found[_printable(name)].append(message)

    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, name, depth = stack.pop()
        if isinstance(item, str):
            if not _valid_text(item):
                note(name, "Not valid Unicode (a lone UTF-16 surrogate).")
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                note(name, "Integer out of range (64-bit).")
        elif isinstance(item, (dict, list)):
            if depth >= limit:
                note(name, f"Nested deeper than {limit} levels.")
                continue
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and not _valid_text(key):
                        note(name, "Not valid Unicode (a lone UTF-16 surrogate) in a key.")
                    # Top-level keys name the field, as webargs' errors do.
                    stack.append(
                        (child, key if depth == 0 and field == "_schema" else name, depth + 1)
                    )
            else:
                stack.extend((child, name, depth + 1) for child in item)
    return found


def check(value: Any, field: str = "_schema") -> None:
    """Raise 422 when `value` is beyond the bounds."""
    found = problems(value, field)
    if found:
        raise Invalid("Validation failed: " + next(iter(found.values()))[0], errors=found)


def loads(raw: str | bytes, field: str) -> Any:
    """json.loads that answers 422 for input nested beyond the parser's recursion limit."""
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise Invalid(
            f"{field} is nested too deep", "JSON_TOO_DEEP", errors={field: ["Nested too deep."]}
        ) from exc
    check(value, field)
    return value


def json_size(value: Any) -> int:
    """The size of `value` as compact UTF-8 JSON, which is roughly what it costs to store."""
    return len(
        json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace")
    )


def check_metadata_size(value: Any, field: str = "metadata") -> None:
    """`metadata` is stored with the interaction and once travelled in full into every event
    that copied it (20 MB of it made one GET /events 120 MB): held to MIRA_MAX_METADATA_BYTES."""
    limit = current_app.config["MIRA_MAX_METADATA_BYTES"]
    if json_size(value) > limit:
        raise Invalid(
            f"{field} is larger than {limit} bytes",
            "METADATA_TOO_LARGE",
            errors={field: [f"Larger than {limit} bytes as JSON."]},
        )


def metadata_validator(value: Any) -> None:
    """The schemas' form of `check_metadata_size` (a marshmallow validator: webargs' 422)."""
    from marshmallow import ValidationError

    limit = current_app.config["MIRA_MAX_METADATA_BYTES"]
    if json_size(value) > limit:
        raise ValidationError(f"Larger than {limit} bytes as JSON.")


def settings_validator(value: Any) -> None:
    """A network's settings are read with every network: a bounded number of keys and size."""
    from marshmallow import ValidationError

    keys = current_app.config["MIRA_MAX_SETTINGS_KEYS"]
    size = current_app.config["MIRA_MAX_SETTINGS_BYTES"]
    if isinstance(value, dict) and len(value) > keys:
        raise ValidationError(f"More than {keys} keys.")
    if json_size(value) > size:
        raise ValidationError(f"Larger than {size} bytes as JSON.")
