"""Voice commands with Gemini: streaming and function calling through the real google-genai SDK
against a fake HTTP transport that speaks the API's server-sent events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx2
import pytest

from mira.assistant.gemini import GeminiError
from mira.assistant.gemini_voice import TOOL_NAMES, converse
from tests.unit.assistant.test_gemini import FakeGemini, api_error, no_network  # noqa: F401

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def stream(*chunks: list[dict]) -> httpx2.Response:
    """A streamGenerateContent?alt=sse body: one `data:` event per chunk of parts."""
    events = []
    for parts in chunks:
        body = {"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}]}
        events.append(f"data: {json.dumps(body)}\r\n\r\n")
    return httpx2.Response(
        200, content="".join(events).encode(), headers={"content-type": "text/event-stream"}
    )


def call(name: str, **args) -> dict:
    return {"functionCall": {"name": name, "args": args}, "thoughtSignature": "c2ln"}


class Recorder:
    def __init__(self, results: dict[str, dict] | None = None):
        self.results = results or {}
        self.calls: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def run(self, name, args):
        self.calls.append((name, args))
        return self.results.get(name, {"ok": True})


def test_tool_calls_run_by_mira_then_the_reply_streams():
    fake = FakeGemini(
        stream([call("create_reminder", description="call mom", time="2026-03-04T17:00:00Z")]),
        stream([{"text": "OK, I'll remind "}], [{"text": "you at five."}]),
    )
    tools = Recorder({"create_reminder": {"ok": True, "summary": "call mom at 17:00"}})
    reply = converse(
        fake.client(), "remind me to call mom at five", NOW, {}, tools.run, tools.text.append
    )
    assert reply == "OK, I'll remind you at five."
    assert tools.text == ["OK, I'll remind ", "you at five."]  # piece by piece, as streamed
    assert tools.calls == [
        ("create_reminder", {"description": "call mom", "time": "2026-03-04T17:00:00Z"})
    ]
    first, second = fake.body(0), fake.body(1)
    assert fake.requests[0].url.path.endswith(":streamGenerateContent")
    declared = {d["name"] for d in first["tools"][0]["functionDeclarations"]}
    assert declared == TOOL_NAMES
    assert "remind me to call mom at five" in first["contents"][0]["parts"][0]["text"]
    # The second round carries the model's call (with its signature) and Mira's result.
    model_turn, tool_turn = second["contents"][1], second["contents"][2]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0]["functionCall"]["name"] == "create_reminder"
    assert model_turn["parts"][0]["thoughtSignature"] == "c2ln"
    response = tool_turn["parts"][0]["functionResponse"]
    assert response["name"] == "create_reminder" and response["response"]["ok"] is True


def test_an_unknown_tool_is_answered_not_done():
    fake = FakeGemini(stream([call("order_pizza", size="large")]), stream([{"text": "Sorry."}]))
    tools = Recorder()
    converse(fake.client(), "order a pizza", NOW, {}, tools.run, tools.text.append)
    assert tools.calls == []
    result = fake.body(1)["contents"][2]["parts"][0]["functionResponse"]["response"]
    assert result["ok"] is False


def test_errors_and_endless_tool_calls_raise_gemini_error():
    with pytest.raises(GeminiError):
        converse(
            FakeGemini(api_error(400, "INVALID_ARGUMENT", "bad")).client(max_retries=0),
            "hi",
            NOW,
            {},
            Recorder().run,
            [].append,
        )
    looping = FakeGemini(stream([call("get_current_time")]))
    with pytest.raises(GeminiError, match="still calling tools"):
        converse(looping.client(), "time?", NOW, {}, Recorder().run, [].append)
    with pytest.raises(GeminiError, match="nothing to say"):
        converse(
            FakeGemini(stream([{"text": "  "}])).client(),
            "hm",
            NOW,
            {},
            Recorder().run,
            [].append,
        )


def test_the_whole_conversation_keeps_one_time_budget():
    import time

    def slow(request):
        time.sleep(0.8)
        return stream([call("get_current_time")])

    fake = FakeGemini(slow)
    started = time.monotonic()
    with pytest.raises(GeminiError, match="did not finish within 1"):
        converse(fake.client(timeout_s=1.0), "time?", NOW, {}, Recorder().run, [].append)
    assert time.monotonic() - started < 1.6
