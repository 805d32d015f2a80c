from datetime import datetime, timedelta

import pytest

from mira.assistant.extract import extract_actions
from mira.assistant.types import ACTION_TYPES, EarlierUtterance
from tests.unit.assistant.phrasings import (
    DEVELOPMENT,
    EVE_OF_SPRING_DST,
    HELD_OUT,
    WEDNESDAY_AFTERNOON,
    Phrasing,
    berlin,
)

NOW = WEDNESDAY_AFTERNOON


@pytest.mark.parametrize("row", DEVELOPMENT, ids=[row.text for row in DEVELOPMENT])
def test_development_phrasing_is_understood(row: Phrasing):
    actions = extract_actions(row.text, row.now)
    if row.action_type is None:
        assert actions == []
        return
    assert len(actions) == 1
    action = actions[0]
    assert action.action_type == row.action_type
    assert action.scheduled_time == row.when
    for key, expected in row.details.items():
        assert str(action.details.get(key)).lower() == str(expected).lower(), key


def test_tables_cover_every_action_type_and_non_commitments():
    for table, minimum in ((DEVELOPMENT, 40), (HELD_OUT, 25)):
        assert len(table) >= minimum
        types = {row.action_type for row in table}
        assert types == {*ACTION_TYPES, None}
    assert not {row.text for row in DEVELOPMENT} & {row.text for row in HELD_OUT}


@pytest.mark.parametrize("row", [r for r in DEVELOPMENT if r.action_type], ids=str)
def test_details_follow_the_api_shape_with_iso_times(row: Phrasing):
    (action,) = extract_actions(row.text, row.now)
    required = {
        "remind": {"time", "description"},
        "schedule": {"start_time", "end_time", "name"},
        "contact": {"name", "method", "details"},
        "task": {"description"},
    }[action.action_type]
    assert required <= set(action.details)
    time_key = {"remind": "time", "schedule": "start_time", "task": "due"}.get(action.action_type)
    if time_key and action.scheduled_time is not None:
        assert datetime.fromisoformat(action.details[time_key]) == action.scheduled_time
        assert action.details[time_key] == action.scheduled_time.isoformat()
    if action.action_type == "contact":
        assert action.details["method"] in ("email", "message", "call")


def test_an_event_lasts_an_hour_unless_a_length_is_said():
    (default,) = extract_actions("Schedule a meeting with Sam tomorrow at 10.", NOW)
    assert default.details["end_time"] == berlin(2026, 3, 5, 11).isoformat()
    (short,) = extract_actions("Schedule a call with Sam for 30 minutes tomorrow at 10.", NOW)
    assert short.details["end_time"] == berlin(2026, 3, 5, 10, 30).isoformat()
    assert short.details["name"] == "call with Sam"


def test_an_event_without_a_time_is_not_yet_a_commitment():
    assert extract_actions("Let's meet sometime.", NOW) == []
    assert extract_actions("Schedule a meeting with Sam.", NOW) == []


def test_one_utterance_may_hold_several_commitments():
    actions = extract_actions(
        "Remind me to call mom at 5, and I need to buy milk. Text John that I'm late.", NOW
    )
    assert [a.action_type for a in actions] == ["remind", "task", "contact"]
    assert actions[0].details["description"] == "call mom"
    assert actions[1].details["description"] == "buy milk"
    assert actions[2].details["name"] == "John"


def test_the_same_commitment_said_twice_is_one_action():
    actions = extract_actions("I need to buy milk. I need to buy milk.", NOW)
    assert len(actions) == 1


def test_that_is_resolved_from_the_recent_turns():
    context = [
        EarlierUtterance("Anna", "The kitchen tap is leaking again.", NOW - timedelta(minutes=2)),
        EarlierUtterance(
            "Ben", "We really need to call the plumber about it.", NOW - timedelta(minutes=1)
        ),
    ]
    (action,) = extract_actions("Remind me to do that tomorrow.", NOW, context)
    assert action.details["description"] == "call the plumber about it"
    assert action.scheduled_time == berlin(2026, 3, 5, 9)
    (alone,) = extract_actions("Remind me to do that tomorrow.", NOW)
    assert alone.details["description"] == "do that"


def test_context_turns_may_carry_naive_or_missing_timestamps():
    context = [
        EarlierUtterance(
            None, "I have to renew my passport by Monday.", datetime(2026, 3, 4, 12, 58)
        ),
        EarlierUtterance("Ben", "Right."),
    ]
    (action,) = extract_actions("Remind me about it on Friday", NOW, context)
    assert action.details["description"] == "renew my passport"
    assert action.scheduled_time == berlin(2026, 3, 6, 9)


def test_times_keep_their_own_offset_across_dst():
    (action,) = extract_actions("remind me tomorrow at 10 to call dad", EVE_OF_SPRING_DST)
    assert action.details["time"] == "2026-03-29T10:00:00+02:00"


@pytest.mark.parametrize(
    "text",
    [
        "Hey, did you remind Sam to call the bank?",
        "I reminded him to call at 5.",
        "If you want, we could meet at 3.",
        "Honestly I would have called her tonight.",
        "Tom said we need to buy milk.",
        "Never mind, don't text John.",
        "No, I'm not going to call him.",
        "Mira?",
        "",
    ],
)
def test_non_commitments_produce_nothing(text):
    assert extract_actions(text, NOW) == []


def test_a_wake_word_before_a_request_is_ignored():
    (action,) = extract_actions("Hey Mira, remind me to stretch in 10 minutes", NOW)
    assert action.action_type == "remind"
    assert action.details["description"] == "stretch"


def test_a_networks_own_wake_word_is_skipped_too():
    assert extract_actions("Jarvis, remind me to stretch at 5", NOW) == []
    (action,) = extract_actions("Jarvis, remind me to stretch at 5", NOW, wake_words=["jarvis"])
    assert action.details == {"time": "2026-03-04T17:00:00+01:00", "description": "stretch"}


def test_curly_apostrophes_from_transcripts_are_read_like_straight_ones():
    (action,) = extract_actions("I\u2019ll call the dentist tomorrow.", NOW)
    assert action.details["description"] == "call the dentist"
