"""PocketSphinx: the ultra-light offline fallback (its English model ships inside its wheel).

Far less accurate than Whisper on real speech (about 30 % WER on read speech), but small, fast
and dependency-free; used when Whisper cannot load.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from mira.speech import SAMPLE_RATE, Segment, Transcript, TranscriptionError

FRAMES_PER_S = 100  # PocketSphinx reports word timings in 10 ms frames
FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}


class SphinxTranscriber:
    name = "pocketsphinx"

    def __init__(self):
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise TranscriptionError("pocketsphinx is not installed") from exc
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, hotwords: Sequence[str] = ()) -> Transcript:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
            words = [
                (seg.word, seg.start_frame, seg.end_frame)
                for seg in self._decoder.seg()
                if seg.word not in FILLERS
            ]
        text = hyp.hypstr.strip() if hyp is not None else ""
        segments = [
            Segment(round(start / FRAMES_PER_S, 2), round(end / FRAMES_PER_S, 2), _clean(word))
            for word, start, end in words
        ]
        # PocketSphinx's word posteriors are not computed in this decoding mode: no confidence.
        return Transcript(
            text=text,
            language="en",
            confidence=None,
            segments=segments,
            engine="pocketsphinx",
        )


def _clean(word: str) -> str:
    # Alternative pronunciations come back as "word(2)".
    return word.split("(", 1)[0]
