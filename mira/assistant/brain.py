"""The assistant as the services see it: Gemini when configured, the offline rules otherwise.

Every Gemini call is bounded by short timeouts; when it fails (unreachable, malformed answer)
the same request is answered by the offline rules, so the product never depends on the key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mira.assistant.types import (
    CommandResult,
    ConversationSummary,
    EarlierUtterance,
    ExtractedAction,
)
from mira.process_cache import per_settings

log = logging.getLogger(__name__)


class Assistant:
    def __init__(self, llm=None):
        self.llm = llm

    @property
    def engine(self) -> str:
        return "gemini" if self.llm is not None else "offline"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Assistant:
        mode = (settings.get("MIRA_ASSISTANT") or "auto").lower()
        if mode == "offline" or not settings.get("GEMINI_API_KEY"):
            return cls()
        from mira.assistant.gemini import GeminiClient

        return cls(GeminiClient.from_settings(settings))

    def _ask(self, method: str, offline, *args):
        if self.llm is not None:
            from mira.assistant.gemini import GeminiError

            try:
                return getattr(self.llm, method)(*args)
            except GeminiError as exc:
                log.warning("Gemini %s failed, answering offline: %s", method, exc)
        return offline(*args)

    def extract_actions(
        self, text: str, now: datetime, context: Sequence[EarlierUtterance] = ()
    ) -> list[ExtractedAction]:
        from mira.assistant.extract import extract_actions

        return self._ask("extract_actions", extract_actions, text, now, context)

    def answer_command(
        self, command: str, now: datetime, status: Mapping[str, Any] | None = None
    ) -> CommandResult:
        from mira.assistant.commands import answer_command

        return self._ask("answer_command", answer_command, command, now, status)

    def extract_memories(self, text: str, now: datetime, actions: Sequence[ExtractedAction]):
        """What is worth remembering: Gemini's structured output, or the offline rules."""
        from mira.assistant.memories import extract_memories

        if self.llm is not None and not text.strip():
            return extract_memories(text, now, list(actions))  # nothing said: no call needed
        return self._ask("extract_memories", extract_memories, text, now, list(actions))

    def summarize(self, turns: Sequence[EarlierUtterance]) -> ConversationSummary:
        from mira.assistant.summary import summarize

        return self._ask("summarize", summarize, turns)


@per_settings("MIRA_ASSISTANT", "GEMINI_API_KEY", "MIRA_GEMINI_MODEL", "MIRA_GEMINI_TIMEOUT_S")
def assistant(settings: Mapping[str, Any]) -> Assistant:
    """The process-wide assistant for these settings."""
    return Assistant.from_settings(settings)
