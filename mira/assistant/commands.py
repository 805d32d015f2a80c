"""Offline answers to "Mira, …" commands.

Without a language model the assistant still handles what a room assistant is asked most: the
time and date, the network's status, going quiet, and creating reminders, events, tasks and
messages (through the same rules as action extraction, so a command and a remark produce the
same action). Answers are one or two short sentences, ready to be spoken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mira.assistant.extract import extract_actions
from mira.assistant.types import CommandResult, ExtractedAction
from mira.assistant.wakeword import DEFAULT_WAKE_WORDS, find_wake_word

_F = re.IGNORECASE

_STOP = re.compile(
    r"^(?:(?:ok|okay|please|mira|hey)\s+)*(?:stop(?:\s+listening|\s+recording|\s+it)?|"
    r"go\s+to\s+sleep|sleep|be\s+quiet|quiet|shut\s+up|hush|pause(?:\s+listening)?|mute|"
    r"turn\s+off|switch\s+off|stop\s+(?:listening|recording)\s+to\s+(?:me|us)|"
    r"(?:you\s+can\s+)?stop\s+listening|that's\s+enough)"
    r"(?:\s+(?:now|please|mira|for\s+now|for\s+a\s+while|thanks|thank\s+you))*$",
    _F,
)
_TIME_QUESTION = re.compile(
    r"\b(?:what(?:'s|\s+is)?\s+the\s+time|what\s+time\s+is\s+it|tell\s+me\s+the\s+time|"
    r"(?:do\s+you\s+)?(?:know|have)\s+the\s+time|^time(?:\s+please)?$|current\s+time)\b",
    _F,
)
_DATE_QUESTION = re.compile(
    r"\b(?:what(?:'s|\s+is)?\s+(?:the\s+|today's\s+)?date|what\s+day\s+is\s+(?:it|today)|"
    r"which\s+day\s+is\s+(?:it|today)|what(?:'s|\s+is)\s+today|"
    r"what(?:'s|\s+is)\s+the\s+day(?:\s+today)?\s*\??$)",
    _F,
)
_STATUS_QUESTION = re.compile(
    r"\b(?:status|how\s+many\s+(?:people|persons|clients|devices|microphones|mics|actions|"
    r"reminders)|who(?:'s|\s+is)\s+(?:here|connected|listening)|are\s+you\s+(?:listening|on|"
    r"there|working)|pending\s+actions)\b",
    _F,
)
_SCHEDULE_REQUEST = re.compile(
    r"^(?:please\s+)?(?:(?:can|could|would|will)\s+you\s+)?(?:schedule|book|arrange|set\s+up|"
    r"let's\s+meet|put\s+.+\s+in\s+my\s+calendar|add\s+.+\s+to\s+my\s+calendar)\b(?P<what>.*)$",
    _F,
)
_MESSAGE_REQUEST = re.compile(
    r"^(?:please\s+)?(?:(?:can|could|would|will)\s+you\s+)?(?:text|message|tell|email|e-mail)\s+"
    r"(?!(?:me|us|you|him|her|them|it|that|this)\b)(?P<name>[\w' .-]+?)[?.!]*$",
    _F,
)
_REMEMBER_REQUEST = re.compile(
    r"^(?:please\s+)?(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?(?:remember|"
    r"keep\s+in\s+mind|don't\s+forget|do\s+not\s+forget|make\s+a\s+note|note)\s+"
    r"(?:that\s+)?(?!(?:to|when|what|where|who|how|if|whether|me|us|this|it)\b)(?P<what>.{3,})$",
    _F,
)
# Questions answered from the network's memories (the topic is what to look for).
_RECALL_QUESTIONS = [
    re.compile(
        r"^(?:what|anything)\s+(?:do|did)\s+(?:you|we)\s+(?:know|remember|have)\s+"
        r"(?:about|on|of|regarding)\s+(?P<topic>.+)$",
        _F,
    ),
    re.compile(
        r"^(?:do|did)\s+you\s+(?:know|remember)\s+(?:anything\s+)?(?:about\s+)?"
        r"(?P<topic>.+)$",
        _F,
    ),
    re.compile(r"^what\s+did\s+[\w']+\s+(?:say|tell\s+you|mention)\s+about\s+(?P<topic>.+)$", _F),
    re.compile(r"^(?:when|where)(?:'s|\s+is|\s+are|\s+was|\s+were)\s+(?P<topic>.+)$", _F),
    re.compile(r"^what(?:'s|\s+is|\s+are|\s+were)\s+(?P<topic>(?:my|our|[\w-]+'s)\s+.+)$", _F),
    re.compile(r"^what\s+do\s+you\s+remember(?P<topic>)$", _F),
]
_YOUR = {
    "my": "your", "me": "you", "i": "you", "myself": "yourself", "mine": "yours",
    "i'm": "you're", "i've": "you've", "i'll": "you'll", "i'd": "you'd", "am": "are",
}  # fmt: skip


def for_listener(phrase: str) -> str:
    """The speaker's words turned to the listener ("take my pills" → "take your pills")."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        return _YOUR.get(word.lower(), word)

    return re.sub(r"[A-Za-z']+", swap, phrase)


def clock_text(moment: datetime) -> str:
    """12-hour clock as assistants say it: "5:00 PM"."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def describe_when(moment: datetime, now: datetime) -> str:
    """When, relative to now: "today at 5:00 PM", "tomorrow at …", "on Friday at …"."""
    moment = moment.astimezone(now.tzinfo)
    days = (moment.date() - now.date()).days
    clock = clock_text(moment)
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if 1 < days < 7:
        return f"on {moment:%A} at {clock}"
    day = f"{moment:%B} {moment.day}"
    if moment.year != now.year:
        day += f", {moment.year}"
    return f"on {day} at {clock}"


def _when_phrase(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    phrase = describe_when(moment, now)
    return " " + phrase.removeprefix("today ")


def _confirmation(action: ExtractedAction, now: datetime) -> str:
    details = action.details
    when = _when_phrase(action.scheduled_time, now)
    if action.action_type == "remind":
        description = for_listener(details.get("description") or "")
        link = (
            "about"
            if re.match(r"(?:the|a|an|my|your|our|his|her|their)\b", description, _F)
            else "to"
        )
        if not when:
            return f"OK, I've noted a reminder {link} {description}; it has no time yet."
        return f"OK, I'll remind you {link} {description}{when}."
    if action.action_type == "schedule":
        place = f" at {details['location']}" if details.get("location") else ""
        name = for_listener(details["name"])
        return f'OK, I\'ve scheduled "{name[:1].upper() + name[1:]}"{when}{place}.'
    if action.action_type == "task":
        due = f", due{when}" if when else ""
        return f'OK, I\'ve added "{for_listener(details["description"])}" to your tasks{due}.'
    name = for_listener(details["name"])
    message = details.get("details") or ""  # the words to send stay as they were said
    # Mira sends nothing itself: it says so, and keeps the contact as an action to follow up.
    if details["method"] == "call":
        return f"I can't place calls, so I've noted it for you: call {name}{when}."
    verb = "email" if details["method"] == "email" else "message"
    said = f': "{message}"' if message else ""
    cannot = "send e-mail" if verb == "email" else "send messages"
    return f"I can't {cannot} myself, so I've noted it for you: {verb} {name}{when}{said}."


def _status_text(status: Mapping[str, Any] | None) -> str:
    if not status:
        return "I can't see the network's status right now."

    def count(key: str, one: str, many: str) -> str | None:
        value = status.get(key)
        if value is None:
            return None
        return f"{value or 'no'} {one if value == 1 else many}"

    parts = [
        count("persons", "person known", "people known"),
        count("clients", "client connected", "clients connected"),
        count("pending_actions", "action pending", "actions pending"),
    ]
    said = [p for p in parts if p]
    sentence = ""
    if said:
        listed = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
        sentence = listed[0].upper() + listed[1:] + "."
    enabled = status.get("service_enabled")
    if enabled is not None:
        sentence += " I'm listening." if enabled else " Listening is switched off."
    return sentence.strip() or "I can't see the network's status right now."


def answer_command(
    command: str,
    now: datetime,
    status: Mapping[str, Any] | None = None,
    *,
    wake_words: Sequence[str] = DEFAULT_WAKE_WORDS,
) -> CommandResult:
    """What Mira answers to `command` (the words after the wake word), said at `now`.

    `status` describes the network for "status" questions: persons, clients, pending_actions,
    service_enabled (any may be missing). A wake word left at the start (one of `wake_words`) is
    skipped.
    """
    text = command.strip()
    wake = find_wake_word(text, wake_words)
    if wake is not None:
        text = wake.command
    plain = re.sub(r"[^\w' ]+", " ", text).strip()
    plain = re.sub(r"\s+", " ", plain)
    if not plain:
        return CommandResult("unknown", "Yes? I'm listening.")
    if _STOP.match(plain):
        return CommandResult("stop_listening", "OK, I'll stop listening.", disable_service=True)

    asks_time, asks_date = _TIME_QUESTION.search(plain), _DATE_QUESTION.search(plain)
    if asks_time or asks_date:
        local = now
        answers = []
        if asks_time:
            answers.append(f"It's {clock_text(local)}.")
        if asks_date:
            answers.append(f"Today is {local:%A}, {local:%B} {local.day}.")
        return CommandResult("time", " ".join(answers))

    for question in _RECALL_QUESTIONS:
        asked = question.match(plain)
        if asked:
            return CommandResult("recall", "", recall=asked.group("topic").strip())

    actions = extract_actions(text, now, wake_words=wake_words)
    told = _REMEMBER_REQUEST.match(text.strip())
    # "Remember that Bob likes tea" is something to keep; "remember that I see Bob at 5" is
    # still a commitment with a time, and becomes its action.
    if told and not any(action.scheduled_time for action in actions):
        what = told.group("what").strip().rstrip(".!")
        return CommandResult(
            "remember", f"OK, I'll remember that {for_listener(what)}.", remember=what
        )
    if actions:
        response = " ".join(_confirmation(action, now) for action in actions)
        return CommandResult(actions[0].action_type, response, actions=list(actions))

    if _STATUS_QUESTION.search(plain):
        return CommandResult("status", _status_text(status))
    if _SCHEDULE_REQUEST.match(text):
        return CommandResult("schedule", "When should I schedule it? Tell me a day and a time.")
    message = _MESSAGE_REQUEST.match(text)
    if message:
        name = for_listener(message.group("name").strip())
        return CommandResult("contact", f"What should I tell {name}?")
    return CommandResult(
        "unknown",
        "Sorry, I can't help with that yet. I can tell the time, set reminders, "
        "schedule events, add tasks, note messages for you to send, and remember things.",
    )


def recall_answer(topic: str, remembered: Sequence[str]) -> str:
    """The answer to a memory question, from what the search found (never invented)."""
    about = f" about {for_listener(topic)}" if topic else ""
    if not remembered:
        return f"I don't remember anything{about}."
    said = [for_listener(text.rstrip(".")) for text in remembered]
    if len(said) == 1:
        return f"I remember this{about}: {said[0]}."
    return f"Here's what I remember{about}: " + "; ".join(said) + "."
