"""Denoising: a high-pass against rumble and hum, then (optionally) spectral gating.

The gating parameters start from the older Mira's (first 0.5 s taken as the noise profile);
whether gating helps speaker identification and transcription is measured before it becomes
the default (`MIRA_DENOISE`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mira.audio import SAMPLE_RATE

HIGH_PASS_HZ = 80.0
MODES = ("off", "highpass", "spectral")


@lru_cache(maxsize=4)
def _high_pass_sos(sample_rate: int):
    from scipy.signal import butter

    return butter(5, HIGH_PASS_HZ, btype="high", fs=sample_rate, output="sos")


def high_pass(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    from scipy.signal import sosfilt

    if audio.size == 0:
        return audio
    return sosfilt(_high_pass_sos(sample_rate), audio).astype(np.float32, copy=False)


def spectral_gate(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """noisereduce with the older Mira's settings; clips under 32 ms pass unchanged."""
    n = len(audio)
    if n < 512:
        return audio
    import noisereduce

    try:
        if n > sample_rate // 2:
            out = noisereduce.reduce_noise(
                y=audio,
                sr=sample_rate,
                y_noise=audio[: sample_rate // 2],
                prop_decrease=0.8,
                stationary=False,
                n_fft=min(512, n),
                hop_length=min(128, n // 4),
            )
        else:
            out = noisereduce.reduce_noise(
                y=audio,
                sr=sample_rate,
                prop_decrease=0.6,
                stationary=True,
                n_fft=min(256, n),
                hop_length=min(64, n // 4),
            )
    except (ValueError, RuntimeError):
        return audio
    return np.asarray(out, dtype=np.float32)


def denoise(
    audio: np.ndarray, mode: str = "highpass", sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    if mode not in MODES:
        raise ValueError(f"Unknown denoise mode {mode!r}; use one of {MODES}")
    if mode == "off":
        return audio
    filtered = high_pass(audio, sample_rate)
    return spectral_gate(filtered, sample_rate) if mode == "spectral" else filtered
