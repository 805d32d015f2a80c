"""Transcription engines behind one interface.

Engines take 16 kHz mono float32 samples and return a `Transcript`; they know nothing of
Flask or the database. `mira.speech.engines.transcriber(settings)` picks one by configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Segment:
    """A stretch of the transcript with its offsets in the audio (seconds)."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class WakeEvidence:
    """How likely the utterance opens with a wake word, by the acoustic model itself.

    `probability` is P(wake word, then a word boundary | audio) at the transcript's start (after
    the lead-ins the transcript has, "hey"…), summed over the word's spellings: a transcript
    that wrote "Mirror" still says how close "Mira" was. `command` is what a second decode,
    constrained to open with the wake word, heard after it (None when it was not run).
    `phonetic` is what PocketSphinx heard opening the utterance when made to choose between
    Whisper's words with and without the wake word before them (`mira.speech.sphinx.
    WakeSpotter`): the wake word, a rival ("miranda"), "" for Whisper's words as they are, None
    when it was not asked.
    """

    word: str
    probability: float
    command: str | None = None
    phonetic: str | None = None


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str | None = None
    # 0–1: how sure the engine is of the words (mean word/segment probability).
    confidence: float | None = None
    segments: list[Segment] = field(default_factory=list)
    engine: str = ""
    # What the engine heard of the wake words at the start, from the audio rather than the
    # text (see `mira.speech.wake`); None when the engine cannot tell.
    wake: WakeEvidence | None = None

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "language": self.language,
            "confidence": self.confidence,
            "engine": self.engine,
            "segments": [[s.start_s, s.end_s, s.text] for s in self.segments],
        }


class TranscriptionError(RuntimeError):
    """The engine could not run (missing model, unreachable API); the caller may fall back."""


class Transcriber(Protocol):
    name: str

    def transcribe(self, samples: np.ndarray, hotwords: Sequence[str] = ()) -> Transcript:
        """`hotwords`: names the engine should expect (the wake words); engines that cannot
        use them ignore them."""
        ...
