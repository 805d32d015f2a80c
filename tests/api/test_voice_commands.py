"""Voice commands answered as Server-Sent Events (POST {prefix}/actions/voice)."""

from __future__ import annotations

import io
import json

import pytest

from tests.audio_data import flite_speech, sox_noise, wav_bytes
from tests.realtime_client import Socket


def sse_events(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    return [json.loads(line[5:]) for line in body.split("\n") if line.startswith("data:")]


def ask(client, account, audio: bytes, prefix: str = "/api/v1", **form):
    client.post(f"{prefix}/service/client/register/dadei-app", headers=account.headers)
    return client.post(
        f"{prefix}/actions/voice",
        headers=account.headers,
        data={"audio": (io.BytesIO(audio), "audio.wav"), "client_id": "dadei-app", **form},
        content_type="multipart/form-data",
    )


@pytest.fixture(scope="module")
def reminder_wav() -> bytes:
    return wav_bytes(flite_speech("Remind me to call mom at five."))


def test_a_spoken_reminder_streams_transcript_tools_tokens_then_done(client, alice, reminder_wav):
    events = sse_events(ask(client, alice, reminder_wav))
    types = [e["type"] for e in events]
    assert types[0] == "transcript" and "remind" in events[0]["text"].lower()
    assert types[-1] == "done" and types.count("done") == 1
    assert "error" not in types
    call = next(e for e in events if e["type"] == "tool_call")
    result = next(e for e in events if e["type"] == "tool_result")
    assert call["tool"] == result["tool"] == "create_reminder"
    assert result["ok"] is True and "call mom" in result["summary"]
    tokens = "".join(e["text"] for e in events if e["type"] == "token")
    assert "remind you" in tokens and "5:00 PM" in tokens
    [action] = client.get(f"{alice.prefix()}/actions", headers=alice.headers).json
    assert action["id"] == result["action_id"] and action["action_type"] == "remind"
    [command] = client.get(f"{alice.prefix()}/interactions", headers=alice.headers).json
    assert command["interaction_type"] == "command"
    assert command["metadata"]["response"] == tokens


def test_a_retry_with_its_idempotency_key_makes_no_second_job_and_answers_again(
    client, alice, reminder_wav
):
    first = sse_events(ask(client, alice, reminder_wav, idempotency_key="cmd-1"))
    again = client.post(
        f"{alice.prefix()}/actions/voice",
        headers={**alice.headers, "Idempotency-Key": "cmd-1"},
        data={"audio": (io.BytesIO(reminder_wav), "audio.wav"), "client_id": "dadei-app"},
        content_type="multipart/form-data",
    )
    replay = sse_events(again)
    tokens = "".join(e["text"] for e in first if e["type"] == "token")
    assert replay == [
        {"type": "transcript", "text": first[0]["text"]},
        {"type": "token", "text": tokens},
        {"type": "done"},
    ]
    jobs = client.get(f"{alice.prefix()}/jobs?kind=voice", headers=alice.headers).json
    assert len(jobs) == 1
    assert len(client.get(f"{alice.prefix()}/actions", headers=alice.headers).json) == 1
    assert len(client.get(f"{alice.prefix()}/interactions", headers=alice.headers).json) == 1


def test_a_failed_command_retried_with_its_key_answers_its_error_again(client, alice):
    noise = wav_bytes(sox_noise("pinknoise", 2.0))
    first = sse_events(ask(client, alice, noise, idempotency_key="cmd-2"))
    again = sse_events(ask(client, alice, noise, idempotency_key="cmd-2"))
    assert [e["type"] for e in first] == ["error", "done"]
    assert again == first
    assert len(client.get(f"{alice.prefix()}/jobs?kind=voice", headers=alice.headers).json) == 1


def test_a_voice_key_reused_for_other_audio_is_422(client, alice, reminder_wav):
    sse_events(ask(client, alice, reminder_wav, idempotency_key="cmd-3"))
    other = wav_bytes(flite_speech("What time is it?"))
    response = ask(client, alice, other, idempotency_key="cmd-3")
    assert response.status_code == 422
    assert response.json["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(client.get(f"{alice.prefix()}/jobs?kind=voice", headers=alice.headers).json) == 1


def test_the_apps_name_for_the_assistant_is_not_part_of_the_command(client, alice):
    wav = wav_bytes(flite_speech("Dadei, what time is it?"))
    events = sse_events(ask(client, alice, wav, prefix="/api/v2"))
    tools = [e for e in events if e["type"] == "tool_result"]
    assert [t["tool"] for t in tools] == ["get_current_time"] and tools[0]["ok"] is True
    assert "It's" in "".join(e["text"] for e in events if e["type"] == "token")


def test_what_mira_cannot_do_is_never_a_pretend_success(client, alice):
    wav = wav_bytes(flite_speech("Send an email to Sam about the report."))
    events = sse_events(ask(client, alice, wav))
    [result] = [e for e in events if e["type"] == "tool_result"]
    assert result["tool"] == "send_email" and result["ok"] is False and result["summary"]
    reply = "".join(e["text"] for e in events if e["type"] == "token")
    assert "can't send e-mail" in reply
    [action] = client.get(f"{alice.prefix()}/actions", headers=alice.headers).json
    assert action["action_type"] == "contact"  # kept to follow up


def test_the_action_reaches_the_apps_socket(client, live, alice, reminder_wav):
    socket = Socket(live, token=alice.access_token, client_id="dadei-app")
    socket.wait_for("service_status")
    sse_events(ask(client, alice, reminder_wav))
    message = socket.wait_for("action", timeout=10)
    assert message["data"]["action_type"] == "remind"
    assert socket.wait_for("interaction", timeout=10)["data"]["interaction_type"] == "command"
    socket.close()


def test_noise_answers_an_error_then_done(client, alice):
    events = sse_events(ask(client, alice, wav_bytes(sox_noise("pinknoise", 2.0, 0.05))))
    assert [e["type"] for e in events] == ["error", "done"]
    assert events[0]["message"]


def test_a_failing_engine_answers_an_error_then_done(client, alice, reminder_wav, monkeypatch):
    from mira.pipeline import analysis

    def broken(*args, **kwargs):
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(analysis, "_transcribe", broken)
    events = sse_events(ask(client, alice, reminder_wav))
    assert [e["type"] for e in events] == ["error", "done"]
    jobs = client.get(f"{alice.prefix()}/jobs?kind=voice", headers=alice.headers).json
    assert jobs[0]["status"] == "failed" and jobs[0]["attempts"] == 1


@pytest.mark.parametrize(
    ("form", "status"),
    [({"client_id": ""}, 422), ({"client_id": "stranger"}, 404), ({"session_token": "x"}, 403)],
)
def test_bad_requests_get_an_envelope_not_a_stream(client, alice, reminder_wav, form, status):
    response = ask(client, alice, reminder_wav, **form)
    assert response.status_code == status
    assert {"detail", "error_code"} <= set(response.json)


def test_no_audio_and_a_disabled_service_are_refused(client, alice):
    empty = ask(client, alice, b"")
    assert empty.status_code == 400
    client.patch("/api/v1/service/disable", headers=alice.headers)
    assert ask(client, alice, wav_bytes(flite_speech("Hello."))).status_code == 503


def test_a_spoken_memory_is_stored_then_found_by_a_spoken_question(client, alice, bob):
    told = sse_events(
        ask(
            client,
            alice,
            wav_bytes(flite_speech("Remember that my passport is in the top drawer.")),
        )
    )
    [stored] = [e for e in told if e["type"] == "tool_result"]
    assert stored["tool"] == "store_memory" and stored["ok"] is True
    assert "passport is in the top drawer" in stored["summary"]
    [memory] = client.get(f"{alice.prefix()}/memories", headers=alice.headers).json
    assert memory["id"] == stored["memory_id"]
    assert memory["status"] == "confirmed" and memory["memory_type"] == "fact"
    assert "remember that your passport is in the top drawer" in "".join(
        e["text"] for e in told if e["type"] == "token"
    )

    asked = sse_events(ask(client, alice, wav_bytes(flite_speech("Where is my passport?"))))
    [search] = [e for e in asked if e["type"] == "tool_result"]
    assert search["tool"] == "search_memory" and search["ok"] is True
    assert search["memory_ids"] == [memory["id"]]
    reply = "".join(e["text"] for e in asked if e["type"] == "token")
    assert "your passport is in the top drawer" in reply

    # Another network's assistant knows nothing of it.
    elsewhere = sse_events(ask(client, bob, wav_bytes(flite_speech("Where is my passport?"))))
    [search] = [e for e in elsewhere if e["type"] == "tool_result"]
    assert search["memory_ids"] == [] and search["summary"] == "Nothing found"
    reply = "".join(e["text"] for e in elsewhere if e["type"] == "token")
    assert reply.startswith("I don't remember anything about your passport")


@pytest.fixture
def gemini(monkeypatch):
    """Gemini as the assistant, behind the fake transport of the Gemini unit tests."""
    from mira.assistant import brain
    from tests.unit.assistant.test_gemini import FakeGemini

    fake = FakeGemini()
    monkeypatch.setattr(brain, "assistant", lambda settings: brain.Assistant(fake.client()))
    return fake


def test_with_gemini_mira_runs_the_tools_and_the_reply_streams(client, alice, reminder_wav, gemini):
    from tests.unit.assistant.test_gemini_voice import call, stream

    gemini.answers = [
        stream([call("create_reminder", description="call mom", time="2030-01-04T17:00:00Z")]),
        stream([{"text": "I'll remind you "}], [{"text": "at five."}]),
    ]
    events = sse_events(ask(client, alice, reminder_wav))
    types = [e["type"] for e in events]
    assert types == ["transcript", "tool_call", "tool_result", "token", "token", "done"]
    result = events[2]
    assert result["tool"] == "create_reminder" and result["ok"] is True
    [action] = client.get(f"{alice.prefix()}/actions", headers=alice.headers).json
    assert action["id"] == result["action_id"] and action["scheduled_time"].startswith("2030-01-04")
    [command] = client.get(f"{alice.prefix()}/interactions", headers=alice.headers).json
    assert command["metadata"]["response"] == "I'll remind you at five."
    assert command["metadata"]["assistant"]["engine"] == "gemini"
    assert "remind me to call mom" in gemini.user_text(0).lower()


def test_with_gemini_a_tool_mira_cannot_do_is_reported_not_done(client, alice, gemini):
    from tests.unit.assistant.test_gemini_voice import call, stream

    gemini.answers = [
        stream([call("web_search", query="weather in Paris")]),
        stream([{"text": "I can't search the web."}]),
    ]
    wav = wav_bytes(flite_speech("What is the weather in Paris?"))
    events = sse_events(ask(client, alice, wav))
    [result] = [e for e in events if e["type"] == "tool_result"]
    assert result["tool"] == "web_search" and result["ok"] is False and result["summary"]
    sent = gemini.body(1)["contents"][2]["parts"][0]["functionResponse"]["response"]
    assert sent["ok"] is False


def test_when_gemini_fails_first_the_offline_rules_answer(client, alice, reminder_wav, gemini):
    from tests.unit.assistant.test_gemini import api_error

    gemini.answers = [api_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")]
    events = sse_events(ask(client, alice, reminder_wav))
    assert "error" not in [e["type"] for e in events]
    [result] = [e for e in events if e["type"] == "tool_result"]
    assert result["tool"] == "create_reminder" and result["ok"] is True
    assert "5:00 PM" in "".join(e["text"] for e in events if e["type"] == "token")
    [command] = client.get(f"{alice.prefix()}/interactions", headers=alice.headers).json
    assert command["metadata"]["assistant"]["engine"] == "offline"
