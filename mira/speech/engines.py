"""Pick the transcription engine for this process, with a fallback order.

`MIRA_TRANSCRIBER`:
- ``auto`` (default): Gemini when `GEMINI_API_KEY` is set, then Whisper (`MIRA_WHISPER_MODEL`,
  the bundled tiny.en by default), then PocketSphinx — the first that loads is primary and the
  rest stand by in case it fails on a clip (an unreachable API, say);
- ``gemini``, ``whisper``, ``pocketsphinx``: that engine only;
- ``none``: no transcription (interactions keep `text` empty).

Engines load once per process (models are large) and are shared by every job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mira.config import as_bool
from mira.process_cache import per_settings
from mira.speech import SAMPLE_RATE, Transcriber, Transcript, TranscriptionError

log = logging.getLogger(__name__)

ORDER = ("gemini", "whisper", "pocketsphinx")


def _gemini(settings: Mapping[str, Any]) -> Transcriber:
    from mira.assistant.gemini import GeminiClient
    from mira.speech.gemini import GeminiTranscriber

    client = GeminiClient.from_settings(settings)
    if client is None:
        raise TranscriptionError("GEMINI_API_KEY is not set")
    return GeminiTranscriber(client)


def _whisper(settings: Mapping[str, Any]) -> Transcriber:
    from mira.speech.whisper import MIN_WINDOW_S, WhisperTranscriber

    return WhisperTranscriber(
        model=settings.get("MIRA_WHISPER_MODEL") or "tiny.en",
        threads=int(settings.get("MIRA_WHISPER_THREADS") or 2),
        beam_size=int(settings.get("MIRA_WHISPER_BEAM") or 5),
        context=(settings.get("MIRA_WHISPER_CONTEXT") or "short").lower(),
        min_window_s=float(settings.get("MIRA_WHISPER_MIN_WINDOW_S") or MIN_WINDOW_S),
        short_timestamps=as_bool(settings.get("MIRA_WHISPER_SHORT_TIMESTAMPS"), False),
        second_look=_second_look(settings.get("MIRA_WHISPER_SECOND_LOOK")),
    )


def _second_look(value: Any) -> str | None:
    """`MIRA_WHISPER_SECOND_LOOK`: "base" (the default) or "none"."""
    value = (value or "base").strip().lower()
    return None if value in ("none", "off", "false", "0") else value


def _sphinx(settings: Mapping[str, Any]) -> Transcriber:
    from mira.speech.sphinx import SphinxTranscriber

    return SphinxTranscriber()


FACTORIES: dict[str, Callable[[Mapping[str, Any]], Transcriber]] = {
    "gemini": _gemini,
    "whisper": _whisper,
    "pocketsphinx": _sphinx,
}


def _between(samples: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    start = max(0, int(start_s * SAMPLE_RATE))
    return samples[start : int(end_s * SAMPLE_RATE)]


class FallbackTranscriber:
    """Tries its engines in order; the first answer wins."""

    def __init__(self, engines: list[Transcriber]):
        self.engines = engines
        self.name = engines[0].name

    def transcribe(self, samples: np.ndarray, hotwords: Sequence[str] = ()) -> Transcript:
        errors = []
        for engine in self.engines:
            try:
                return engine.transcribe(samples, hotwords)
            except TranscriptionError as exc:
                log.warning("transcription with %s failed: %s", engine.name, exc)
                errors.append(f"{engine.name}: {exc}")
        raise TranscriptionError("; ".join(errors))

    def transcribe_between(
        self, samples: np.ndarray, start_s: float, end_s: float, hotwords: Sequence[str] = ()
    ) -> Transcript:
        """The words between two offsets (seconds) of the audio: one speaker turn, say."""
        return self.transcribe(_between(samples, start_s, end_s), hotwords)

    def look_again_between(
        self,
        samples: np.ndarray,
        start_s: float,
        end_s: float,
        hotwords: Sequence[str],
        first: Transcript,
    ) -> Transcript | None:
        """A closer look at the same stretch by the engine that wrote `first`, when it has one
        (Whisper base after tiny.en); None otherwise."""
        for engine in self.engines:
            wrote_it = first.engine == engine.name or first.engine.startswith(engine.name + "-")
            look_again = getattr(engine, "look_again", None)
            if wrote_it and look_again is not None:
                try:
                    return look_again(_between(samples, start_s, end_s), hotwords)
                except TranscriptionError as exc:
                    log.warning("second look with %s failed: %s", engine.name, exc)
                    return None
        return None

    def warm_up(self) -> None:
        for engine in self.engines:
            warm = getattr(engine, "warm_up", None)
            if warm is not None:
                warm()


def build_transcriber(settings: Mapping[str, Any]) -> FallbackTranscriber | None:
    """The engines `settings` ask for that can load here; None for ``none``."""
    choice = (settings.get("MIRA_TRANSCRIBER") or "auto").lower()
    if choice == "none":
        return None
    names = ORDER if choice == "auto" else (choice,)
    if choice not in FACTORIES and choice != "auto":
        raise TranscriptionError(f"Unknown MIRA_TRANSCRIBER: {choice}")
    engines, errors = [], []
    for name in names:
        if name == "gemini" and choice == "auto" and not settings.get("GEMINI_API_KEY"):
            continue
        try:
            engines.append(FACTORIES[name](settings))
        except TranscriptionError as exc:
            log.warning("transcription engine %s unavailable: %s", name, exc)
            errors.append(f"{name}: {exc}")
    if not engines:
        raise TranscriptionError("No transcription engine could load: " + "; ".join(errors))
    log.info("transcription engines: %s", ", ".join(e.name for e in engines))
    return FallbackTranscriber(engines)


@per_settings(
    "MIRA_TRANSCRIBER",
    "MIRA_WHISPER_MODEL",
    "MIRA_WHISPER_THREADS",
    "MIRA_WHISPER_BEAM",
    "MIRA_WHISPER_CONTEXT",
    "MIRA_WHISPER_MIN_WINDOW_S",
    "MIRA_WHISPER_SHORT_TIMESTAMPS",
    "MIRA_WHISPER_SECOND_LOOK",
    "GEMINI_API_KEY",
    "MIRA_GEMINI_MODEL",
)
def transcriber(settings: Mapping[str, Any]) -> FallbackTranscriber | None:
    """The process-wide transcriber for these settings (loaded on first use)."""
    return build_transcriber(settings)
