"""Find the wake word at the start of a transcript.

Whisper transcripts vary in case and punctuation ("Mira, ...", "mira ...", "Hey Mira. ..."), so
the match is made on words, never on substrings: "admiral", "Miranda", "I" and "a" do not wake
Mira (the older Mira's substring test did). The wake word must open the utterance, after at most
a greeting ("hey", "ok", "hi", "hello", "yo") or a filler ("um", "so"); said later in a sentence
("I told Mira yesterday") it is a mention, not a command.

One transcript is not enough to hear a name Whisper does not know: it writes "Mirror", "Meera",
"Myra" or "Mia", or drops the name of a robotic or accented voice altogether. `judge` weighs
what there is — the exact word; a sound-alike opening the utterance, taken as the wake word only
when what follows is a command the assistant understands ("Mirror, what time is it?", never
"Mirror on the wall"); and the acoustic model's own probability that the audio opens with the
wake word (`mira.speech.WakeEvidence`, with what a decode forced to open with it heard next, and
PocketSphinx's phonetic opinion: does the audio fit better with the name before Whisper's
words?) — into a `WakeDecision`: a command, no command, or, when close but not sure, a command
*candidate* that is filed with its evidence so a client can ask. A bare "stop listening" with no
wake word is always a candidate: losing the wake word must never leave Mira listening without a
trace. The name said twice before nothing understood ("Mira, Mira on the wall", Whisper's
"Mirror, mirror…") is a candidate too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mira.speech import Transcript, WakeEvidence

DEFAULT_WAKE_WORDS: tuple[str, ...] = ("mira",)

# Words that may come before the wake word when someone addresses the assistant.
_LEAD_INS = frozenset(
    {"hey", "hi", "hello", "ok", "okay", "oh", "yo", "um", "uh", "erm", "so", "well", "and", "oi"}
)
_MAX_LEAD_INS = 2

_WORD = re.compile(r"[\w']+")
# What may separate the wake word from the command: spaces and punctuation, no letters.
_SEPARATOR = re.compile(r"^[\s,.;:!?\-–—…\"']*")


@dataclass(frozen=True)
class WakeMatch:
    """The wake word heard and what was said after it (empty when it was said alone)."""

    word: str
    command: str


def _normalise(word: str) -> str:
    return word.lower().strip("'")


def find_wake_word(text: str, wake_words: Sequence[str] = DEFAULT_WAKE_WORDS) -> WakeMatch | None:
    """The wake word that opens `text` and the command after it, or None.

    Multi-word wake words ("hey mira", "ok computer") are matched word by word, so any
    punctuation between their words is accepted.
    """
    words = list(_WORD.finditer(text))
    if not words:
        return None
    candidates = sorted(
        (tuple(_normalise(w) for w in _WORD.findall(wake)) for wake in wake_words),
        key=len,
        reverse=True,
    )
    candidates = [c for c in candidates if c]
    for start in range(min(_MAX_LEAD_INS, len(words) - 1) + 1):
        if any(_normalise(w.group()) not in _LEAD_INS for w in words[:start]):
            break
        for wake in candidates:
            end = start + len(wake)
            if end > len(words):
                continue
            if tuple(_normalise(w.group()) for w in words[start:end]) == wake:
                rest = text[words[end - 1].end() :]
                command = rest[_SEPARATOR.match(rest).end() :].strip()
                return WakeMatch(word=" ".join(wake), command=command)
    return None


def lead_ins() -> frozenset[str]:
    """The greeting and filler words that may come before the wake word."""
    return _LEAD_INS


def lead_in_words(text: str) -> list[str]:
    """The greeting or filler words that open `text` ("Hey", "Um, hey"), at most two."""
    words = [_normalise(w) for w in _WORD.findall(text)[:_MAX_LEAD_INS]]
    lead = []
    for word in words:
        if word not in _LEAD_INS:
            break
        lead.append(word)
    return lead


# --------------------------------------------------------------------------- sound-alikes

# How Whisper tiny.en writes "Mira" when it misses it (seen in bench/wake.py), beyond what
# the phonetic key below already finds. Only ever matched as the first word after lead-ins.
SOUND_ALIKES: dict[str, frozenset[str]] = {
    "mira": frozenset({"mirror", "mirrors", "mieira", "meara", "mirage"}),
}
# Words that rhyme with "Mira", as Whisper tiny.en writes the name when it loses it at the start
# of a command ("There are many people out here" for "Mira, how many people are here?", seen in
# bench/wake.py). An utterance opening with one is worth Whisper base's second look even when
# nothing after it is understood (`worth_a_second_look`), and PocketSphinx's opinion
# (`WakeEvidence.phonetic`); the name must then be heard by base or by PocketSphinx.
LOST_NAME_OPENINGS: dict[str, frozenset[str]] = {
    "mira": frozenset({"here", "there", "their", "where"}),
}
_KEY_RULES = (
    ("ph", "f"), ("ck", "k"), ("c", "k"), ("y", "i"), ("ee", "i"), ("ea", "i"), ("ie", "i"),
    ("ei", "i"), ("ai", "e"), ("ay", "e"),
)  # fmt: skip


def _phonetic_key(word: str) -> str:
    """A crude spelling-to-sound key: "Meera", "Myra", "Mirra", "Mirah" all become "mira"."""
    key = word.lower().replace("'", "")
    for old, new in _KEY_RULES:
        key = key.replace(old, new)
    key = re.sub(r"([aeiou])h", r"\1", key)
    key = re.sub(r"(.)\1+", r"\1", key)
    return key


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def sounds_like(heard: str, wake: str) -> bool:
    """Whether one written word may be the one-word wake word misheard.

    The same word is not a sound-alike (that is an exact match); a longer name that only starts
    like it ("Miranda", "Mirabelle") is not either: the keys must be within one edit, and of
    nearly the same length.
    """
    heard, wake = _normalise(heard), _normalise(wake)
    if not heard or heard == wake:
        return False
    if heard in SOUND_ALIKES.get(wake, ()):
        return True
    a, b = _phonetic_key(heard), _phonetic_key(wake)
    if a == b:
        return True
    return len(b) >= 4 and abs(len(a) - len(b)) <= 1 and _edit_distance(a, b) <= 1


@dataclass(frozen=True)
class SoundAlike:
    word: str  # the wake word it may stand for
    heard: str  # as written in the transcript
    command: str  # what follows it
    vocative: bool  # punctuation right after it, as after a name being called ("Mirror, …")


def find_sound_alike(
    text: str, wake_words: Sequence[str] = DEFAULT_WAKE_WORDS
) -> SoundAlike | None:
    """A one-word sound-alike of a wake word opening `text` (after at most two lead-ins)."""
    words = list(_WORD.finditer(text))
    single = [w for w in (_normalise(x) for x in wake_words) if w and " " not in w.strip()]
    for start in range(min(_MAX_LEAD_INS, len(words) - 1) + 1):
        if any(_normalise(w.group()) not in _LEAD_INS for w in words[:start]):
            break
        candidate = words[start]
        for wake in single:
            if sounds_like(candidate.group(), wake):
                rest = text[candidate.end() :]
                separator = _SEPARATOR.match(rest).group()
                return SoundAlike(
                    word=wake,
                    heard=candidate.group(),
                    command=rest[len(separator) :].strip(),
                    vocative=any(ch in ",.;:!?…-–—" for ch in separator),
                )
    return None


# --------------------------------------------------------------------------- the decision

# Acoustic probability (WakeEvidence.probability) from which the wake word is taken as said
# when a decode forced to open with it hears a command the assistant understands, and from which
# a close call becomes a candidate. Set on bench/wake.py's flite voices; see docs/performance.md.
WAKE_PROBABILITY = 0.10
CANDIDATE_PROBABILITY = 0.03
# The same, when PocketSphinx, asked (`WakeEvidence.phonetic`), heard no rival name or look-alike
# opening the utterance: on bench/wake.py's clips, Whisper's 0.03–0.10 with a command understood
# was a dropped "Mira" 15 times and "Miranda called" (the second decode: "Mira, I'm going to
# call…") 3 times, each of which PocketSphinx heard as "Miranda".
UNOPPOSED_WAKE_PROBABILITY = 0.03


@dataclass(frozen=True)
class WakeDecision:
    """`status`: "wake" (a command), "candidate" (close: ask) or "none"."""

    status: str
    word: str | None = None
    command: str | None = None
    heard: str | None = None
    reason: str = ""
    probability: float | None = None
    second_look: bool = False  # decided on a bigger model's transcript (`hear`)

    @property
    def is_command(self) -> bool:
        return self.status == "wake"

    def as_meta(self) -> dict[str, Any]:
        """The evidence, as filed in an interaction's `metadata.wake`."""
        meta: dict[str, Any] = {"status": self.status, "reason": self.reason, "word": self.word}
        if self.heard is not None:
            meta["heard"] = self.heard
        if self.command is not None:
            meta["command"] = self.command
        if self.probability is not None:
            meta["probability"] = self.probability
        if self.second_look:
            meta["second_look"] = True
        return meta


NO_WAKE = WakeDecision("none")


def _intent(command: str, wake_words: Sequence[str]) -> str:
    """The offline assistant's reading of `command` ("unknown" when it understands nothing)."""
    from mira.assistant.commands import answer_command

    if not command.strip():
        return "unknown"
    # The moment only matters for the answer's wording, never for the intent.
    return answer_command(
        command, datetime(2026, 1, 1, 12, tzinfo=UTC), wake_words=wake_words
    ).intent


def understood(text: str, wake_words: Sequence[str] = DEFAULT_WAKE_WORDS) -> bool:
    """Whether the offline assistant finds a command it knows in `text`."""
    return _intent(text, wake_words) != "unknown"


def understood_after_opening(
    text: str, wake_words: Sequence[str] = DEFAULT_WAKE_WORDS, up_to: int = 2
) -> bool:
    """Whether `text`, or what follows its first one to `up_to` words after any lead-in, is a
    command the assistant understands: what `mira.speech.sphinx.WakeSpotter` can make a
    command of when it hears the wake word there instead (Whisper writes a name it does not
    know as "Here are…", "You're a…": "here are text John that I am running late")."""
    if understood(text, wake_words):
        return True
    starts = [m.start() for m in _WORD.finditer(text)]
    skip = len(lead_in_words(text))
    return any(
        understood(text[starts[skip + n] :], wake_words)
        for n in range(1, up_to + 1)
        if skip + n < len(starts)
    )


# Words after a name, with no pause between, that make it the subject of a sentence ("Mira is
# coming to dinner"): talk about someone of that name, not to the assistant.
_MENTION_NEXT = frozenset(
    {"is", "was", "has", "had", "and", "or", "said", "says", "told", "went", "came", "isn't"}
)


def _is_mention(text: str, match: WakeMatch) -> bool:
    first = _WORD.match(match.command)
    if first is None or _normalise(first.group()) not in _MENTION_NEXT:
        return False
    said = text[: len(text) - len(match.command)].rstrip()
    return said[-1:].isalnum()  # no comma or full stop between the name and the verb


def addressed_by_name(text: str, wake_words: Sequence[str]) -> WakeMatch | None:
    """The wake word that opens `text` as itself ("Mira, …"; not "Mira is coming…"), or None.
    Such a text is a command whatever the audio's evidence says, so an engine need not gather
    it (`judge` does not read it then)."""
    exact = find_wake_word(text, wake_words)
    if exact is None:
        return None
    heard_for_add = _and_heard_for_add(exact, wake_words)
    if heard_for_add is not None:
        return heard_for_add
    return None if _is_mention(text, exact) else exact


def _and_heard_for_add(match: WakeMatch, wake_words: Sequence[str]) -> WakeMatch | None:
    """ "Mira and milk to my shopping list": Whisper writes "add" as "and" (the same vowel, a
    consonant apart), which makes the name look like a sentence's subject. Read as "add", the
    words after the name are a command the assistant knows, so they were one; "Mira and John
    are coming" stays talk about someone (no command reads "add John are coming")."""
    command = _and_read_as_add(match.command, wake_words)
    return replace(match, command=command) if command is not None else None


def _and_read_as_add(command: str, wake_words: Sequence[str]) -> str | None:
    first = _WORD.match(command)
    if first is None or _normalise(first.group()) != "and":
        return None
    command = "add" + command[first.end() :]
    return command if understood(command, wake_words) else None


def _name_repeated(match: WakeMatch, wake_words: Sequence[str]) -> bool:
    """The wake word said twice over ("Mira, Mira on the wall": how Whisper, hot-worded with the
    name, writes "Mirror, mirror on the wall") before nothing the assistant understands: a
    rhyme or a quotation more likely than a call, so only a candidate. Repeated before a known
    command ("Mira, Mira, what time is it?") it stays a command."""
    again = find_wake_word(match.command, wake_words) or find_sound_alike(match.command, wake_words)
    if again is None:
        return False
    return not understood(match.command, wake_words) and not understood(again.command, wake_words)


def _phonetic(
    text: str, wake_words: Sequence[str], evidence: WakeEvidence | None
) -> WakeDecision | None:
    """PocketSphinx heard the wake word opening the utterance that Whisper wrote without it
    (`WakeEvidence.phonetic`): a command when what was said after it is one the assistant
    understands (the constrained decode's words, else the transcript's), else a candidate."""
    if evidence is None or not evidence.phonetic or evidence.phonetic != evidence.word:
        return None
    if find_sound_alike(text, wake_words) is not None:
        return None  # the sound-alike rules decide ("Mirror on the wall" stays no command)
    for command in (evidence.command, text.strip()):
        if command and understood(command, wake_words):
            return WakeDecision(
                "wake", evidence.word, command, None, "phonetic", evidence.probability
            )
    command = evidence.command if evidence.command is not None else text.strip()
    return WakeDecision("candidate", evidence.word, command, None, "phonetic", evidence.probability)


def judge(
    text: str | None,
    wake_words: Sequence[str] = DEFAULT_WAKE_WORDS,
    evidence: WakeEvidence | None = None,
) -> WakeDecision:
    """Whether `text` (and the acoustic `evidence`, when the engine gave some) opens with a
    wake word: see the module's docstring."""
    text = text or ""
    exact = addressed_by_name(text, wake_words)
    if exact is not None:
        if _name_repeated(exact, wake_words):
            return WakeDecision("candidate", exact.word, exact.command, reason="name repeated")
        return WakeDecision("wake", exact.word, exact.command, reason="exact")
    probability = evidence.probability if evidence is not None else None
    phonetic = _phonetic(text, wake_words, evidence)
    if phonetic is not None:
        return phonetic
    alike = find_sound_alike(text, wake_words)
    if alike is not None:
        command = _and_read_as_add(alike.command, wake_words) or alike.command
        decision = WakeDecision(
            "wake", alike.word, command, alike.heard, "sound-alike", probability
        )
        if understood(command, wake_words):
            return decision
        close = probability >= CANDIDATE_PROBABILITY if probability is not None else alike.vocative
        if close:
            return WakeDecision(
                "candidate", alike.word, alike.command, alike.heard, "sound-alike", probability
            )
    if evidence is not None and probability >= CANDIDATE_PROBABILITY:
        command = evidence.command if evidence.command is not None else text
        # PocketSphinx hearing no rival ("Miranda") at the start lowers the bar.
        sure = WAKE_PROBABILITY if evidence.phonetic != "" else UNOPPOSED_WAKE_PROBABILITY
        if probability >= sure and understood(command, wake_words):
            return WakeDecision("wake", evidence.word, command, None, "acoustic", probability)
        return WakeDecision("candidate", evidence.word, command, None, "acoustic", probability)
    if text.strip() and _intent(text, wake_words) == "stop_listening":
        word = next(iter(wake_words), None)
        return WakeDecision(
            "candidate", word, text.strip(), None, "stop without wake word", probability
        )
    return NO_WAKE


def worth_a_second_look(text: str, decision: WakeDecision, wake_words: Sequence[str]) -> bool:
    """Whether a bigger model should hear the utterance again: the wake word may have been lost
    (a near miss; words that make a command once up to three opening words — what Whisper
    made of the name — are dropped, "and" read as "add" as after the name; or the first word
    rhymes with the name as Whisper writes it lost: "There are many people out here"), or the
    name was heard before a command the assistant does not understand. Ordinary talk rarely
    passes (6 of 200 LibriSpeech transcripts; none opens with such a rhyme)."""
    if decision.status == "candidate":
        return True
    if decision.is_command:
        return not understood(decision.command or "", wake_words)
    return (
        understood_after_opening(text, wake_words, up_to=3)
        or _and_read_as_add(text.strip(), wake_words) is not None
        or opens_like_a_lost_name(text, wake_words)
    )


def opens_like_a_lost_name(text: str, wake_words: Sequence[str]) -> bool:
    """The first word after any lead-in is one Whisper writes for the wake word it lost."""
    words = [_normalise(w) for w in _WORD.findall(text)]
    skip = len(lead_in_words(text))
    if skip >= len(words):
        return False
    return any(words[skip] in LOST_NAME_OPENINGS.get(_normalise(wake), ()) for wake in wake_words)


def hear(
    engine, clean, start_s: float, end_s: float, wake_words: Sequence[str]
) -> tuple[Transcript, WakeDecision]:
    """Transcribe one stretch of audio and decide whether it was addressed to the assistant:
    what the analysis job and the voice-command job do with every turn.

    When the first decision may be wrong (`worth_a_second_look`) and the engine has a bigger
    model (`look_again_between`: Whisper base after tiny.en), its transcript and decision win
    if they make a command — one the assistant understands, when the first already had the
    name. Otherwise the first stands."""
    transcript = engine.transcribe_between(clean, start_s, end_s, wake_words)
    decision = judge(transcript.text, wake_words, transcript.wake)
    look_again = getattr(engine, "look_again_between", None)
    if look_again is None or not worth_a_second_look(transcript.text, decision, wake_words):
        return transcript, decision
    closer = look_again(clean, start_s, end_s, wake_words, transcript)
    if closer is None:
        return transcript, decision
    again = judge(closer.text, wake_words, closer.wake)
    if again.is_command and (
        not decision.is_command or understood(again.command or "", wake_words)
    ):
        return closer, replace(again, second_look=True)
    return transcript, decision
