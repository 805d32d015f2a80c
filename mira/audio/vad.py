"""Find the speech: WebRTC VAD per 30 ms frame, gated by speech-band energy above the clip's
noise floor.

WebRTC VAD alone calls steady low-frequency noise (rumble, brown noise) speech. The gate
measures each frame's energy in the speech band (300–3400 Hz), where rumble has little and
fluctuates little: speech rises well above the quietest tenth of its own frames, noise does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from mira.audio import SAMPLE_RATE

FRAME_MS = 30
FLOOR_PERCENTILE = 10
FLOOR_RATIO = 3.0  # a speech frame has ≥ 3× (≈ 5 dB) the energy of the noise floor
ABSOLUTE_FLOOR = 1e-6  # -60 dBFS: quieter frames are never speech
MERGE_GAP_S = 0.3
PAD_S = 0.09
MIN_SEGMENT_S = 0.15
MIN_SPEECH_S = 0.3


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class SpeechReport:
    segments: list[Segment] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def speech_s(self) -> float:
        return sum(s.duration_s for s in self.segments)

    @property
    def has_speech(self) -> bool:
        return self.speech_s >= MIN_SPEECH_S

    def samples(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """Only the speech, concatenated (what speaker embeddings should see)."""
        parts = [
            audio[int(s.start_s * sample_rate) : int(s.end_s * sample_rate)] for s in self.segments
        ]
        return np.concatenate(parts) if parts else audio[:0]


@lru_cache(maxsize=2)
def _speech_band(sample_rate: int):
    from scipy.signal import butter

    return butter(4, [300, 3400], btype="band", fs=sample_rate, output="sos")


def speech_frames(
    audio: np.ndarray, aggressiveness: int = 2, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """A boolean per 30 ms frame."""
    import webrtcvad

    frame = sample_rate * FRAME_MS // 1000
    count = len(audio) // frame
    if count == 0:
        return np.zeros(0, dtype=bool)
    from scipy.signal import sosfilt

    framed = audio[: count * frame].reshape(count, frame)
    band = sosfilt(_speech_band(sample_rate), audio[: count * frame]).reshape(count, frame)
    energy = np.mean(band**2, axis=1)
    floor = max(float(np.percentile(energy, FLOOR_PERCENTILE)), ABSOLUTE_FLOOR / 10)
    loud = (energy > FLOOR_RATIO * floor) & (energy > ABSOLUTE_FLOOR)
    pcm = (np.clip(framed, -1.0, 1.0) * 32767).astype("<i2")
    vad = webrtcvad.Vad(aggressiveness)
    voiced = np.fromiter(
        (
            bool(is_loud) and vad.is_speech(row.tobytes(), sample_rate)
            for row, is_loud in zip(pcm, loud, strict=True)
        ),
        dtype=bool,
        count=count,
    )
    return voiced


def find_speech(
    audio: np.ndarray, aggressiveness: int = 2, sample_rate: int = SAMPLE_RATE
) -> SpeechReport:
    """Speech segments: voiced frames joined across short gaps, padded, tiny ones dropped."""
    duration = len(audio) / sample_rate
    voiced = speech_frames(audio, aggressiveness, sample_rate)
    step = FRAME_MS / 1000
    runs: list[list[float]] = []
    for index in np.flatnonzero(voiced).tolist():  # Python ints: results reach SQL and JSON
        start, end = index * step, (index + 1) * step
        if runs and start - runs[-1][1] <= MERGE_GAP_S:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    segments = [
        Segment(max(0.0, round(s - PAD_S, 3)), min(duration, round(e + PAD_S, 3)))
        for s, e in runs
        if e - s >= MIN_SEGMENT_S
    ]
    merged: list[Segment] = []
    for seg in segments:  # padding can make neighbours overlap
        if merged and seg.start_s <= merged[-1].end_s:
            merged[-1] = Segment(merged[-1].start_s, max(merged[-1].end_s, seg.end_s))
        else:
            merged.append(seg)
    return SpeechReport(segments=merged, duration_s=duration)
