"""Spoken commands answered by Gemini as a stream, with function calling.

The model sees Mira's tools as function declarations and may call them; Mira's own services run
each call (`run_tool`, supplied by the caller) and the results go back to the model, which then
answers. Automatic function calling is off: the SDK never executes anything. The reply's text
is handed to `on_text` piece by piece as it streams, so the app shows it while it is written.

Time budget: the whole conversation (every round, every retry) ends by `client.timeout_s`; the
stream is read on a helper thread and the caller stops waiting at the deadline, as with the
structured-output calls of mira.assistant.gemini.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from mira.assistant.gemini import (
    DEADLINE_GRACE_S,
    GeminiClient,
    GeminiError,
    _aware,
    _clock_lines,
    describe_failure,
    logger,
    system_prompt,
)

MAX_TOOL_ROUNDS = 3

_TIME = {"type": "string", "description": "Local ISO 8601 time with the UTC offset"}
TOOL_DECLARATIONS: list[dict[str, Any]] = [
    {
        "name": "create_reminder",
        "description": "Remind the household of something at a time.",
        "parameters_json_schema": {
            "type": "object",
            "properties": {"description": {"type": "string"}, "time": _TIME},
            "required": ["description", "time"],
        },
    },
    {
        "name": "create_calendar_event",
        "description": "Put an event in the household's calendar.",
        "parameters_json_schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "start_time": _TIME,
                "end_time": _TIME,
                "location": {"type": "string"},
            },
            "required": ["name", "start_time"],
        },
    },
    {
        "name": "create_task",
        "description": "Add something to do, with an optional due time.",
        "parameters_json_schema": {
            "type": "object",
            "properties": {"description": {"type": "string"}, "due": _TIME},
            "required": ["description"],
        },
    },
    {
        "name": "store_memory",
        "description": "Remember a fact, a preference, a plan or a commitment.",
        "parameters_json_schema": {
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "One sentence, as it was said"},
                "memory_type": {
                    "type": "string",
                    "enum": ["fact", "preference", "plan", "commitment"],
                },
            },
            "required": ["text", "memory_type"],
        },
    },
    {
        "name": "search_memory",
        "description": "Look up what Mira remembers about a person, a thing or a plan.",
        "parameters_json_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
    {
        "name": "get_current_time",
        "description": "The household's current local date and time.",
        "parameters_json_schema": {"type": "object", "properties": {}},
    },
    {
        "name": "stop_listening",
        "description": "Stop listening until someone switches Mira on again.",
        "parameters_json_schema": {"type": "object", "properties": {}},
    },
    {
        "name": "send_email",
        "description": "Send an e-mail.",
        "parameters_json_schema": {
            "type": "object",
            "properties": {
                "to": {"type": "string"},
                "subject": {"type": "string"},
                "body": {"type": "string"},
            },
            "required": ["to"],
        },
    },
    {
        "name": "web_search",
        "description": "Search the web.",
        "parameters_json_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
]
TOOL_NAMES = frozenset(tool["name"] for tool in TOOL_DECLARATIONS)


def converse(
    client: GeminiClient,
    command: str,
    now: datetime,
    status: Mapping[str, Any] | None,
    run_tool: Callable[[str, dict[str, Any]], dict[str, Any]],
    on_text: Callable[[str], None],
) -> str:
    """The spoken reply to `command` (also streamed to `on_text`), after any tool calls.

    Raises GeminiError when Gemini fails or the budget runs out; `on_text` may have been called
    by then, so a caller that falls back must know whether anything was said.
    """
    types = client._types
    deadline = time.monotonic() + client.timeout_s
    now = _aware(now)
    status_text = "unknown" if status is None else json.dumps(dict(status), default=str)
    lines = [*_clock_lines(now), f"Network status: {status_text}", "Command:", command.strip()]
    config = types.GenerateContentConfig(
        system_instruction=system_prompt("voice"),
        tools=[types.Tool(function_declarations=TOOL_DECLARATIONS)],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        temperature=client._temperature,
    )
    contents = [types.Content(role="user", parts=[types.Part.from_text(text="\n".join(lines))])]
    reply: list[str] = []
    for _ in range(MAX_TOOL_ROUNDS + 1):
        parts: list[Any] = []
        calls: list[Any] = []

        def start(contents=tuple(contents)):
            return client._client.models.generate_content_stream(
                model=client.model, contents=list(contents), config=config
            )

        for chunk in _stream_within(client, deadline, start):
            candidates = chunk.candidates or []
            content = candidates[0].content if candidates else None
            for part in (content.parts if content is not None else None) or []:
                parts.append(part)
                if part.function_call is not None:
                    calls.append(part.function_call)
                elif part.text and not part.thought:
                    reply.append(part.text)
                    on_text(part.text)
        if not calls:
            text = "".join(reply).strip()
            if not text:
                raise GeminiError("Gemini answered the command with nothing to say")
            return text
        contents.append(types.Content(role="model", parts=parts))
        results = []
        for call in calls:
            name, args = call.name or "", dict(call.args or {})
            result = run_tool(name, args) if name in TOOL_NAMES else _unknown(name)
            results.append(types.Part.from_function_response(name=name, response=result))
        contents.append(types.Content(role="user", parts=results))
    raise GeminiError(f"Gemini was still calling tools after {MAX_TOOL_ROUNDS} rounds")


def _unknown(name: str) -> dict[str, Any]:
    return {"ok": False, "reason": f"Mira has no tool called {name!r}"}


_END = object()


def _stream_within(client: GeminiClient, deadline: float, start: Callable[[], Iterator]):
    """The chunks of one streamed request, read on a helper thread; stops at the deadline."""
    chunks: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for chunk in start():
                chunks.put(chunk)
        except BaseException as exc:
            chunks.put(exc)
        finally:
            chunks.put(_END)

    threading.Thread(target=read, name="mira-gemini-stream", daemon=True).start()
    while True:
        left = deadline + DEADLINE_GRACE_S - time.monotonic()
        try:
            item = chunks.get(timeout=max(0.0, left))
        except queue.Empty:
            message = f"Gemini did not finish within {client.timeout_s:g} s"
            logger.warning("Gemini voice command failed: %s", message)
            raise GeminiError(message) from None
        if item is _END:
            return
        if isinstance(item, BaseException):
            message = client._scrub(describe_failure(item))
            logger.warning("Gemini voice command failed: %s", message)
            raise GeminiError(message) from None
        yield item
