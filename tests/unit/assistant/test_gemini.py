"""The Gemini client: the real google-genai SDK against a fake HTTP transport.

The fake transport answers with bodies shaped like the Gemini API's and records every request,
so each test checks both what Mira sends and how it reads what comes back. Sockets are closed
for the whole module: the fake transport is the only way out.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2
import numpy as np
import pytest
from google.genai import types

from mira.assistant.gemini import (
    DEFAULT_MODEL,
    EXTRACT_SCHEMA,
    MAX_INLINE_AUDIO_S,
    TRANSCRIPT_SCHEMA,
    GeminiClient,
    GeminiError,
    system_prompt,
)
from mira.assistant.types import EarlierUtterance
from mira.speech import SAMPLE_RATE, TranscriptionError
from mira.speech.gemini import GeminiTranscriber
from tests.audio_data import speech

API_KEY = "AIzaSy-test-key-5f0c2d7e9a"
MODEL = "gemini-test-flash"
PARIS = ZoneInfo("Europe/Paris")
# Monday 2 March 2026, 16:20 in Paris (CET, +01:00).
NOW = datetime(2026, 3, 2, 16, 20, tzinfo=PARIS)
PROJECT_ROOT = Path(__file__).resolve().parents[3]

Answer = httpx2.Response | Callable[[httpx2.Request], httpx2.Response]


# -- the fake transport and the API's bodies ---------------------------------------------------


class FakeGemini:
    """Scripted answers, one per request (the last one repeats); every request is kept."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer

    def client(self, **options) -> GeminiClient:
        transport = httpx2.MockTransport(self.handle)
        return GeminiClient(
            API_KEY,
            model=options.pop("model", MODEL),
            http_options=types.HttpOptions(client_args={"transport": transport}),
            **options,
        )

    def body(self, index: int = -1) -> dict:
        return json.loads(self.requests[index].content)

    def user_text(self, index: int = -1) -> str:
        parts = self.body(index)["contents"][0]["parts"]
        return "\n".join(part["text"] for part in parts if "text" in part)


def model_answer(payload: object, finish_reason: str = "STOP") -> httpx2.Response:
    """A 200 generateContent body: one candidate whose text is `payload` (JSON unless a str)."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return httpx2.Response(
        200,
        json={
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": finish_reason,
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 431,
                "candidatesTokenCount": 37,
                "totalTokenCount": 512,
                "thoughtsTokenCount": 44,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 431}],
            },
            "modelVersion": MODEL,
            "responseId": "mK5xacTbH6ahxN8PvLqJ4Qk",
        },
    )


def api_error(code: int, status: str, message: str) -> httpx2.Response:
    return httpx2.Response(
        code, json={"error": {"code": code, "message": message, "status": status}}
    )


SERVER_ERROR = api_error(500, "INTERNAL", "An internal error has occurred. Please retry.")
RATE_LIMITED = api_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.")
UNAVAILABLE = api_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any socket connection fails the test; the list records attempts for the guard's test."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # The fake is an httpx2 transport: the SDK must not be switched to httpx by the environment.
    monkeypatch.delenv("GOOGLE_GENAI_HTTP_CLIENT", raising=False)
    return attempts


@pytest.fixture(scope="module")
def utterance() -> np.ndarray:
    return speech(0)


def decoded_wav(request_body: dict) -> tuple[wave._wave_params, np.ndarray, str]:
    """The audio part of a request: WAV parameters, samples in [-1, 1], declared mime type."""
    parts = request_body["contents"][0]["parts"]
    (inline,) = [part["inlineData"] for part in parts if "inlineData" in part]
    mime_type = inline.get("mimeType") or inline.get("mime_type")
    # The SDK writes bytes in base64's URL-safe alphabet, which the API's JSON accepts.
    data = base64.b64decode(inline["data"], altchars=b"-_", validate=True)
    with wave.open(io.BytesIO(data)) as wav:
        params = wav.getparams()
        pcm = np.frombuffer(wav.readframes(params.nframes), dtype="<i2")
    return params, pcm.astype(np.float32) / 32767.0, mime_type


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{}, {"GEMINI_API_KEY": ""}, {"GEMINI_API_KEY": "  "}])
def test_without_an_api_key_there_is_no_client(settings):
    assert GeminiClient.from_settings(settings) is None
    assert GeminiTranscriber.from_settings(settings) is None


def test_settings_choose_the_model_and_the_time_budget():
    client = GeminiClient.from_settings(
        {
            "GEMINI_API_KEY": API_KEY,
            "MIRA_GEMINI_MODEL": "gemini-other-flash",
            "MIRA_GEMINI_TIMEOUT_S": "4.5",
        }
    )
    assert client.model == "gemini-other-flash"
    assert client.timeout_s == 4.5


def test_settings_default_to_the_current_flash_model():
    client = GeminiClient.from_settings({"GEMINI_API_KEY": API_KEY, "MIRA_GEMINI_MODEL": ""})
    assert client.model == DEFAULT_MODEL == "gemini-3.8-flash"
    assert client.timeout_s == 10.0


def test_the_key_appears_neither_in_the_repr_nor_in_the_url():
    fake = FakeGemini(model_answer({"title": "T", "topic_summary": None, "context_summary": None}))
    client = fake.client()
    client.summarize([EarlierUtterance("Anna", "Hello")])

    assert API_KEY not in repr(client)
    assert API_KEY not in str(fake.requests[0].url)
    assert fake.requests[0].headers["x-goog-api-key"] == API_KEY


def test_the_client_modules_do_not_load_the_sdk_until_a_client_is_made():
    probe = (
        "import sys\n"
        "import mira.assistant.gemini as g, mira.speech.gemini\n"
        "assert g.GeminiClient.from_settings({}) is None\n"
        "print('google.genai' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["transcribe", "extract", "command", "summarize"])
def test_every_system_prompt_ships_with_the_package(name):
    prompt = system_prompt(name)
    assert len(prompt) > 200
    assert "JSON" in prompt


# -- transcription -----------------------------------------------------------------------------


def test_transcription_request_carries_the_speech_prompt_schema_and_timeout(utterance):
    fake = FakeGemini(model_answer({"text": "Hello.", "language": "en", "confidence": 0.9}))
    fake.client(timeout_s=2.5).transcribe(utterance)

    (request,) = fake.requests
    assert request.method == "POST"
    assert str(request.url).endswith(f"/models/{MODEL}:generateContent")
    body = fake.body()
    assert body["systemInstruction"]["parts"][0]["text"] == system_prompt("transcribe")
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert body["generationConfig"]["responseJsonSchema"] == TRANSCRIPT_SCHEMA
    # Each attempt is bounded by the client's timeout, and the server is told the budget too.
    assert request.extensions["timeout"] == {
        "connect": 2.5,
        "read": 2.5,
        "write": 2.5,
        "pool": 2.5,
    }
    assert request.headers["x-server-timeout"] == "3"

    params, samples, mime_type = decoded_wav(body)
    assert mime_type == "audio/wav"
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, SAMPLE_RATE)
    assert samples.size == utterance.size
    assert np.max(np.abs(samples - utterance)) <= 1.0 / 32767


def test_transcription_reads_text_language_and_confidence(utterance):
    said = "He hoped there would be stew for dinner, turnips and carrots."
    fake = FakeGemini(model_answer({"text": f"  {said} ", "language": "EN", "confidence": 0.87}))
    transcript = fake.client().transcribe(utterance)

    assert transcript.text == said
    assert transcript.language == "en"
    assert transcript.confidence == pytest.approx(0.87)
    assert transcript.engine == "gemini"
    (segment,) = transcript.segments
    assert segment.start_s == 0.0
    assert segment.end_s == pytest.approx(utterance.size / SAMPLE_RATE, abs=1e-3)
    assert segment.text == said


def test_transcription_of_no_speech_is_an_empty_transcript(utterance):
    fake = FakeGemini(model_answer({"text": "", "language": None, "confidence": 0.2}))
    transcript = fake.client().transcribe(utterance)

    assert transcript.is_empty
    assert transcript.segments == []
    assert transcript.language is None
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("language", "confidence", "expected_language", "expected_confidence"),
    [
        (42, "high", None, None),
        ("", 1.7, None, None),
        ("fr", True, "fr", None),
    ],
)
def test_transcription_ignores_ill_typed_optional_fields(
    utterance, language, confidence, expected_language, expected_confidence
):
    fake = FakeGemini(
        model_answer({"text": "Bonjour.", "language": language, "confidence": confidence})
    )
    transcript = fake.client().transcribe(utterance)

    assert transcript.text == "Bonjour."
    assert transcript.language == expected_language
    assert transcript.confidence == expected_confidence


def test_empty_audio_is_not_sent():
    fake = FakeGemini(model_answer({"text": "hallucinated", "language": "en"}))
    transcript = fake.client().transcribe(np.zeros(0, dtype=np.float32))

    assert transcript.is_empty
    assert fake.requests == []


def test_audio_too_long_for_one_request_fails_before_sending(utterance):
    fake = FakeGemini(model_answer({"text": "x", "language": "en"}))
    repeats = int(MAX_INLINE_AUDIO_S * SAMPLE_RATE / utterance.size) + 1
    with pytest.raises(GeminiError, match="too long"):
        fake.client().transcribe(np.tile(utterance, repeats))
    assert fake.requests == []


def test_stereo_audio_is_refused(utterance):
    fake = FakeGemini(model_answer({"text": "x", "language": "en"}))
    with pytest.raises(ValueError, match="mono"):
        fake.client().transcribe(np.stack([utterance, utterance], axis=1))
    assert fake.requests == []


# -- malformed answers -------------------------------------------------------------------------

USAGE = {"promptTokenCount": 12, "totalTokenCount": 12}
MALFORMED = {
    "text that is not JSON": model_answer("Sure! The speaker says hello."),
    "a body that is not JSON": httpx2.Response(
        200, text="<html><body>Bad gateway</body></html>", headers={"content-type": "text/html"}
    ),
    "an answer without text": model_answer({"language": "en", "confidence": 0.9}),
    "text of the wrong type": model_answer({"text": 42, "language": "en"}),
    "a list instead of an object": model_answer([{"text": "hello"}]),
    "no candidates": httpx2.Response(200, json={"candidates": [], "usageMetadata": USAGE}),
    "a blocked prompt": httpx2.Response(
        200,
        json={
            "promptFeedback": {
                "blockReason": "SAFETY",
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"},
                ],
            },
            "usageMetadata": USAGE,
            "modelVersion": MODEL,
        },
    ),
    "an answer stopped for safety": httpx2.Response(
        200,
        json={
            "candidates": [
                {
                    "finishReason": "SAFETY",
                    "index": 0,
                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"},
                    ],
                }
            ],
            "usageMetadata": USAGE,
            "modelVersion": MODEL,
        },
    ),
    "an answer cut at the token limit": model_answer(
        '{"text": "He hoped there would be st', finish_reason="MAX_TOKENS"
    ),
    "an empty answer": model_answer("   "),
}


@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_answer_raises_gemini_error_without_retrying(utterance, answer):
    fake = FakeGemini(answer)
    with pytest.raises(GeminiError):
        fake.client().transcribe(utterance)
    assert len(fake.requests) == 1


def test_json_in_a_code_fence_is_still_read(utterance):
    fence = '```json\n{"text": "Fenced.", "language": "en", "confidence": 0.5}\n```'
    fake = FakeGemini(model_answer(fence))
    assert fake.client().transcribe(utterance).text == "Fenced."


# -- retries, timeouts and transport failures --------------------------------------------------


@pytest.mark.parametrize(
    "failures", [[RATE_LIMITED], [SERVER_ERROR, UNAVAILABLE]], ids=["429", "500-503"]
)
def test_transient_failures_are_retried_within_the_budget(utterance, failures):
    answer = model_answer({"text": "Third time lucky.", "language": "en", "confidence": 0.8})
    fake = FakeGemini(*failures, answer)
    transcript = fake.client(max_retries=2).transcribe(utterance)

    assert transcript.text == "Third time lucky."
    assert len(fake.requests) == len(failures) + 1


def test_a_server_failing_for_good_raises_after_the_bounded_attempts():
    fake = FakeGemini(SERVER_ERROR)
    started = time.monotonic()
    with pytest.raises(GeminiError, match="HTTP 500"):
        fake.client(max_retries=2).summarize([EarlierUtterance("Anna", "Hello")])
    assert len(fake.requests) == 3
    assert time.monotonic() - started < 3.0


def test_without_retries_a_failure_is_final():
    fake = FakeGemini(UNAVAILABLE, model_answer({"title": "x"}))
    with pytest.raises(GeminiError, match="HTTP 503"):
        fake.client(max_retries=0).summarize([EarlierUtterance("Anna", "Hello")])
    assert len(fake.requests) == 1


def test_the_time_budget_cuts_retries_short():
    fake = FakeGemini(SERVER_ERROR)
    started = time.monotonic()
    with pytest.raises(GeminiError):
        fake.client(timeout_s=0.4, max_retries=20).summarize([EarlierUtterance("Anna", "Hello")])
    assert time.monotonic() - started < 1.5
    assert 1 <= len(fake.requests) < 21


def test_a_client_error_is_not_retried_and_its_message_hides_the_key():
    fake = FakeGemini(
        api_error(400, "INVALID_ARGUMENT", f"API key not valid: {API_KEY}. Pass a valid key.")
    )
    with pytest.raises(GeminiError) as failure:
        fake.client().summarize([EarlierUtterance("Anna", "Hello")])

    assert len(fake.requests) == 1
    message = str(failure.value)
    assert "HTTP 400" in message
    assert API_KEY not in message
    assert failure.value.__cause__ is None


def test_a_hanging_transport_raises_within_the_timeout(utterance):
    release = threading.Event()

    def hang(request: httpx2.Request) -> httpx2.Response:
        release.wait(30)
        return model_answer({"text": "too late", "language": "en"})

    fake = FakeGemini(hang)
    client = fake.client(timeout_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(GeminiError, match="within 0.5 s"):
            client.transcribe(utterance)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert len(fake.requests) == 1
    assert 0.5 <= elapsed < 1.5


def test_an_unreachable_api_raises_gemini_error():
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("Name or service not known", request=request)

    fake = FakeGemini(refuse)
    with pytest.raises(GeminiError, match="unreachable"):
        fake.client(max_retries=1).summarize([EarlierUtterance("Anna", "Hello")])
    assert len(fake.requests) == 2


def test_the_network_guard_stops_a_client_without_the_fake(no_network):
    """Guards the guard: a client on the SDK's real transport is stopped before any packet."""
    client = GeminiClient(API_KEY, model=MODEL, timeout_s=2, max_retries=0)
    with pytest.raises(GeminiError):
        client.summarize([EarlierUtterance("Anna", "Hello")])
    assert no_network


# -- action extraction -------------------------------------------------------------------------


def test_extraction_request_carries_the_prompt_schema_clock_and_context():
    fake = FakeGemini(model_answer({"actions": []}))
    context = [
        EarlierUtterance(
            "Anna", "Are you free on Thursday?", datetime(2026, 3, 2, 15, 18, tzinfo=PARIS)
        ),
        EarlierUtterance(None, "I think so.", datetime(2026, 3, 2, 14, 19, tzinfo=ZoneInfo("UTC"))),
    ]
    actions = fake.client().extract_actions("Then let's have lunch at noon.", NOW, context)

    assert actions == []
    body = fake.body()
    assert str(fake.requests[0].url).endswith(f"/models/{MODEL}:generateContent")
    assert body["systemInstruction"]["parts"][0]["text"] == system_prompt("extract")
    assert body["generationConfig"]["responseJsonSchema"] == EXTRACT_SCHEMA
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    text = fake.user_text()
    assert "Current local time: 2026-03-02T16:20:00+01:00 (Monday)" in text
    assert "Time zone: Europe/Paris" in text
    # Context turns are shown in the household's zone, the utterance comes last.
    assert "- [15:18] Anna: Are you free on Thursday?" in text
    assert "- [15:19] Unknown speaker: I think so." in text
    assert text.rstrip().endswith("Then let's have lunch at noon.")


def test_extracted_times_are_returned_in_the_network_zone():
    fake = FakeGemini(
        model_answer(
            {
                "actions": [
                    {
                        "action_type": "remind",
                        "details": {"description": "call mom", "time": "2026-03-02T17:00:00"},
                        "confidence": 0.95,
                    },
                    {
                        "action_type": "schedule",
                        "details": {
                            "name": "Dentist",
                            "start_time": "2026-03-30T07:30:00Z",
                            "end_time": "2026-03-30T04:15:00-04:00",
                            "location": "Rue de Rivoli",
                        },
                        "confidence": 0.8,
                    },
                ]
            }
        )
    )
    remind, schedule = fake.client().extract_actions("…", NOW)

    assert remind.action_type == "remind"
    assert remind.details == {"time": "2026-03-02T17:00:00+01:00", "description": "call mom"}
    assert remind.scheduled_time == datetime(2026, 3, 2, 17, 0, tzinfo=PARIS)
    assert remind.confidence == pytest.approx(0.95)
    # 30 March is after the switch to summer time: Paris is then +02:00.
    assert schedule.details == {
        "start_time": "2026-03-30T09:30:00+02:00",
        "end_time": "2026-03-30T10:15:00+02:00",
        "name": "Dentist",
        "location": "Rue de Rivoli",
    }
    assert schedule.scheduled_time.utcoffset() == timedelta(hours=2)


def test_malformed_items_unknown_types_and_unparsable_times_are_dropped():
    good_task = {"action_type": "task", "details": {"description": "buy milk"}, "confidence": 0.7}
    fake = FakeGemini(
        model_answer(
            {
                "actions": [
                    "remind me",
                    {"action_type": "shop", "details": {"description": "milk"}},
                    {"action_type": "remind", "details": {"description": "x", "time": "at five"}},
                    {"action_type": "remind", "details": {"description": "no time"}},
                    {"action_type": "remind", "details": "call mom at 5"},
                    {"action_type": "contact", "details": {"name": "Bob", "method": "pigeon"}},
                    {"action_type": "task", "details": {"description": "x", "due": "soonish"}},
                    {"action_type": "schedule", "details": {"start_time": "2026-03-03T09:00"}},
                    good_task,
                    {
                        "action_type": "contact",
                        "details": {"name": "Bob", "method": "Message", "details": "running late"},
                        "confidence": 3,
                    },
                ]
            }
        )
    )
    task, contact = fake.client().extract_actions("…", NOW)

    assert (task.action_type, task.details, task.scheduled_time) == (
        "task",
        {"description": "buy milk"},
        None,
    )
    assert contact.details == {"name": "Bob", "method": "message", "details": "running late"}
    assert contact.confidence == 1.0  # clamped into 0–1


def test_an_event_without_end_lasts_an_hour_and_one_ending_before_it_starts_is_dropped():
    fake = FakeGemini(
        model_answer(
            {
                "actions": [
                    {
                        "action_type": "schedule",
                        "details": {"name": "Standup", "start_time": "2026-03-03T09:00:00+01:00"},
                    },
                    {
                        "action_type": "schedule",
                        "details": {
                            "name": "Backwards",
                            "start_time": "2026-03-03T11:00:00+01:00",
                            "end_time": "2026-03-03T10:00:00+01:00",
                        },
                    },
                ]
            }
        )
    )
    (standup,) = fake.client().extract_actions("…", NOW)

    assert standup.details["end_time"] == "2026-03-03T10:00:00+01:00"
    assert standup.confidence == 1.0


def test_a_task_with_a_due_time_is_scheduled_then():
    task = {
        "action_type": "task",
        "details": {"description": "send the report", "due": "2026-03-06T18:00:00+01:00"},
        "confidence": 0.6,
    }
    fake = FakeGemini(model_answer({"actions": [task, task]}))
    (only,) = fake.client().extract_actions("…", NOW)  # the repeated item is kept once

    assert only.details == {"description": "send the report", "due": "2026-03-06T18:00:00+01:00"}
    assert only.scheduled_time == datetime(2026, 3, 6, 18, 0, tzinfo=PARIS)


def test_a_naive_now_is_read_as_utc():
    fake = FakeGemini(
        model_answer(
            {
                "actions": [
                    {
                        "action_type": "remind",
                        "details": {"description": "stretch", "time": "2026-03-02T17:00:00"},
                    }
                ]
            }
        )
    )
    (remind,) = fake.client().extract_actions("…", datetime(2026, 3, 2, 15, 20))

    assert "Current local time: 2026-03-02T15:20:00+00:00" in fake.user_text()
    assert remind.details["time"] == "2026-03-02T17:00:00+00:00"


@pytest.mark.parametrize("answer", [{"actions": "none"}, {}, ["remind"]])
def test_an_extraction_answer_without_a_list_of_actions_raises(answer):
    fake = FakeGemini(model_answer(answer))
    with pytest.raises(GeminiError):
        fake.client().extract_actions("remind me to stretch at five", NOW)


def test_blank_text_is_not_sent_for_extraction():
    fake = FakeGemini(model_answer({"actions": []}))
    assert fake.client().extract_actions("   ", NOW) == []
    assert fake.requests == []


# -- commands ----------------------------------------------------------------------------------


def test_stop_listening_disables_the_service():
    fake = FakeGemini(
        model_answer(
            {"intent": "stop_listening", "response": "Okay, I'll stop listening.", "actions": []}
        )
    )
    result = fake.client().answer_command("stop listening", NOW)

    assert result.intent == "stop_listening"
    assert result.disable_service is True
    assert result.response == "Okay, I'll stop listening."
    assert fake.body()["systemInstruction"]["parts"][0]["text"] == system_prompt("command")


def test_a_reminder_command_carries_its_action_and_sees_the_network_status():
    fake = FakeGemini(
        model_answer(
            {
                "intent": "remind",
                "response": "I'll remind you to call mom at five.",
                "actions": [
                    {
                        "action_type": "remind",
                        "details": {"description": "call mom", "time": "2026-03-02T17:00:00"},
                        "confidence": 0.9,
                    }
                ],
            }
        )
    )
    status = {"service_enabled": True, "connected_clients": 2, "queue": {"queued": 1}}
    result = fake.client().answer_command("remind me to call mom at five", NOW, status)

    assert result.intent == "remind"
    assert result.disable_service is False
    (action,) = result.actions
    assert action.details == {"time": "2026-03-02T17:00:00+01:00", "description": "call mom"}
    text = fake.user_text()
    assert f"Network status: {json.dumps(status)}" in text
    assert text.rstrip().endswith("remind me to call mom at five")
    schema = fake.body()["generationConfig"]["responseJsonSchema"]
    assert "stop_listening" in schema["properties"]["intent"]["enum"]


def test_a_question_command_drops_stray_actions():
    stray = {"action_type": "task", "details": {"description": "look at the clock"}}
    fake = FakeGemini(
        model_answer({"intent": "time", "response": "It's twenty past four.", "actions": [stray]})
    )
    result = fake.client().answer_command("what time is it", NOW, None)

    assert (result.intent, result.actions, result.disable_service) == ("time", [], False)
    assert "Network status: unknown" in fake.user_text()


BAD_COMMANDS = {
    "a reminder without a usable action": {
        "intent": "remind",
        "response": "I'll remind you.",
        "actions": [{"action_type": "remind", "details": {"description": "call mom"}}],
    },
    "an action of another type": {
        "intent": "schedule",
        "response": "Booked.",
        "actions": [{"action_type": "task", "details": {"description": "book"}}],
    },
    "an intent outside the list": {"intent": "weather", "response": "Sunny.", "actions": []},
    "no response": {"intent": "time", "actions": []},
    "a blank response": {"intent": "time", "response": "  ", "actions": []},
    "actions that are not a list": {"intent": "time", "response": "Four.", "actions": "none"},
}


@pytest.mark.parametrize("answer", BAD_COMMANDS.values(), ids=BAD_COMMANDS.keys())
def test_a_malformed_command_answer_raises(answer):
    fake = FakeGemini(model_answer(answer))
    with pytest.raises(GeminiError):
        fake.client().answer_command("do something", NOW)
    assert len(fake.requests) == 1


# -- summaries ---------------------------------------------------------------------------------


def test_a_conversation_is_summarised_from_its_turns():
    fake = FakeGemini(
        model_answer(
            {
                "title": "Lunch plans for Thursday.",
                "topic_summary": "Anna and Ben plan lunch.",
                "context_summary": "  Anna and Ben agree on lunch at noon on Thursday.  ",
            }
        )
    )
    turns = [
        EarlierUtterance("Anna", "Lunch on Thursday?", datetime(2026, 3, 2, 12, 5, tzinfo=PARIS)),
        EarlierUtterance("Ben", "Sure, noon.", None),
        EarlierUtterance("Ben", "   ", None),
    ]
    summary = fake.client().summarize(turns)

    assert summary.title == "Lunch plans for Thursday"
    assert summary.topic_summary == "Anna and Ben plan lunch."
    assert summary.context_summary == "Anna and Ben agree on lunch at noon on Thursday."
    text = fake.user_text()
    assert "- [2026-03-02 12:05] Anna: Lunch on Thursday?" in text
    assert "- Ben: Sure, noon." in text
    assert text.count("\n- ") == 2
    assert fake.body()["systemInstruction"]["parts"][0]["text"] == system_prompt("summarize")


def test_a_conversation_without_words_is_not_sent():
    fake = FakeGemini(model_answer({"title": "x", "topic_summary": "y", "context_summary": "z"}))
    summary = fake.client().summarize([EarlierUtterance("Anna", "  ")])

    assert (summary.title, summary.topic_summary, summary.context_summary) == (None, None, None)
    assert fake.requests == []


@pytest.mark.parametrize(
    "answer",
    [
        {"title": 7, "topic_summary": None, "context_summary": None},
        {"title": "x", "topic_summary": ["a"], "context_summary": None},
        "a plain string",
    ],
)
def test_a_summary_with_wrong_types_raises(answer):
    fake = FakeGemini(model_answer(answer))
    with pytest.raises(GeminiError):
        fake.client().summarize([EarlierUtterance("Anna", "Hello")])


# -- the transcription engine ------------------------------------------------------------------


def test_the_gemini_engine_transcribes_through_the_client(utterance):
    fake = FakeGemini(model_answer({"text": "Stew for dinner.", "language": "en"}))
    engine = GeminiTranscriber(fake.client())

    transcript = engine.transcribe(utterance)

    assert engine.name == "gemini"
    assert (transcript.text, transcript.engine) == ("Stew for dinner.", "gemini")
    assert len(fake.requests) == 1


def test_the_gemini_engine_reports_failures_as_transcription_errors(utterance):
    fake = FakeGemini(RATE_LIMITED)
    engine = GeminiTranscriber(fake.client(max_retries=0))

    with pytest.raises(TranscriptionError, match="HTTP 429"):
        engine.transcribe(utterance)
    assert len(fake.requests) == 1
