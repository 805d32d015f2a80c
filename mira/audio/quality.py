"""Stream quality: how well one microphone heard an utterance, scored 0–100.

The formulas and weights are the older Mira's (kept on purpose: clients compare scores across
versions); see API.md "Streams" for the reference values the tests pin.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from mira.audio import SAMPLE_RATE

WEIGHTS = {"snr": 0.3, "clarity": 0.3, "volume": 0.1, "location": 0.15, "rssi": 0.15}
SPEECH_BAND_HZ = (300.0, 3400.0)
DEFAULT_LOCATION_ACCURACY_M = 100.0


@dataclass(frozen=True)
class QualityMetrics:
    snr_db: float
    clarity: float
    rms: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def snr_db(audio: np.ndarray) -> float:
    """Signal power over the power of the quietest fifth of ten windows, in dB (≥ 0)."""
    n = len(audio)
    if n == 0:
        return 0.0
    signal_power = float(np.var(audio))
    if signal_power <= 0:
        return 0.0
    window = n // 10
    if window < 100:
        noise_power = 0.1 * signal_power
    else:
        powers = sorted(float(np.var(audio[i : i + window])) for i in range(0, n - window, window))
        quietest = powers[: max(1, len(powers) // 5)]
        noise_power = float(np.mean(quietest))
        if noise_power <= 0:
            noise_power = 0.01 * signal_power
    return max(0.0, 10.0 * float(np.log10(signal_power / noise_power)))


def welch_psd(audio: np.ndarray, sample_rate: int, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch's PSD (Hann window, half overlap, constant detrend, one-sided density): the same
    numbers as scipy.signal.welch, computed in one vectorised FFT (scipy loops per segment)."""
    step = nperseg - nperseg // 2
    count = 1 + (len(audio) - nperseg) // step
    frames = np.lib.stride_tricks.sliding_window_view(audio, nperseg)[::step][:count]
    frames = frames - frames.mean(axis=1, keepdims=True)
    window = _hann(nperseg)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    power *= 1.0 / (sample_rate * float(np.sum(window**2)))
    if nperseg % 2:
        power[:, 1:] *= 2
    else:
        power[:, 1:-1] *= 2
    return np.fft.rfftfreq(nperseg, 1 / sample_rate), power.mean(axis=0)


@lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic, as scipy's "hann"


def clarity(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Share of power in the speech band and how un-flat that band is, 0–100."""
    n = len(audio)
    if n < 2:
        return 0.0
    nperseg = min(1024, n // 4) if n > 256 else n // 2
    nperseg = min(max(nperseg, 64), n)
    freqs, psd = welch_psd(np.asarray(audio, dtype=np.float64), sample_rate, nperseg)
    total = float(np.sum(psd))
    band = (freqs >= SPEECH_BAND_HZ[0]) & (freqs <= SPEECH_BAND_HZ[1])
    band_psd = psd[band]
    ratio = float(np.sum(band_psd)) / total if total > 0 else 0.0
    if band_psd.size and np.any(band_psd > 0):
        geometric = float(np.exp(np.mean(np.log(band_psd + 1e-10))))
        flatness = geometric / (float(np.mean(band_psd)) + 1e-10)
        clarity_factor = 1.0 - flatness
    else:
        clarity_factor = 0.0
    return float(np.clip((0.7 * ratio + 0.3 * clarity_factor) * 100.0, 0.0, 100.0))


def measure(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> QualityMetrics:
    audio = np.asarray(audio, dtype=np.float64)
    rms = float(np.sqrt(np.mean(audio**2))) if audio.size else 0.0
    return QualityMetrics(snr_db=snr_db(audio), clarity=clarity(audio, sample_rate), rms=rms)


def location_score(location: dict[str, Any] | None) -> float:
    if not location:
        return 100.0
    accuracy = location.get("accuracy")
    accuracy = DEFAULT_LOCATION_ACCURACY_M if accuracy is None else float(accuracy)
    return max(0.0, 100.0 - accuracy / 10.0)


def rssi_score(rssi: float | None) -> float:
    if rssi is None:
        return 100.0
    return (min(max(float(rssi), -90.0), -30.0) + 90.0) / 60.0 * 100.0


def overall_score(
    metrics: QualityMetrics,
    location: dict[str, Any] | None = None,
    rssi: float | None = None,
) -> float:
    """The weighted score clients see (0–100)."""
    parts = {
        "snr": min(100.0, metrics.snr_db / 30.0 * 100.0),
        "clarity": metrics.clarity,
        "volume": min(100.0, metrics.rms * 1000.0),
        "location": location_score(location),
        "rssi": rssi_score(rssi),
    }
    total = sum(WEIGHTS[name] * value for name, value in parts.items())
    return float(np.clip(total, 0.0, 100.0))


SNR_FRAME_S = 0.03
MIN_NOISE_FRAMES = 5


def frame_powers(audio: np.ndarray, frame: int) -> np.ndarray:
    """Mean power of each whole frame of `frame` samples (a trailing part frame is left out)."""
    count = len(audio) // frame
    framed = np.asarray(audio[: count * frame], dtype=np.float64).reshape(count, frame)
    return np.mean(framed**2, axis=1)


def speech_snr_db(audio: np.ndarray, segments, sample_rate: int = SAMPLE_RATE) -> float:
    """SNR of the speech against what surrounds it, in dB (for the speaker decision).

    `snr_db` above compares a clip with its own quietest windows, which in a long utterance are
    speech too (clean read speech scores ~8 dB). Here the VAD's segments say which 30 ms frames
    are speech; the noise is the median power of the others (or, with too few of those, the
    quietest 5 % of frames), and the speech power is what the speech frames hold above it.
    `audio` is the denoised clip the VAD ran on; `segments` are its speech segments."""
    frame = max(1, int(SNR_FRAME_S * sample_rate))
    power = frame_powers(audio, frame)
    count = len(power)
    if count == 0 or not segments:
        return 0.0
    speech = np.zeros(count, dtype=bool)
    for segment in segments:
        first = int(segment.start_s * sample_rate) // frame
        last = -(-int(segment.end_s * sample_rate) // frame)  # the frame holding the end
        speech[first:last] = True
    quietest = float(np.percentile(power, 5))
    others = power[~speech]
    noise = float(np.median(others)) if len(others) >= MIN_NOISE_FRAMES else quietest
    noise = max(noise, quietest, 1e-10)
    if not speech.any():
        return 0.0
    above = float(np.mean(power[speech])) - noise
    return float(10 * np.log10(max(above, 1e-12) / noise))
