"""Resolve spoken times ("at 5", "tomorrow morning", "in 20 minutes") against the moment said.

Transcripts come from Whisper, which writes numbers as digits ("5", "5:30", "730" for 7:30,
"5 p.m.") and sometimes as words ("five thirty"); both are accepted. Everything resolves in the
time zone of `now` (the network's), with wall-clock arithmetic for dates and real elapsed time for
"in N minutes/hours", so DST changes land where a person expects them.

Rules where speech is ambiguous (documented because reminders depend on them):

- A bare hour with no am/pm and no part of the day ("at 5", "at 730"):
  1–7 mean the afternoon/evening (17:00, 19:30); 12 is noon; 0 and 13–23 are a 24-hour clock;
  8–11 take the next future occurrence (at 09:00 "at 10" is 10:00, at 14:00 it is 22:00), and on
  another day than today the morning. Without a date, a time already past today moves to tomorrow.
- Parts of the day: morning 09:00, afternoon 15:00, evening 18:00, tonight/night 20:00; they also
  settle am/pm ("at 7 in the morning", "tonight at 8").
- A date without a clock ("on Friday", "tomorrow", "March 3rd") is 09:00 that day; "today" alone is
  18:00, or an hour from now once 18:00 has passed.
- "Friday" / "on Friday" / "next Friday" is the coming Friday, 1–7 days ahead (said on a Friday it
  means a week later); "this Friday" may be today. "next week" is next Monday; "the weekend" is the
  coming Saturday. A month and day already past this year mean next year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

# --------------------------------------------------------------------------- vocabulary

_UNIT_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19,
}  # fmt: skip
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "sept": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
}  # fmt: skip
PART_OF_DAY_HOURS = {"morning": 9, "afternoon": 15, "evening": 18, "night": 20}
DATE_ONLY_HOUR = 9
TODAY_ONLY_HOUR = 18


def _number_words() -> dict[str, int]:
    words = dict(_UNIT_WORDS)
    for tens_word, tens in _TENS_WORDS.items():
        words[tens_word] = tens
        for unit_word, unit in list(_UNIT_WORDS.items())[1:10]:
            words[f"{tens_word}-{unit_word}"] = tens + unit
            words[f"{tens_word} {unit_word}"] = tens + unit
    return words


def _ordinal_words() -> dict[str, int]:
    words = dict(_ORDINAL_UNITS)
    words.update({"twentieth": 20, "thirtieth": 30})
    for unit_word, unit in list(_ORDINAL_UNITS.items())[:9]:
        words[f"twenty-{unit_word}"] = 20 + unit
        words[f"twenty {unit_word}"] = 20 + unit
    words["thirty-first"] = words["thirty first"] = 31
    return words


_NUMBER_WORDS = _number_words()
_ORDINALS = _ordinal_words()


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation that prefers the longest word ("twenty-five" before "twenty")."""
    return "|".join(
        re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True)
    )


_NUM_WORD = _alternation(_NUMBER_WORDS)
_HOUR_WORD = _alternation(w for w, n in _NUMBER_WORDS.items() if 1 <= n <= 12)
_MINUTE_WORD = _alternation(w for w, n in _NUMBER_WORDS.items() if 10 <= n <= 59)
_SMALL_WORD = _alternation(w for w, n in _NUMBER_WORDS.items() if 1 <= n <= 9)
_ORDINAL_WORD = _alternation(_ORDINALS)
_MONTH = _alternation(_MONTHS)
_WEEKDAY = _alternation(_WEEKDAYS)
_MERIDIAN = r"(?P<mer>[ap])\.?\s?m\b\.?"
_NOT_A_QUANTITY = (
    r"(?!\s*(?:%|percent|degrees?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|people|"
    r"persons|euros?|dollars?|pounds?|bucks|kilos?|kg|km|miles?|times|pm\w|am\w))"
)

# --------------------------------------------------------------------------- patterns

_F = re.IGNORECASE
_CLOCK_PREFIX = r"(?:at|by|around|about|before|until|till|from|after)"
_DAY_PREFIX = r"(?:\b(?:on|by|for|until|till|before|from|after)\s+)?"
_PART_SUFFIX = r"(?:\s+(?P<part>morning|afternoon|evening|night))?"

_RELATIVE = re.compile(
    r"\b(?:in|within)\s+(?:about\s+|around\s+|another\s+)?"
    r"(?P<amount>\d+(?:\.\d+)?(?:\s+and\s+a\s+half)?|an?|" + _NUM_WORD + r"|a\s+few|"
    r"a\s+couple(?:\s+of)?|half\s+an?|a\s+half)"
    r"\s+(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?)\b(?P<half>\s+and\s+a\s+half)?",
    _F,
)
_FROM_NOW = re.compile(
    r"\b(?:(?:in|within)\s+)?(?P<amount>\d+(?:\.\d+)?|an?|" + _NUM_WORD + r"|a\s+few|"
    r"a\s+couple(?:\s+of)?|half\s+an?)\s+(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?)"
    r"(?P<half>\s+and\s+a\s+half)?\s+from\s+now\b",
    _F,
)
_DAY_AFTER_TOMORROW = re.compile(
    _DAY_PREFIX + r"\b(?:the\s+)?day\s+after\s+tomorrow\b" + _PART_SUFFIX, _F
)
_TOMORROW = re.compile(_DAY_PREFIX + r"\btomorrow\b" + _PART_SUFFIX, _F)
_TODAY = re.compile(_DAY_PREFIX + r"\btoday\b", _F)
_TONIGHT = re.compile(r"\b(?:(?:by|for|until)\s+)?tonight\b", _F)
_THIS_PART = re.compile(
    r"\b(?:(?:by|for|until)\s+)?this\s+(?P<part>morning|afternoon|evening)\b", _F
)
_IN_THE_PART = re.compile(
    r"\b(?:in\s+the\s+(?P<part>morning|afternoon|evening)|at\s+(?P<night>night))\b", _F
)
_WEEKDAY_RE = re.compile(
    _DAY_PREFIX
    + r"\b(?:(?P<which>this|next|coming|this\s+coming)\s+)?(?P<weekday>"
    + _WEEKDAY
    + r")\b(?!')"
    + _PART_SUFFIX,
    _F,
)
_NEXT_WEEK = re.compile(_DAY_PREFIX + r"\bnext\s+week\b", _F)
_WEEKEND = re.compile(r"\b(?:(?:on|at|over|for)\s+)?(?:this|the|next)\s+weekend\b", _F)
_MONTH_DAY = re.compile(
    _DAY_PREFIX
    + r"\b(?P<month>"
    + _MONTH
    + r")\s+(?:the\s+)?(?P<day>\d{1,2}(?:st|nd|rd|th)?|"
    + _ORDINAL_WORD
    + r")\b",
    _F,
)
_DAY_OF_MONTH = re.compile(
    _DAY_PREFIX
    + r"\b(?:the\s+)?(?P<day>\d{1,2}(?:st|nd|rd|th)?|"
    + _ORDINAL_WORD
    + r")\s+of\s+(?P<month>"
    + _MONTH
    + r")\b",
    _F,
)
_ON_THE_DAY = re.compile(
    r"\b(?:on|by|for)\s+the\s+(?P<day>\d{1,2}(?:st|nd|rd|th)|" + _ORDINAL_WORD + r")\b"
    r"(?!\s+of\b)",
    _F,
)

_NAMED_CLOCK = re.compile(r"(?:\b" + _CLOCK_PREFIX + r"\s+)?\b(?P<name>noon|midday|midnight)\b", _F)
_HALF_QUARTER = re.compile(
    r"(?:\b" + _CLOCK_PREFIX + r"\s+)?\b(?:(?P<half>half)|(?:a\s+)?(?P<quarter>quarter))\s+"
    r"(?P<rel>past|after|to|till|of)\s+(?P<h>\d{1,2}|" + _HOUR_WORD + r")\b"
    r"(?:\s*" + _MERIDIAN + r")?",
    _F,
)
_MINUTES_PAST = re.compile(
    r"\b" + _CLOCK_PREFIX + r"\s+(?P<m>\d{1,2}|" + _NUM_WORD + r")(?:\s+minutes?)?\s+"
    r"(?P<rel>past|after|to|till)\s+(?P<h>\d{1,2}|" + _HOUR_WORD + r")\b"
    r"(?:\s*" + _MERIDIAN + r")?",
    _F,
)
_CLOCK_WITH_MERIDIAN = re.compile(
    r"(?:\b" + _CLOCK_PREFIX + r"\s+)?\b(?P<h>\d{1,2}|" + _HOUR_WORD + r")"
    r"(?:[:.](?P<m>\d{2}))?\s*" + _MERIDIAN,
    _F,
)
_CLOCK_WITH_COLON = re.compile(
    r"(?:\b" + _CLOCK_PREFIX + r"\s+)?\b(?P<h>\d{1,2}):(?P<m>\d{2})\b", _F
)
_OCLOCK = re.compile(
    r"(?:\b" + _CLOCK_PREFIX + r"\s+)?\b(?P<h>\d{1,2}|" + _HOUR_WORD + r")\s+o'?\s?clock\b", _F
)
_BARE_CLOCK = re.compile(
    # "at 5", "at 730", "at 5.30", "at five thirty", "at seven oh five" — the prefix is required.
    r"(?:\b" + _CLOCK_PREFIX + r"|(?<=reminder)\s+for|(?<=alarm)\s+for|(?<=it)\s+for)\s+"
    r"(?:(?P<hmm>\d{3,4})|(?P<h>\d{1,2}|" + _HOUR_WORD + r")"
    r"(?:[.\s](?P<m>[0-5]\d)|\s+(?P<mw>oh\s+(?:"
    + _SMALL_WORD
    + r")|"
    + _MINUTE_WORD
    + r"))?)\b"
    + _NOT_A_QUANTITY,
    _F,
)


@dataclass(frozen=True)
class TimeMatch:
    """A time found in text: the instant, where it was said, and how precisely.

    `span` covers every piece used (in "tomorrow I'll call at 5" it runs from "tomorrow" to "5");
    `parts` are the pieces themselves, so callers can cut the time out of a phrase.
    """

    when: datetime
    span: tuple[int, int]
    has_date: bool
    has_clock: bool
    parts: tuple[tuple[int, int], ...] = ()


@dataclass
class _Clock:
    hour: int
    minute: int
    meridian: str | None  # "a", "p" or None


@dataclass
class _Found:
    kind: str  # relative | date | clock | part
    span: tuple[int, int]
    value: object
    part: str | None = None


# --------------------------------------------------------------------------- helpers


def _number(text: str) -> int | None:
    cleaned = re.sub(r"\s+", " ", text.strip().lower())
    if cleaned.isdigit():
        return int(cleaned)
    if cleaned in _NUMBER_WORDS:
        return _NUMBER_WORDS[cleaned]
    return None


def _ordinal(text: str) -> int | None:
    cleaned = re.sub(r"\s+", " ", text.strip().lower())
    digits = re.match(r"(\d{1,2})(?:st|nd|rd|th)?$", cleaned)
    if digits:
        return int(digits.group(1))
    return _ORDINALS.get(cleaned)


def _at(day: date, hour: int, minute: int, now: datetime) -> datetime:
    """Wall-clock `hour:minute` on `day` in now's zone; a time skipped by DST moves forward."""
    naive = datetime.combine(day, time(hour % 24, minute))
    if hour >= 24:
        naive += timedelta(days=1)
    local = naive.replace(tzinfo=now.tzinfo)
    return local.astimezone(UTC).astimezone(now.tzinfo)


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _relative_delta(match: re.Match[str]) -> tuple[timedelta, str] | None:
    amount_text = re.sub(r"\s+", " ", match.group("amount").lower())
    half = match.group("half") is not None
    if amount_text in ("a", "an"):
        amount = 1.0
    elif amount_text == "a few":
        amount = 3.0
    elif amount_text.startswith("a couple"):
        amount = 2.0
    elif amount_text.startswith("half") or amount_text == "a half":
        amount = 0.5
    elif amount_text.endswith("and a half"):
        amount = float(amount_text.split()[0]) + 0.5
    else:
        try:
            amount = float(amount_text)
        except ValueError:
            number = _number(amount_text)
            if number is None:
                return None
            amount = float(number)
    if half:
        amount += 0.5
    unit = match.group("unit").lower()
    if unit.startswith("min"):
        return timedelta(minutes=amount), "minutes"
    if unit.startswith("h"):
        return timedelta(hours=amount), "hours"
    if unit.startswith("d"):
        return timedelta(days=amount), "days"
    return timedelta(weeks=amount), "days"


def _weekday_date(today: date, weekday: int, which: str | None) -> date:
    ahead = (weekday - today.weekday()) % 7
    if which and which.lower() == "this":
        return today + timedelta(days=ahead)
    return today + timedelta(days=ahead or 7)


def _month_date(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _day_of_this_or_next_month(today: date, day: int) -> date | None:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate and candidate >= today:
            return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def _clock_from(match: re.Match[str], kind: str) -> _Clock | None:
    groups = match.groupdict()
    meridian = (groups.get("mer") or "").lower() or None
    if kind == "named":
        name = groups["name"].lower()
        return _Clock(24, 0, "a") if name == "midnight" else _Clock(12, 0, "p")
    if kind == "half_quarter":
        hour = _number(groups["h"])
        if hour is None or not 1 <= hour <= 12 and not 13 <= hour <= 23:
            return None
        minutes = 30 if groups.get("half") else 15
        if groups["rel"].lower() in ("to", "till", "of"):
            return _Clock(hour - 1 if hour > 1 else 12, 60 - minutes, meridian)
        return _Clock(hour, minutes, meridian)
    if kind == "minutes_past":
        hour, minutes = _number(groups["h"]), _number(groups["m"])
        if hour is None or minutes is None or not 1 <= minutes <= 59 or hour > 23:
            return None
        if groups["rel"].lower() in ("to", "till"):
            return _Clock(hour - 1 if hour > 1 else 12, 60 - minutes, meridian)
        return _Clock(hour, minutes, meridian)
    if groups.get("hmm"):
        digits = groups["hmm"]
        hour, minutes = int(digits[:-2]), int(digits[-2:])
    else:
        hour = _number(groups["h"])
        minutes = 0
        if groups.get("m"):
            minutes = int(groups["m"])
        elif groups.get("mw"):
            minute_text = re.sub(r"^oh\s+", "", groups["mw"].lower())
            minutes = _number(minute_text) or 0
    if hour is None or hour > 24 or minutes > 59:
        return None
    if meridian and not 1 <= hour <= 12:
        return None
    return _Clock(hour, minutes, meridian)


def _hour_of_day(clock: _Clock, part: str | None) -> int | None:
    """The 24-hour hour when am/pm is settled by the words, or None when it is still open."""
    hour = clock.hour
    if clock.meridian == "a":
        return 24 if hour == 24 else hour % 12
    if clock.meridian == "p":
        return hour % 12 + 12
    if hour == 0 or hour >= 13:
        return hour
    if part == "morning":
        return hour % 12
    if part in ("afternoon", "evening"):
        return hour % 12 + 12 if hour != 12 else 12
    if part == "night":
        return hour if hour < 5 else (0 if hour == 12 else hour + 12)
    if hour == 12:
        return 12
    if hour <= 7:
        return hour + 12
    return None


# --------------------------------------------------------------------------- the parser


def _scan(text: str, now: datetime) -> list[_Found]:
    today = now.date()
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, match: re.Match[str], value: object, part: str | None = None) -> None:
        span = match.span()
        if not _overlaps(span, taken):
            taken.append(span)
            found.append(_Found(kind, span, value, part))

    def part_of(match: re.Match[str]) -> str | None:
        part = match.groupdict().get("part")
        return part.lower() if part else None

    for match in (*_FROM_NOW.finditer(text), *_RELATIVE.finditer(text)):
        delta = _relative_delta(match)
        if delta:
            add("relative", match, delta)
    for match in _DAY_AFTER_TOMORROW.finditer(text):
        add("date", match, today + timedelta(days=2), part_of(match))
    for match in _TOMORROW.finditer(text):
        add("date", match, today + timedelta(days=1), part_of(match))
    for match in _TONIGHT.finditer(text):
        add("date", match, today, "night")
    for match in _THIS_PART.finditer(text):
        add("date", match, today, part_of(match))
    for match in _TODAY.finditer(text):
        add("date", match, today)
    for match in _NEXT_WEEK.finditer(text):
        add("date", match, today + timedelta(days=7 - today.weekday()))
    for match in _WEEKEND.finditer(text):
        add("date", match, _weekday_date(today, 5, "this"))
    for pattern in (_MONTH_DAY, _DAY_OF_MONTH):
        for match in pattern.finditer(text):
            day = _ordinal(match.group("day"))
            month = _MONTHS[match.group("month").lower()]
            resolved = _month_date(today, month, day) if day else None
            if resolved:
                add("date", match, resolved)
    for match in _ON_THE_DAY.finditer(text):
        day = _ordinal(match.group("day"))
        resolved = _day_of_this_or_next_month(today, day) if day else None
        if resolved:
            add("date", match, resolved)
    for match in _WEEKDAY_RE.finditer(text):
        weekday = _WEEKDAYS[match.group("weekday").lower()]
        add("date", match, _weekday_date(today, weekday, match.group("which")), part_of(match))
    for kind, pattern in (
        ("named", _NAMED_CLOCK),
        ("half_quarter", _HALF_QUARTER),
        ("minutes_past", _MINUTES_PAST),
        ("plain", _CLOCK_WITH_MERIDIAN),
        ("plain", _CLOCK_WITH_COLON),
        ("plain", _OCLOCK),
        ("plain", _BARE_CLOCK),
    ):
        for match in pattern.finditer(text):
            clock = _clock_from(match, kind)
            if clock:
                add("clock", match, clock)
    for match in _IN_THE_PART.finditer(text):
        add("part", match, None, "night" if match.group("night") else part_of(match))
    return sorted(found, key=lambda item: item.span)


def find_time(text: str, now: datetime) -> TimeMatch | None:
    """The first time said in `text`, resolved against `now` (aware, in the network's zone)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    found = _scan(text, now)
    if not found:
        return None
    first = {kind: next((f for f in found if f.kind == kind), None) for kind in _KINDS}
    relative, day, clock, part_only = (first[k] for k in _KINDS)
    used = [f for f in (relative, day, clock, part_only) if f is not None]
    spans = tuple(sorted(f.span for f in used))
    span = (spans[0][0], spans[-1][1])

    if relative is not None:
        delta, unit = relative.value
        if unit == "days":
            target = now.date() + timedelta(days=delta.days)
            if clock is not None:
                hour = _hour_of_day(clock.value, day.part if day else None)
                if hour is None:
                    hour = clock.value.hour
                when = _at(target, hour, clock.value.minute, now)
                return TimeMatch(when, span, True, True, spans)
            when = _at(target, now.hour, now.minute, now)
            return TimeMatch(when, span, True, False, spans)
        when = (now.astimezone(UTC) + delta).astimezone(now.tzinfo)
        return TimeMatch(when.replace(second=0, microsecond=0), span, False, True, spans)

    part = (day.part if day else None) or (part_only.part if part_only else None)
    target_day: date | None = day.value if day else None
    if clock is not None:
        when = _resolve_clock(clock.value, part, target_day, now)
        return TimeMatch(when, span, target_day is not None, True, spans)
    if part is not None:
        on = target_day or now.date()
        when = _at(on, PART_OF_DAY_HOURS[part], 0, now)
        if target_day is None and when <= now:
            when = _at(on + timedelta(days=1), PART_OF_DAY_HOURS[part], 0, now)
        return TimeMatch(when, span, target_day is not None, False, spans)
    if target_day is None:
        return None
    if target_day == now.date():
        when = _at(target_day, TODAY_ONLY_HOUR, 0, now)
        if when <= now:
            when = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
        return TimeMatch(when, span, True, False, spans)
    return TimeMatch(_at(target_day, DATE_ONLY_HOUR, 0, now), span, True, False, spans)


_KINDS = ("relative", "date", "clock", "part")


def _resolve_clock(clock: _Clock, part: str | None, on: date | None, now: datetime) -> datetime:
    hour = _hour_of_day(clock, part)
    day = on or now.date()
    if hour is None:  # 8–11 with nothing to say am or pm
        if on is not None and on != now.date():
            hour = clock.hour
        else:
            morning = _at(day, clock.hour, clock.minute, now)
            evening = _at(day, clock.hour + 12, clock.minute, now)
            if morning > now:
                return morning
            if evening > now or on is not None:
                return evening
            return _at(day + timedelta(days=1), clock.hour, clock.minute, now)
    when = _at(day, hour, clock.minute, now)
    if on is None and when <= now:
        when = _at(day + timedelta(days=1), hour, clock.minute, now)
    return when


def strip_time(text: str, match: TimeMatch) -> str:
    """`text` without the pieces of `match`, spaces tidied ("call mom at 5" → "call mom")."""
    pieces = []
    cursor = 0
    for start, end in match.parts or (match.span,):
        pieces.append(text[cursor:start])
        cursor = end
    pieces.append(text[cursor:])
    joined = " ".join(p.strip() for p in pieces if p.strip())
    return re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s{2,}", " ", joined)).strip()
