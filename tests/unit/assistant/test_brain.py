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


def test_gemini_memories_through_the_brain_with_the_offline_rules_as_fallback():
    from mira.assistant.memories import ExtractedMemory

    said = "Anna is allergic to peanuts and I think we should see Dune on Friday at 8"
    fake = FakeGemini(
        model_answer(
            {
                "memories": [
                    {
                        "memory_type": "fact",
                        "canonical_text": "Anna is allergic to peanuts",
                        "confidence": 0.95,
                    },
                    {
                        "memory_type": "plan",
                        "canonical_text": "See Dune",
                        "proposed_start_at": "2026-03-06T20:00:00+00:00",
                    },
                    {"memory_type": "plan", "canonical_text": "A plan with no time"},
                    {"memory_type": "commitment", "canonical_text": "not Gemini's to say"},
                    {"memory_type": "fact", "canonical_text": "   "},
                    "junk",
                ]
            }
        )
    )
    found = Assistant(fake.client()).extract_memories(said, NOW, [])
    assert [(m.memory_type, m.canonical_text) for m in found] == [
        ("fact", "Anna is allergic to peanuts"),
        ("plan", "See Dune"),
    ]
    from datetime import datetime

    assert found[1].proposed_start_at == datetime.fromisoformat("2026-03-06T20:00:00+00:00")
    assert isinstance(found[0], ExtractedMemory) and found[0].confidence == 0.95
    assert said in fake.user_text()
    # Gemini down: the offline rules still find the fact.
    offline = Assistant(FakeGemini(SERVER_ERROR).client(max_retries=0)).extract_memories(
        "Anna is allergic to peanuts", NOW, []
    )
    assert [(m.memory_type, m.canonical_text) for m in offline] == [
        ("fact", "Anna is allergic to peanuts")
    ]
    # Nothing said (a command's own actions only): no call at all.
    quiet = FakeGemini(SERVER_ERROR)
    assert Assistant(quiet.client()).extract_memories("", NOW, []) == []
    assert quiet.requests == []
