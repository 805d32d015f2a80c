from datetime import UTC, timedelta

import pytest

from mira.assistant.timeparse import find_time, strip_time
from tests.unit.assistant.phrasings import (
    BERLIN,
    EVE_OF_AUTUMN_DST,
    EVE_OF_SPRING_DST,
    WEDNESDAY_AFTERNOON,
    berlin,
)

NOW = WEDNESDAY_AFTERNOON  # Wednesday 2026-03-04 14:00 in Berlin


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call mom at five", berlin(2026, 3, 4, 17)),
        ("call mom at 5", berlin(2026, 3, 4, 17)),
        ("call mom at 5pm", berlin(2026, 3, 4, 17)),
        ("call mom at 5 p.m.", berlin(2026, 3, 4, 17)),
        ("call mom at 5:30", berlin(2026, 3, 4, 17, 30)),
        ("call mom at 5.30", berlin(2026, 3, 4, 17, 30)),
        ("call mom at 730", berlin(2026, 3, 4, 19, 30)),
        ("call mom at five thirty", berlin(2026, 3, 4, 17, 30)),
        ("call mom at 17:00", berlin(2026, 3, 4, 17)),
        ("call mom at five o'clock", berlin(2026, 3, 4, 17)),
        ("lunch at noon", berlin(2026, 3, 5, 12)),  # noon has passed today
        ("tomorrow morning", berlin(2026, 3, 5, 9)),
        ("tomorrow at 8", berlin(2026, 3, 5, 8)),
        ("tomorrow at 8 in the evening", berlin(2026, 3, 5, 20)),
        ("tonight", berlin(2026, 3, 4, 20)),
        ("tonight at 9", berlin(2026, 3, 4, 21)),
        ("this evening", berlin(2026, 3, 4, 18)),
        ("in 20 minutes", berlin(2026, 3, 4, 14, 20)),
        ("in an hour", berlin(2026, 3, 4, 15)),
        ("in two hours", berlin(2026, 3, 4, 16)),
        ("in half an hour", berlin(2026, 3, 4, 14, 30)),
        ("10 minutes from now", berlin(2026, 3, 4, 14, 10)),
        ("on Friday", berlin(2026, 3, 6, 9)),
        ("next Monday at 10", berlin(2026, 3, 9, 10)),
        ("on March 10th", berlin(2026, 3, 10, 9)),
        ("on March 3rd", berlin(2027, 3, 3, 9)),  # already past this year
        ("the 3rd of April", berlin(2026, 4, 3, 9)),
        ("at half past six", berlin(2026, 3, 4, 18, 30)),
        ("at quarter to nine", berlin(2026, 3, 4, 20, 45)),
        ("at quarter past 7 in the morning", berlin(2026, 3, 5, 7, 15)),
        ("the day after tomorrow", berlin(2026, 3, 6, 9)),
        ("on Wednesday", berlin(2026, 3, 11, 9)),  # said on a Wednesday: a week later
        ("this Friday evening", berlin(2026, 3, 6, 18)),
        ("at midnight", berlin(2026, 3, 5, 0)),
    ],
)
def test_spoken_times_resolve_against_now(text, expected):
    match = find_time(text, NOW)
    assert match is not None
    assert match.when == expected
    assert match.when.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("hour", "text", "expected"),
    [
        (14, "at five", berlin(2026, 3, 4, 17)),  # 1–7 mean the afternoon or evening
        (20, "at five", berlin(2026, 3, 5, 17)),  # past today: tomorrow
        (9, "at 10", berlin(2026, 3, 4, 10)),  # 8–11: the next one to come
        (11, "at 10", berlin(2026, 3, 4, 22)),
        (23, "at 10", berlin(2026, 3, 5, 10)),
        (14, "at 12", berlin(2026, 3, 5, 12)),
        (14, "at 7 in the morning", berlin(2026, 3, 5, 7)),
        (14, "at 5am", berlin(2026, 3, 5, 5)),
    ],
)
def test_a_bare_hour_takes_the_documented_am_pm_rule(hour, text, expected):
    now = NOW.replace(hour=hour)
    assert find_time(text, now).when == expected


def test_elapsed_time_crosses_the_spring_dst_change_in_real_hours():
    match = find_time("in 8 hours", EVE_OF_SPRING_DST)
    assert match.when == berlin(2026, 3, 29, 5)
    # same-zone subtraction in Python is wall-clock; the real elapsed time is measured in UTC
    assert match.when.astimezone(UTC) - EVE_OF_SPRING_DST.astimezone(UTC) == timedelta(hours=8)
    assert match.when.isoformat() == "2026-03-29T05:00:00+02:00"


def test_wall_clock_times_take_the_offset_of_their_own_day():
    assert find_time("tomorrow at 10", EVE_OF_SPRING_DST).when.isoformat() == (
        "2026-03-29T10:00:00+02:00"
    )
    assert find_time("tomorrow morning", EVE_OF_AUTUMN_DST).when.isoformat() == (
        "2026-10-25T09:00:00+01:00"
    )


def test_a_time_skipped_by_dst_moves_forward_to_a_real_instant():
    match = find_time("tomorrow at 2:30 am", EVE_OF_SPRING_DST)
    assert match.when.isoformat() == "2026-03-29T03:30:00+02:00"


def test_the_match_reports_where_the_time_was_said_and_how_precise_it_is():
    text = "please call mom at five tomorrow"
    match = find_time(text, NOW)
    assert text[match.span[0] : match.span[1]] == "at five tomorrow"
    assert match.has_date and match.has_clock
    on_friday = find_time("buy flowers on Friday", NOW)
    assert on_friday.has_date and not on_friday.has_clock
    at_five = find_time("at 5", NOW)
    assert at_five.has_clock and not at_five.has_date


def test_strip_time_leaves_the_rest_of_the_phrase():
    text = "remind me tomorrow to call mom at 5."
    assert strip_time(text, find_time(text, NOW)) == "remind me to call mom."


@pytest.mark.parametrize(
    "text",
    [
        "call mom",
        "I have 5 apples",
        "buy 3 eggs",
        "set the oven at 200 degrees",
        "good morning everyone",
        "a table for 5",
        "the door code is 4512",
        "",
    ],
)
def test_no_time_is_found_where_none_was_said(text):
    assert find_time(text, NOW) is None


def test_now_must_carry_its_time_zone():
    with pytest.raises(ValueError):
        find_time("at 5", NOW.replace(tzinfo=None))


def test_results_stay_in_the_zone_of_now():
    assert find_time("in 20 minutes", NOW).when.tzinfo == BERLIN
