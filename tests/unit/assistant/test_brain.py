"""The assistant façade: Gemini when configured, the offline rules when Gemini fails."""

from __future__ import annotations

from mira.assistant.brain import Assistant, assistant
from tests.unit.assistant.test_gemini import (  # noqa: F401  (no_network is an autouse fixture)
    NOW,
    SERVER_ERROR,
    FakeGemini,
    model_answer,
    no_network,
)


def test_without_a_key_the_assistant_is_offline():
    brain = assistant({"MIRA_ASSISTANT": "auto", "GEMINI_API_KEY": None})
    assert brain.engine == "offline"
    [action] = brain.extract_actions("remind me to call mom at five", NOW)
    assert action.action_type == "remind"
    assert action.scheduled_time == NOW.replace(hour=17, minute=0)


def test_offline_mode_ignores_a_configured_key():
    brain = Assistant.from_settings({"MIRA_ASSISTANT": "offline", "GEMINI_API_KEY": "k"})
    assert brain.engine == "offline"


def test_gemini_answers_when_it_can():
    fake = FakeGemini(
        model_answer(
            {
                "actions": [
                    {
                        "action_type": "task",
                        "details": {"description": "buy a birthday cake"},
                        "confidence": 0.9,
                    }
                ]
            }
        )
    )
    brain = Assistant(fake.client())
    found = brain.extract_actions("we still need a birthday cake, I'll get one", NOW)
    assert fake.requests, "Gemini was not asked"
    assert [(a.action_type, a.details.get("description")) for a in found] == [
        ("task", "buy a birthday cake")
    ]


def test_a_failing_gemini_falls_back_to_the_offline_rules_within_its_budget():
    import time

    fake = FakeGemini(SERVER_ERROR)
    brain = Assistant(fake.client(timeout_s=1.0, max_retries=1))
    began = time.perf_counter()
    result = brain.answer_command("remind me to call mom at five", NOW)
    assert time.perf_counter() - began < 3.0
    assert len(fake.requests) >= 1
    assert result.intent == "remind"
    assert result.actions[0].scheduled_time == NOW.replace(hour=17, minute=0)
