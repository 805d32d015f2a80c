"""Shapes shared by the offline rules and the Gemini client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ACTION_TYPES = ("remind", "schedule", "contact", "task")


@dataclass(frozen=True)
class ExtractedAction:
    """A clear commitment found in an utterance.

    `details` follows API.md per type: remind {time, description}; schedule {start_time,
    end_time, name, location?}; contact {name, method: email|message|call, details};
    task {description, due?}. Times inside `details` are ISO-8601 strings with offset;
    `scheduled_time` is the same instant as an aware datetime (None when no time was said).
    """

    action_type: str
    details: dict[str, Any]
    scheduled_time: datetime | None = None
    confidence: float = 1.0


@dataclass(frozen=True)
class CommandResult:
    """What the assistant answers to "Mira, …"."""

    intent: str  # time | status | remind | schedule | task | contact | stop_listening |
    # remember | recall | unknown
    response: str
    actions: list[ExtractedAction] = field(default_factory=list)
    disable_service: bool = False
    # "remember that …": what to keep (a fact or preference, in the speaker's words).
    remember: str | None = None
    # "what do you know about …": what to look for among the network's memories; the answer is
    # written once they are found (commands.recall_answer).
    recall: str | None = None


@dataclass(frozen=True)
class EarlierUtterance:
    """One earlier utterance of the conversation, given as context."""

    speaker: str | None
    text: str
    timestamp: datetime | None = None


@dataclass(frozen=True)
class ConversationSummary:
    title: str | None
    topic_summary: str | None
    context_summary: str | None
