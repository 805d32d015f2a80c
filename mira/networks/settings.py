"""Per-network settings that change behaviour, with their defaults from the app config.

Settings are a free JSON object (clients keep their own keys there too); the keys below are
validated on write so a typo cannot silently break the assistant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from mira.errors import Invalid


def _timezone(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be an IANA time zone name such as Europe/Berlin"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}"
    return None


def _wake_words(value: Any) -> str | None:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(w, str) and 0 < len(w.strip()) <= 32 for w in value)
    ):
        return "must be a non-empty list of words (each at most 32 characters)"
    return None


def _positive_seconds(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86_400:
        return "must be a number of seconds between 0 and 86400"
    return None


def _unit_interval(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        return "must be a number between 0 and 1"
    return None


VALIDATORS = {
    "timezone": _timezone,
    "wake_words": _wake_words,
    "conversation_gap_s": _positive_seconds,
    "speaker_change_gap_s": _positive_seconds,
    "speaker_threshold": _unit_interval,
}


def validate(settings: Mapping[str, Any]) -> None:
    """Reject known keys with unusable values (422 with one message per key)."""
    errors = {}
    for key, value in settings.items():
        check = VALIDATORS.get(key)
        if check is not None and value is not None:
            message = check(value)
            if message:
                errors[f"settings.{key}"] = [message]
    if errors:
        raise Invalid("Invalid network settings", "VALIDATION_ERROR", errors=errors)


def timezone(settings: Mapping[str, Any] | None) -> ZoneInfo:
    name = (settings or {}).get("timezone") or current_app.config["MIRA_TIMEZONE"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def wake_words(settings: Mapping[str, Any] | None) -> list[str]:
    words = (settings or {}).get("wake_words")
    if not words:
        words = current_app.config["MIRA_WAKE_WORDS"].split(",")
    return [w.strip() for w in words if w.strip()]


def conversation_gaps(settings: Mapping[str, Any] | None) -> tuple[float, float]:
    """(gap that always starts a new conversation, shorter gap when the speaker changes)."""
    settings = settings or {}
    cfg = current_app.config
    gap = float(settings.get("conversation_gap_s") or cfg["MIRA_CONVERSATION_GAP_S"])
    change = float(settings.get("speaker_change_gap_s") or cfg["MIRA_SPEAKER_CHANGE_GAP_S"])
    return gap, min(gap, change)
