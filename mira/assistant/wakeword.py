"""Find the wake word at the start of a transcript.

Whisper transcripts vary in case and punctuation ("Mira, ...", "mira ...", "Hey Mira. ..."), so
the match is made on words, never on substrings: "admiral", "Miranda", "I" and "a" do not wake
Mira (the older Mira's substring test did). The wake word must open the utterance, after at most
a greeting ("hey", "ok", "hi", "hello", "yo") or a filler ("um", "so"); said later in a sentence
("I told Mira yesterday") it is a mention, not a command.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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
