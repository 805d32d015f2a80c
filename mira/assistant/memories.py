"""Offline rules for episodic memories: what is worth remembering in one utterance.

Four kinds, as the dadei apps list them:
- `plan`: an event with a time ("dinner with the Müllers on Saturday at 7");
- `commitment`: something that will be done (a reminder, a task, a message to send);
- `fact`: a fact about a person ("Anna is allergic to peanuts", "my sister lives in Berlin");
- `preference`: what someone likes or dislikes ("I love Italian food").

Plans and commitments come from the action extractor (one reading of the commitment); facts
and preferences from patterns of their own. Only statements with a clear subject and object
count: "I like it", "he is here" keep nothing. A correction ("actually, make it Friday") is
recognised by `correction_time`, and the caller supersedes the memory it changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from mira.assistant.types import ExtractedAction

MEMORY_TYPES = ("plan", "commitment", "fact", "preference")
_F = re.IGNORECASE

# A person: a name, or "my/our" and a relation; never a pronoun or a determiner.
_RELATIONS = (
    r"mom|mum|mother|dad|father|sister|brother|wife|husband|partner|son|daughter|"
    r"grandma|grandpa|granny|grandmother|grandfather|aunt|uncle|cousin|friend|boss|"
    r"neighbou?r|girlfriend|boyfriend|colleague|kids?|children|baby"
)
_NOT_A_NAME = (
    r"(?!(?:he|she|it|this|that|there|here|what|who|which|they|we|you|i|the|a|an|my|our|"
    r"his|her|their|your|its|everyone|everything|nothing|someone|something)\b)"
)
_PERSON = (
    rf"(?:(?:my|our)\s+(?:{_RELATIONS})|(?:{_RELATIONS})\b|"
    rf"{_NOT_A_NAME}[a-zà-ÿ][\w'-]*?(?:\s+(?!is\b|'s\b){_NOT_A_NAME}[A-Z][a-zà-ÿ]+)?)"
)
_FACT_PATTERNS = [
    # "Anna is allergic to peanuts", "my brother is a vegetarian", "Tom is a nurse"
    re.compile(
        rf"^(?P<who>{_PERSON})\s+(?:is|'s)\s+(?P<what>(?:allergic|intolerant)\s+to\s+.+|"
        r"(?:a|an)\s+(?!bit\b|little\b|lot\b)\w.+)$",
        _F,
    ),
    # "my sister lives in Berlin", "Tom works at the hospital"
    re.compile(
        rf"^(?P<who>{_PERSON})\s+(?P<what>(?:lives|works|studies|stays)\s+(?:in|at|for|near)\s+.+)$",
        _F,
    ),
    # "Lisa's birthday is on the 3rd of May", "grandma's phone number is 555 1234"
    re.compile(
        rf"^(?P<who>{_PERSON})'s\s+(?P<what>(?:birthday|anniversary|phone number|number|"
        r"address|email(?: address)?|shoe size|size)\s+is\s+.+)$",
        _F,
    ),
]
_PREFERENCE_PATTERNS = [
    # "I love Italian food", "Tom really likes jazz", "I don't like horror movies"
    re.compile(
        rf"^(?P<who>I|we|{_PERSON})\s+(?:really\s+|absolutely\s+|just\s+)?"
        r"(?P<verb>love|loves|like|likes|enjoy|enjoys|hate|hates|prefer|prefers|adore|adores|"
        r"can't stand|cannot stand|don't like|doesn't like|do not like|does not like|dislike|"
        r"dislikes)\s+(?P<what>.+)$",
        _F,
    ),
    # "my favorite color is green"
    re.compile(
        rf"^(?P<who>my|our|{_PERSON}'s)\s+(?P<what>favou?rite\s+\w+(?:\s+\w+)?\s+is\s+.+)$", _F
    ),
]
# Objects too vague to remember ("I like it", "I love that idea" is kept: it names something).
_VAGUE = re.compile(r"^(?:it|that|this|them|him|her|you|so|one|those|these)$", _F)
_CORRECTION = re.compile(
    r"^\s*(?:actually|no|sorry|wait)[,\s]+(?:let'?s\s+)?(?:make\s+it|move\s+it\s+to|change\s+it\s+to|"
    r"do\s+it|it'?s|let'?s\s+say)\b",
    _F,
)


@dataclass(frozen=True)
class ExtractedMemory:
    memory_type: str
    canonical_text: str
    action_kind: str | None = None
    proposed_start_at: datetime | None = None
    proposed_end_at: datetime | None = None
    expires_at: datetime | None = None
    confidence: float = 0.8
    # "proposed" when overheard; "confirmed" when someone asked Mira to remember it.
    status: str = "proposed"


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\s*;\s*", text.strip())
    return [p.strip().rstrip(".!").strip() for p in parts if p.strip()]


def _when(moment: datetime | None) -> str:
    return "" if moment is None else f" ({moment:%a %d %b %H:%M})"


def from_action(action: ExtractedAction) -> ExtractedMemory:
    """The memory of a commitment the action extractor found."""
    details = action.details
    if action.action_type == "schedule":
        start = action.scheduled_time
        end = datetime.fromisoformat(details["end_time"]) if details.get("end_time") else None
        place = f" at {details['location']}" if details.get("location") else ""
        return ExtractedMemory(
            "plan",
            f"{details.get('name') or 'event'}{place}{_when(start)}",
            "schedule",
            start,
            end,
            end or start,
            action.confidence,
        )
    if action.action_type == "contact":
        said = f": {details['details']}" if details.get("details") else ""
        text = f"{details.get('method') or 'message'} {details.get('name') or 'someone'}{said}"
    else:
        text = str(details.get("description") or action.action_type)
    moment = action.scheduled_time
    return ExtractedMemory(
        "commitment",
        f"{text}{_when(moment)}",
        action.action_type,
        moment,
        None,
        moment + timedelta(days=1) if moment is not None else None,
        action.confidence,
    )


def _plan_without_action(sentence: str, now: datetime) -> ExtractedMemory | None:
    """ "Let's go to the cinema on Friday at 8": a plan the action extractor leaves alone."""
    from mira.assistant.timeparse import find_time, strip_time

    match = re.match(r"^let'?s\s+(?P<what>.+)$", sentence, _F)
    if match is None:
        return None
    found = find_time(match.group("what"), now)
    if found is None or not found.has_clock:
        return None
    what = strip_time(match.group("what"), found).strip(" ,")
    what = re.sub(r"\s+(?:on|at)$", "", what, flags=_F)
    end = found.when + timedelta(hours=1)
    return ExtractedMemory("plan", f"{what}{_when(found.when)}", None, found.when, end, end, 0.7)


def _fact(sentence: str) -> ExtractedMemory | None:
    for pattern in _FACT_PATTERNS:
        match = pattern.match(sentence)
        if match:
            return ExtractedMemory("fact", sentence, None)
    return None


def _preference(sentence: str) -> ExtractedMemory | None:
    for pattern in _PREFERENCE_PATTERNS:
        match = pattern.match(sentence)
        if match is None:
            continue
        what = match.group("what").strip()
        if _VAGUE.match(what) or len(what.split()) > 12:
            return None
        return ExtractedMemory("preference", sentence, None, confidence=0.75)
    return None


def extract_memories(
    text: str, now: datetime, actions: list[ExtractedAction] | None = None
) -> list[ExtractedMemory]:
    """The memories in one utterance. `actions` are the commitments already found in it (the
    action extractor runs when they are not given)."""
    if actions is None:
        from mira.assistant.extract import extract_actions

        actions = extract_actions(text, now)
    found = [from_action(a) for a in actions]
    for sentence in _sentences(text):
        if not actions:
            plan = _plan_without_action(sentence, now)
            if plan is not None:
                found.append(plan)
                continue
        for rule in (_fact, _preference):
            memory = rule(sentence)
            if memory is not None:
                found.append(memory)
                break
    unique: dict[tuple[str, str], ExtractedMemory] = {}
    for memory in found:
        unique.setdefault((memory.memory_type, memory.canonical_text.lower()), memory)
    return list(unique.values())


def correction_time(text: str, now: datetime) -> datetime | None:
    """The new time of "actually, make it Friday at 6" (None when the text corrects nothing)."""
    if not _CORRECTION.match(text):
        return None
    from mira.assistant.timeparse import find_time

    # "move it to 7": a bare number after "to" is a clock time here.
    found = find_time(text, now) or find_time(re.sub(r"\bto\s+(?=\d)", "at ", text), now)
    return None if found is None else found.when


def asked_to_remember(what: str) -> ExtractedMemory:
    """What someone told Mira to remember: confirmed, as a preference when it reads as one."""
    sentence = what.strip().rstrip(".!")
    sentence = sentence[:1].upper() + sentence[1:]
    kind = "preference" if _preference(sentence) is not None else "fact"
    return ExtractedMemory(kind, sentence, confidence=1.0, status="confirmed")


_STOPWORD_TEXT = (
    "a an the my our your his her their its of to in on at for with and or about is are was "
    "were be do does did i me we you he she it they them what when where who which how any "
    "anything something remember know said say tell told again please mira plans plan"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def recall_terms(query: str) -> list[str]:
    """The words of a question worth matching ("what do you know about Anna's birthday" →
    anna, birthday)."""
    words = re.findall(r"[a-z0-9à-ÿ]+", query.lower().replace("'s", ""))
    return [w for w in words if w not in _STOPWORDS and len(w) > 1]


def relevance(terms: list[str], text: str) -> int:
    """How many of the terms the memory's text holds (whole words, a plural 's' ignored)."""
    words = {w.removesuffix("s") for w in re.findall(r"[a-z0-9à-ÿ]+", text.lower())}
    return sum(1 for term in terms if term.removesuffix("s") in words)
