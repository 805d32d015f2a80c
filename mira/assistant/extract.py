"""The offline action extractor: clear commitments in a transcript become actions.

Without an LLM, precision matters more than recall: a wrong reminder annoys more than a missed
one. So a clause yields an action only when it *opens* with a commitment form:

- remind: an explicit request ("remind me to/about/that …", "set a reminder (for 5) to …");
- schedule: an event with a time — "schedule/book/arrange …", "put … in my calendar",
  "let's meet/have/grab … at 3", "I have a dentist appointment on Monday at 9",
  "we're meeting Sam at 4"; an event without a time is not yet a commitment;
- contact: a request to the assistant to reach someone — "text/message/email/call NAME …",
  "send a message to NAME …", "tell NAME …", "let NAME know …", "give NAME a call";
- task: the speaker's own commitment — "I'll / I need to / I have to / I've got to / I'm going to
  / we need to …", "don't forget to …", "remember to …", "add … to my (shopping) list".
  A first-person promise with a time ("I'll call the dentist tomorrow") is a task with a `due`,
  not a reminder: only an explicit "remind me" asks for a reminder. Shopping-list items become
  "buy …". "I should …" is advice or a wish, not a promise, and yields nothing; "I'm going to
  the gym" is the task "go to the gym"; "I'll do it" yields a task only when the turns before
  say what "it" is.

Anything else yields nothing: questions ("did you remind him?"), past tense ("I called mom"),
hypotheticals ("if I had time I would …", "maybe I'll …"), reported speech ("she said she'd …"),
negations ("don't remind me", "I won't …"), statements about other people, and small talk.
Requests phrased as questions to the assistant ("can you call Grandma?") still count.

Times resolve with `mira.assistant.timeparse` against the moment said; a schedule without an
end lasts an hour. "it"/"that" as the thing to do is looked up in the recent turns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from mira.assistant.timeparse import TimeMatch, find_time, strip_time
from mira.assistant.types import EarlierUtterance, ExtractedAction
from mira.assistant.wakeword import DEFAULT_WAKE_WORDS, find_wake_word

DEFAULT_EVENT_LENGTH = timedelta(hours=1)

_F = re.IGNORECASE

# --------------------------------------------------------------------------- clause handling

_ABBREVIATIONS = re.compile(r"\b(?:mr|mrs|ms|dr|prof|st|[ap]\.m)\.$", _F)
_TITLE_END = re.compile(r"\b(?:mr|mrs|ms|dr|prof|st)\.$", _F)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_SPLIT_ON_AND = re.compile(
    r",?\s+(?:and\s+(?:then\s+|also\s+)?|then\s+|also\s+)(?=(?:remind\s+me|set\s+a\s+reminder|"
    r"i'll|i\s+will|i\s+need\s+to|i\s+have\s+to|i've\s+got\s+to|i\s+must|we\s+need\s+to|"
    r"don't\s+forget|do\s+not\s+forget|schedule|let's)\b)",
    _F,
)
_LEAD_FILLER = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|oh|um|uh|erm|well|and|also|alright|right|anyway|then|"
    r"yes|yeah|yep|yup|sure|fine|great|cool|perfect|good|sounds\s+good|no\s+problem|"
    r"oh\s+and|by\s+the\s+way)\b[\s,.!:-]*)+",
    _F,
)
_REQUEST_PREFIX = re.compile(
    r"^(?:please\s+)?(?:(?:can|could|would|will)\s+(?:you|u)(?:\s+please)?|"
    r"i\s+(?:want|need|would\s+like|'d\s+like)\s+you\s+to|i'd\s+like\s+you\s+to|please)"
    r"[\s,]+",
    _F,
)
_QUESTION_START = re.compile(
    r"^(?:did|do|does|have|has|had|is|are|was|were|should|shall|will|would|can|could|may|"
    r"might|what|what's|whats|when|where|who|whom|why|how|which|whose|isn't|aren't|didn't|"
    r"doesn't|haven't|hasn't|wasn't|weren't|won't|wouldn't|shouldn't|couldn't|can't|am)\b",
    _F,
)
_NEGATED_START = re.compile(
    r"^(?:don't|do\s+not|dont|never|no\s+need|stop|cancel|forget\s+(?:it|about)|no\b|not\b)", _F
)
_TRAILING_NOISE = re.compile(
    r"(?:[\s,]+(?:please|thanks|thank\s+you|for\s+me|ok|okay|will\s+you|would\s+you|"
    r"alright|right|too|as\s+well|mira)\b|[\s,.;:!?…\"-]+)+$",
    _F,
)
_FILLERS = frozenset({"please", "thanks", "thank you", "ok", "okay", "now", "for me"})
_DANGLING_PREPOSITION = re.compile(r"\s+(?:at|on|by|in|for|from|until|to|around)$", _F)


def _clauses(text: str) -> list[str]:
    """Sentences and ", and then …" parts, so one utterance may carry several commitments."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        previous = sentences[-1] if sentences else ""
        # "5 p.m. to call" and "Dr. Klein" are one sentence; "at 5 p.m. Then …" are two.
        if _TITLE_END.search(previous) or (
            _ABBREVIATIONS.search(previous) and not piece[:1].isupper()
        ):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    clauses: list[str] = []
    for sentence in sentences:
        clauses.extend(part for part in _SPLIT_ON_AND.split(sentence) if part.strip())
    return clauses


def _tidy(phrase: str) -> str:
    """A description without trailing fillers, punctuation or a dangling "at"."""
    phrase = phrase.strip()
    previous = None
    while phrase != previous:
        previous = phrase
        phrase = _TRAILING_NOISE.sub("", phrase).strip()
        phrase = _DANGLING_PREPOSITION.sub("", phrase).strip()
        phrase = re.sub(r"^(?:to|that|about|of|:|-|,)\s+", "", phrase, flags=_F).strip()
    return "" if phrase.lower() in _FILLERS else phrase


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --------------------------------------------------------------------------- names

_PRONOUNS = frozenset(
    {"me", "it", "that", "this", "them", "him", "her", "us", "you", "everyone", "somebody",
     "someone", "anybody", "anyone", "back", "off", "up", "out", "myself", "yourself", "a",
     "an", "the", "i", "i'm", "i'll", "i've", "i'd", "to", "about", "and", "later", "again",
     "now", "tomorrow", "today", "tonight", "in", "at", "on"}
)  # fmt: skip
_TITLES = r"(?i:mr|mrs|ms|miss|dr|doctor|prof|professor|aunt|auntie|uncle|grandma|grandpa|cousin)"
_KIN = r"(?i:my|our|his|her|their|the)"
_NAME = re.compile(
    r"(?P<name>" + _KIN + r"\s+[\w'-]+|" + _TITLES + r"\.?\s+[A-Z][\w'-]*|"
    r"[A-Z][\w'-]*(?:\s+(?!I\b|I'|The\b|A\b)[A-Z][\w'-]*){0,2}|[\w'-]+)",
)


def _take_name(rest: str) -> tuple[str, str] | None:
    """Split "John that I'm late" into ("John", "that I'm late"); None when no one is named."""
    match = _NAME.match(rest)
    if not match:
        return None
    name = match.group("name").rstrip(",.:;")
    if name.lower() in _PRONOUNS or name.split()[0].lower() in ("me", "it", "that", "this"):
        return None
    return name, rest[match.end() :]


# --------------------------------------------------------------------------- patterns

_REMIND = re.compile(
    r"^(?:remind\s+me|(?:set|create|add|make|put\s+in|give\s+me)\s+(?:me\s+)?(?:a|an)\s+"
    r"reminder|new\s+reminder|reminder)\b[\s,:]*(?:(?P<link>to|about|that|of|for)\b\s*)?"
    r"(?P<what>.*)$",
    _F,
)
_REMIND_SOMEONE = re.compile(
    r"^remind\s+(?P<rest>(?!me\b).+?)\s+(?:to|that|about)\s+(?P<what>.+)$", _F
)
_FORGET = re.compile(
    r"^(?:(?:don't|do\s+not|dont)\s+(?:let\s+me\s+)?forget|remember|make\s+sure)\s+"
    r"(?:to\s+|that\s+(?:i|we)\s+|about\s+|you\s+)?(?P<what>.+)$",
    _F,
)
_LIST = re.compile(
    r"^(?:add|put|write|stick)\s+(?P<item>.+?)\s+(?:to|on|onto|in|into)\s+(?:my|the|our)\s+"
    r"(?P<list>shopping\s+list|grocery\s+list|groceries\s+list|groceries|to-?\s?do\s+list|"
    r"to-?\s?dos|tasks?|task\s+list|list)\b(?P<tail>.*)$",
    _F,
)
_NEW_TASK = re.compile(
    r"^(?:(?:add|create|make|new|set)\s+(?:a\s+|me\s+a\s+)?(?:task|to-?\s?do|note)|note\s+to\s+self|"
    r"make\s+a\s+note|to-?\s?do)\b\s*(?:to|:|called|that|-)?\s*(?P<what>.+)$",
    _F,
)
_CALENDAR = re.compile(
    r"^(?:put|add|pop|write|stick)\s+(?P<name>.+?)\s+(?:in|on|into|onto|to)\s+(?:my|the|our)\s+"
    r"(?:calendar|diary|schedule|agenda)\b(?P<tail>.*)$",
    _F,
)
_EVENT_NOUN = (
    r"(?:meeting|meet-up|meetup|call|appointment|appt|lunch|dinner|breakfast|brunch|coffee|"
    r"drinks|session|interview|event|party|review|catch-up|catchup|sync|stand-?up|date|class|"
    r"lesson|game|visit|check-?up|consultation|conference|viewing|haircut|reservation|table|"
    r"workshop|webinar|presentation|demo|practice|rehearsal|training|match|playdate|chat)s?"
)
_SCHEDULE_ANYTHING = re.compile(
    r"^(?:schedule|arrange)\s+(?:me\s+)?(?:in\s+)?(?P<name>.+)$",
    _F,
)
_SCHEDULE = re.compile(
    r"^(?:book|organi[sz]e|set\s+up|plan|fix\s+up|make|create|add)\s+(?:me\s+)?"
    r"(?P<name>(?:[\w'-]+\s+){0,4}?" + _EVENT_NOUN + r"\b.*)$",
    _F,
)
_LETS = re.compile(
    r"^(?:let's|lets|let\s+us)\s+(?P<verb>meet(?:\s+up)?|get\s+together|catch\s+up|have|grab|do|"
    r"go\s+for|get|play|hang\s+out)\b\s*(?P<what>.*)$",
    _F,
)
_HAVE_EVENT = re.compile(
    r"^(?:i|we)\s*(?:have|'ve\s+got|'ve|have\s+got|got)\s+(?:a|an|the|my|our|this)\s+"
    r"(?P<name>(?:[\w'-]+\s+){0,3}?" + _EVENT_NOUN + r"\b.*)$",
    _F,
)
_MY_EVENT_IS = re.compile(
    r"^(?:my|our|the)\s+(?P<name>(?:[\w'-]+\s+){0,3}?" + _EVENT_NOUN + r")\s+is\b(?P<tail>.*)$",
    _F,
)
_MEETING_SOMEONE = re.compile(
    r"^(?:i'm|i\s+am|we're|we\s+are)\s+(?P<verb>meeting(?:\s+up\s+with|\s+with)?|seeing|"
    r"having)\s+(?P<what>.+)$",
    _F,
)
_ADVERBS = (
    r"(?:(?:really|definitely|still|also|just|absolutely|seriously|actually|totally|first|then|"
    r"probably|maybe|perhaps|finally|quickly|surely|certainly)\s+)*"
)
_MOTION = re.compile(
    r"^(?:the|a|an|my|our|his|her|their|bed|school|work|church|town|class|lunch|dinner)\b", _F
)
_FIRST_PERSON = re.compile(
    r"^(?:i\s+(?:promise|swear)\s+(?:that\s+)?|i\s+think\s+(?=we\s+need\b|i\s+need\b))?"
    r"(?:i|we)\s+" + _ADVERBS + r"(?:will|shall|need\s+to|have\s+to|have\s+got\s+to|"
    r"got\s+to|must|am\s+going\s+to|are\s+going\s+to)\s+"
    + _ADVERBS
    + r"(?:(?:make\s+sure\s+to|make\s+sure\s+i|remember\s+to|try\s+and|go\s+and)\s+)?"
    r"(?P<what>.+)$",
    _F,
)
_GOING_TO = re.compile(r"\bgoing\s+to\s+$", _F)
_CONTRACTIONS = (
    (re.compile(r"\b(i|we)'ll\b", _F), r"\1 will"),
    (re.compile(r"\bi'm\b", _F), "I am"),
    (re.compile(r"\bwe're\b", _F), "we are"),
    (re.compile(r"\b(i|we)'ve\b", _F), r"\1 have"),
    (re.compile(r"\bgonna\b", _F), "going to"),
    (re.compile(r"\bgotta\b", _F), "got to"),
)


def _expand_contractions(phrase: str) -> str:
    for pattern, replacement in _CONTRACTIONS:
        phrase = pattern.sub(replacement, phrase)
    return phrase


_HEDGES = re.compile(r"\b(?:probably|maybe|perhaps|might)\b", _F)
# First-person verb phrases that promise nothing to do ("I'll be there", "I'll see").
_NOT_A_TASK = re.compile(
    r"^(?:not|never|be|been|see|think|guess|try|wait|know|let\s+you|let\s+him|let\s+her|have\s+"
    r"(?:a|the|some|to\s+see)|like|love|want|miss|take\s+care|sleep|eat|go(?:\s+now)?$|"
    r"get\s+going|head\s+off|survive|manage|figure|leave(?:\s+now)?$|ask\s+around|pass|"
    r"keep\s+that\s+in\s+mind|bet|talk$|chat$)\b",
    _F,
)
_CONTACT_FORMS = (
    (r"^(?:text|message|msg|sms|whatsapp|ping|dm)\s+(?P<rest>.+)$", "message"),
    (r"^send\s+(?:a\s+)?(?:message|text|note|sms|msg)\s+to\s+(?P<rest>.+)$", "message"),
    (r"^send\s+(?P<rest>.+?)\s+an?\s+(?:message|text|note|sms)\b(?P<body>.*)$", "message"),
    (r"^send\s+(?:an\s+)?e-?mail\s+to\s+(?P<rest>.+)$", "email"),
    (r"^send\s+(?P<rest>.+?)\s+an?\s+e-?mail\b(?P<body>.*)$", "email"),
    (r"^(?:e-?mail|write\s+to|write\s+an\s+e-?mail\s+to)\s+(?P<rest>.+)$", "email"),
    (r"^(?:call|phone|ring|dial|facetime|video\s+call)\s+(?P<rest>.+)$", "call"),
    (r"^give\s+(?P<rest>.+?)\s+a\s+(?:call|ring|buzz|bell)\b(?P<body>.*)$", "call"),
    (r"^(?:tell|inform)\s+(?P<rest>.+)$", "message"),
    (r"^let\s+(?P<rest>.+?)\s+know\b(?P<body>.*)$", "message"),
    (r"^ask\s+(?P<rest>.+)$", "message"),
)
_CONTACT_PATTERNS = tuple((re.compile(form, _F), method) for form, method in _CONTACT_FORMS)
_BODY_LINK = re.compile(
    r"^[\s,:-]*(?:(?:that|saying|to\s+say|and\s+say|and\s+tell\s+(?:him|her|them)(?:\s+that)?|"
    r"about|regarding|re)\b[\s,:]*)?",
    _F,
)
_DURATION = re.compile(
    r"\bfor\s+(?P<amount>an?|half\s+an?|\d+(?:\.\d+)?|one|two|three|four)\s+"
    r"(?P<unit>minutes?|mins?|hours?|hrs?)\b",
    _F,
)
_LOCATION = re.compile(
    r"\s+(?:at|in)\s+(?P<place>(?:the|a|my|our|his|her|their)\s+[\w'-]+(?:\s+[\w'-]+){0,2}|"
    r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2}|[\w-]+'s|home|work|school|church|the\s+office)\s*$",
)
_REFERENCE = re.compile(r"^(?:(?:do|finish|handle|sort)\s+)?(?:it|that|this)(?:\s+too)?$", _F)
_CONTEXT_TODO = re.compile(
    r"\b(?:need|needs|have|has|got|should|must|want|wants|ought|gotta|going)\s+to\s+"
    r"(?P<what>[^.?!;]+)|\blet's\s+(?P<lets>[^.?!;]+)|\b(?:we|you|i)\s+should\s+(?P<should>[^.?!;]+)",
    _F,
)


# --------------------------------------------------------------------------- builders


def _remind(description: str, when: TimeMatch | None, confidence: float) -> ExtractedAction:
    moment = when.when if when else None
    return ExtractedAction(
        "remind",
        {"time": _iso(moment), "description": description},
        scheduled_time=moment,
        confidence=confidence,
    )


def _task(description: str, when: TimeMatch | None, confidence: float) -> ExtractedAction:
    details: dict[str, Any] = {"description": description}
    moment = when.when if when else None
    if moment:
        details["due"] = _iso(moment)
    return ExtractedAction("task", details, scheduled_time=moment, confidence=confidence)


def _schedule(name: str, when: TimeMatch, clause: str, confidence: float) -> ExtractedAction | None:
    """An event from its spoken name; the location and length are taken from the name's tail."""
    name = _tidy(name)
    start = when.when
    length = DEFAULT_EVENT_LENGTH
    duration = _DURATION.search(name)
    if duration:
        length = _duration(duration) or length
        name = _tidy(name[: duration.start()] + name[duration.end() :])
    location = None
    found = _LOCATION.search(" " + name)
    if found:
        location = found.group("place")
        name = _tidy((" " + name)[: found.start()])
    name = re.sub(r"^(?:a|an|the|our|my|this)\s+", "", name, flags=_F).strip()
    if not name:
        return None
    details: dict[str, Any] = {
        "start_time": _iso(start),
        "end_time": _iso(start + length),
        "name": name,
    }
    if location:
        details["location"] = location
    return ExtractedAction("schedule", details, scheduled_time=start, confidence=confidence)


def _duration(match: re.Match[str]) -> timedelta | None:
    amount_text = match.group("amount").lower()
    words = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}
    if amount_text.startswith("half"):
        amount = 0.5
    elif amount_text in words:
        amount = float(words[amount_text])
    else:
        amount = float(amount_text)
    if match.group("unit").lower().startswith("m"):
        return timedelta(minutes=amount)
    return timedelta(hours=amount)


def _resolve_reference(description: str, context: Sequence[EarlierUtterance], now: datetime) -> str:
    """Replace "it"/"that" by the newest thing-to-do said in the recent turns, when there is one."""
    if description and not _REFERENCE.match(description):
        return description
    for turn in reversed(context):
        for match in _CONTEXT_TODO.finditer(turn.text):
            what = next(g for g in match.groups() if g)
            found = find_time(what, now)  # only to cut the time words out
            if found:
                what = strip_time(what, found)
            what = _tidy(re.sub(r"^(?:really|definitely|probably|also|just)\s+", "", what))
            if what and not _REFERENCE.match(what):
                return what
    return description


# --------------------------------------------------------------------------- one clause


def _contact(clause: str, now: datetime) -> ExtractedAction | None:
    for pattern, method in _CONTACT_PATTERNS:
        match = pattern.match(clause)
        if not match:
            continue
        taken = _take_name(match.group("rest"))
        if not taken:
            return None
        name, rest = taken
        body = match.groupdict().get("body")
        if body is None:
            body = rest
        elif rest.strip():
            return None  # "send X a message" left words between name and "a message"
        moment = None
        if method == "call" or not body.strip():
            when = find_time(body, now)
            if when:
                moment = when.when
                body = strip_time(body, when)
        details = _tidy(_BODY_LINK.sub("", body, count=1))
        if method == "call":
            details = re.sub(r"^back\b\s*", "", details, flags=_F)
        if pattern.pattern.startswith("^ask"):
            if not re.match(
                r"(?:to|if|whether|when|what|where|how|about|for|why|who)\b", details, _F
            ):
                return None
            details = "Ask " + details if details else details
        if method == "message" and not details:
            return None  # "tell Ben" says nothing to send
        return ExtractedAction(
            "contact",
            {"name": name, "method": method, "details": details},
            scheduled_time=moment,
            confidence=0.9,
        )
    return None


def _schedule_clause(clause: str, timed: str, when: TimeMatch | None) -> ExtractedAction | None:
    """Events: they need a time to be a commitment."""
    if when is None:
        return None
    calendar = _CALENDAR.match(timed)
    if calendar:
        return _schedule(calendar.group("name") + calendar.group("tail"), when, clause, 0.9)
    scheduled = _SCHEDULE_ANYTHING.match(timed) or _SCHEDULE.match(timed)
    if scheduled:
        return _schedule(scheduled.group("name"), when, clause, 0.9)
    lets = _LETS.match(timed)
    if lets:
        verb, what = lets.group("verb").lower(), lets.group("what")
        if verb.startswith(("meet", "get together", "catch up", "hang out")):
            what = _tidy(what)
            location = _LOCATION.search(" " + what)
            who = _tidy((" " + what)[: location.start()]) if location else what
            tail = (" " + what)[location.start() :] if location else ""
            label = "Catch-up" if verb.startswith("catch") else "Meeting"
            who = re.sub(r"^(?:up\s+)?with\s+", "", who, flags=_F)
            name = f"{label} with {who}" if who else label
            return _schedule(name + tail, when, clause, 0.8)
        if _tidy(what):
            return _schedule(what, when, clause, 0.8)
        return None
    have = _HAVE_EVENT.match(timed)
    if have:
        return _schedule(have.group("name"), when, clause, 0.8)
    mine = _MY_EVENT_IS.match(timed)
    if mine:
        return _schedule(mine.group("name") + mine.group("tail"), when, clause, 0.8)
    meeting = _MEETING_SOMEONE.match(timed)
    if meeting:
        verb, what = meeting.group("verb").lower(), _tidy(meeting.group("what"))
        if verb.startswith("having"):
            return _schedule(what, when, clause, 0.8) if re.search(_EVENT_NOUN, what, _F) else None
        return _schedule(f"Meeting with {what}", when, clause, 0.8)
    return None


def _extract_clause(
    clause: str, now: datetime, context: Sequence[EarlierUtterance], wake_words: Sequence[str]
) -> ExtractedAction | None:
    wake = find_wake_word(clause, wake_words)
    if wake is not None:
        clause = wake.command
    clause = _LEAD_FILLER.sub("", clause.strip())
    request = _REQUEST_PREFIX.match(clause)
    if request:
        clause = clause[request.end() :]
        clause = _LEAD_FILLER.sub("", clause)
    clause = clause.strip()
    if not clause:
        return None

    forget = _FORGET.match(clause)
    if forget:
        what = forget.group("what")
        when = find_time(what, now)
        description = _tidy(strip_time(what, when) if when else what)
        description = _resolve_reference(description, context, now)
        return _task(description, when, 0.85) if description else None
    if _NEGATED_START.match(clause):
        return None
    if not request and (clause.rstrip().endswith("?") or _QUESTION_START.match(clause)):
        return None

    when = find_time(clause, now)
    timed = strip_time(clause, when) if when else clause

    remind = _REMIND.match(timed)
    if remind:
        description = _resolve_reference(_tidy(remind.group("what")), context, now)
        if not description and when is None:
            return None
        return _remind(description or "Reminder", when, 0.95)
    someone = _REMIND_SOMEONE.match(timed)
    if someone:
        taken = _take_name(someone.group("rest"))
        if taken and not taken[1].strip():
            what = _tidy(someone.group("what"))
            return ExtractedAction(
                "contact",
                {"name": taken[0], "method": "message", "details": f"Reminder: {what}"},
                scheduled_time=when.when if when else None,
                confidence=0.8,
            )

    listed = _LIST.match(timed)
    if listed:
        item = _tidy(listed.group("item"))
        if not item:
            return None
        if re.match(r"(?:shopping|grocery|groceries)", listed.group("list"), _F) and not re.match(
            r"buy\b|get\b|pick\s+up\b", item, _F
        ):
            item = f"buy {item}"
        return _task(item, when, 0.9)
    new_task = _NEW_TASK.match(timed)
    if new_task:
        description = _tidy(new_task.group("what"))
        return _task(description, when, 0.9) if description else None

    scheduled = _schedule_clause(clause, timed, when)
    if scheduled:
        return scheduled
    contact = _contact(clause, now)
    if contact:
        return contact

    expanded = _expand_contractions(timed)
    promise = _FIRST_PERSON.match(expanded)
    if promise and not _HEDGES.search(expanded[: promise.start("what")]):
        what = _tidy(promise.group("what"))
        if _NOT_A_TASK.match(what):
            return None
        if _GOING_TO.search(expanded[: promise.start("what")]) and _MOTION.match(what):
            what = f"go to {what}"  # "I'm going to the gym" is a plan to go there
        meet = re.match(r"meet(?:\s+up)?(?:\s+with)?\s+(?P<who>.+)$", what, _F)
        if meet and when is not None:
            return _schedule(f"Meeting with {meet.group('who')}", when, clause, 0.75)
        description = _resolve_reference(what, context, now)
        if _REFERENCE.match(description):
            return None  # "I'll do it" with nothing said before to do
        return _task(description, when, 0.75) if description else None
    return None


def extract_actions(
    text: str,
    now: datetime,
    context: Sequence[EarlierUtterance] = (),
    *,
    wake_words: Sequence[str] = DEFAULT_WAKE_WORDS,
) -> list[ExtractedAction]:
    """The clear commitments in `text`, said at `now` (aware, in the network's time zone).

    `context` holds earlier turns of the conversation, oldest first; it only serves to resolve
    "it"/"that" ("remind me to do that tomorrow"). A wake word opening a clause (the network's
    `wake_words`) is skipped, so "Mira, remind me …" is read as "remind me …".
    """
    actions: list[ExtractedAction] = []
    for clause in _clauses(text.replace("\u2019", "'")):
        action = _extract_clause(clause, now, context, wake_words)
        if action is None:
            continue
        if any(
            a.action_type == action.action_type and a.details == action.details for a in actions
        ):
            continue
        actions.append(action)
    return actions
