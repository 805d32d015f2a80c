"""The offline memory rules on their development table, corrections and what is left alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mira.assistant.memories import MEMORY_TYPES, correction_time, extract_memories
from tests.unit.assistant.memory_phrasings import DEVELOPMENT, HELD_OUT, MemoryRow

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # a Wednesday afternoon


def kept(text: str) -> list[tuple[str, str]]:
    return [(m.memory_type, m.canonical_text) for m in extract_memories(text, NOW)]


@pytest.mark.parametrize("row", DEVELOPMENT, ids=[r.text for r in DEVELOPMENT])
def test_development_statement_is_remembered_as_expected(row: MemoryRow):
    got = kept(row.text)
    assert len(got) == len(row.expected), got
    for (kind, text), (want_kind, words) in zip(got, row.expected, strict=True):
        assert kind == want_kind
        assert words in text.lower()


def test_tables_cover_every_memory_type_and_statements_to_leave_alone():
    for table in (DEVELOPMENT, HELD_OUT):
        kinds = {kind for row in table for kind, _ in row.expected}
        assert kinds == set(MEMORY_TYPES)
        assert any(not row.expected for row in table)


def test_plans_carry_their_times_and_expire_when_they_end():
    [plan] = extract_memories("Schedule a dentist appointment tomorrow at 3.", NOW)
    assert plan.proposed_start_at == datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    assert plan.proposed_end_at == datetime(2026, 3, 5, 16, 0, tzinfo=UTC)
    assert plan.expires_at == plan.proposed_end_at
    assert plan.action_kind == "schedule"


def test_a_commitment_without_a_time_never_expires_by_itself():
    [memory] = extract_memories("Add batteries to my shopping list.", NOW)
    assert memory.memory_type == "commitment" and memory.expires_at is None


def test_one_utterance_may_hold_several_memories():
    found = kept("Anna is allergic to peanuts. I love Italian food.")
    assert [kind for kind, _ in found] == ["fact", "preference"]


@pytest.mark.parametrize(
    ("text", "corrects"),
    [
        ("Actually, make it Friday at 6.", True),
        ("No, let's say Thursday at 5 pm.", True),
        ("Actually, move it to 7.", True),
        ("Make it Friday.", False),
        ("I actually like Fridays.", False),
    ],
)
def test_corrections_are_recognised_with_their_new_time(text, corrects):
    assert (correction_time(text, NOW) is not None) is corrects


@pytest.mark.parametrize(
    "command, remember",
    [
        ("remember that Bob likes green tea", "Bob likes green tea"),
        ("Please remember the wifi password is tulip42.", "the wifi password is tulip42"),
        ("note that the plumber comes on Tuesday", "the plumber comes on Tuesday"),
    ],
)
def test_asked_to_remember(command, remember):
    from mira.assistant.commands import answer_command

    answer = answer_command(command, NOW, {})
    assert answer.intent == "remember" and answer.remember == remember
    assert not answer.actions


@pytest.mark.parametrize(
    "command", ["remember to buy milk", "remember that I meet Bob tomorrow at 5pm"]
)
def test_remembering_a_commitment_stays_an_action(command):
    from mira.assistant.commands import answer_command

    answer = answer_command(command, NOW, {})
    assert answer.intent != "remember" and answer.actions


@pytest.mark.parametrize(
    "question, topic",
    [
        ("what do you know about Bob", "Bob"),
        ("when is Anna's birthday", "Anna's birthday"),
        ("where is my passport?", "my passport"),
        ("do you remember the wifi password", "the wifi password"),
        ("what do you remember", ""),
    ],
)
def test_memory_questions(question, topic):
    from mira.assistant.commands import answer_command

    answer = answer_command(question, NOW, {})
    assert answer.intent == "recall" and answer.recall == topic


def test_recall_matches_words_not_substrings():
    from mira.assistant.memories import recall_terms, relevance

    terms = recall_terms("when is Anna's birthday?")
    assert terms == ["anna", "birthday"]
    assert relevance(terms, "Anna's birthday is on the 3rd of May") == 2
    assert relevance(terms, "Annabel likes birthdays") == 1  # plural kept, Annabel is not Anna
    assert relevance(recall_terms("what do you know about it"), "It is late") == 0


def test_recall_answer_says_only_what_was_found():
    from mira.assistant.commands import recall_answer

    assert recall_answer("Anna", []) == "I don't remember anything about Anna."
    assert recall_answer("my keys", ["My keys are on the hook"]) == (
        "I remember this about your keys: your keys are on the hook."
    )
