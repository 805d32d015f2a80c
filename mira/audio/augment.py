"""Noisy copies of clean speech, for voice profiles that also know how a voice sounds in a room.

A voice heard over a fan or a television embeds away from the same voice heard clean: scored
against a profile made of clean samples only, most noisy utterances of an enrolled person fall
below any safe threshold (bench/speaker_id.py). Each clean sample a profile learns from is
therefore also embedded with household-like noise added — made here with numpy, from a fixed
seed, so a sample always gets the same copies — and those copies form the profile's second,
"noisy" centre.

The noises are deliberately generic and unlike the benchmark's (which are made with sox, and
whose babble is real speech): spectrally shaped noise with a speech-like long-term spectrum and
a syllable-rate envelope (babble, a television), and pink noise (fans, air, traffic).
"""

from __future__ import annotations

import numpy as np

from mira.audio import SAMPLE_RATE

AUGMENT_SNR_DB = 10.0
KINDS = ("speech_shaped", "pink")


def _shaped(n: int, rng: np.random.Generator, gain_of_hz) -> np.ndarray:
    # scipy's FFT: the VAD's spans have any length, often a prime or near one, where numpy's
    # transform took ~10 ms and scipy's half that (the same numbers).
    from scipy import fft

    spectrum = fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    out = fft.irfft(spectrum * gain_of_hz(np.maximum(freqs, 1.0)), n)
    return out / (np.std(out) or 1.0)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    return _shaped(n, rng, lambda f: 1 / np.sqrt(f))


def speech_shaped(n: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with the long-term spectrum of speech (flat to ~500 Hz, falling ~9 dB per octave
    above, little below 100 Hz), its loudness moving at syllable rate like many voices at once."""
    noise = _shaped(n, rng, lambda f: (f / (f + 100.0)) / (1 + (f / 500.0) ** 1.5))
    t = np.arange(n) / SAMPLE_RATE
    envelope = np.ones(n)
    for _ in range(3):
        rate, phase = rng.uniform(2.5, 6.0), rng.uniform(0, 2 * np.pi)
        envelope += 0.35 * np.sin(2 * np.pi * rate * t + phase)
    noise = noise * np.clip(envelope, 0.1, None)
    return noise / (np.std(noise) or 1.0)


GENERATORS = {"speech_shaped": speech_shaped, "pink": pink}

# Babble made from the sample itself, for enrolment: three copies of the speech played backwards
# at other pitches (resampled by these ratios), summed. It needs no one else's voice, so every
# network can make it; it lifted recognition in babble (bench/speaker_id.py, docs/performance.md).
SELF_BABBLE = "self_babble"
SELF_BABBLE_VOICES = ((5, 6), (6, 5), (4, 5))  # resampling ratios (up, down)
ENROLMENT_KINDS = (*KINDS, SELF_BABBLE)  # what an enrolled sample is stored with


def self_babble(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS babble of `len(speech)` samples made from `speech` itself."""
    from scipy.signal import resample_poly

    n = len(speech)
    out = np.zeros(n)
    for up, down in SELF_BABBLE_VOICES:
        voice = resample_poly(np.asarray(speech, dtype=np.float64), up, down)[::-1]
        voice = np.tile(voice, int(np.ceil(n / len(voice))) + 1)
        offset = rng.integers(0, len(voice) - n + 1)
        voice = voice[offset : offset + n]
        out += voice / (np.sqrt(np.mean(voice**2)) or 1.0)
    return out / (np.sqrt(np.mean(out**2)) or 1.0)


def noisy_copies(
    speech: np.ndarray, snr_db: float = AUGMENT_SNR_DB, seed: int = 0, kinds=KINDS
) -> list[np.ndarray]:
    """One copy of `speech` (the speech only, as the encoder sees it) per noise kind, at
    `snr_db` against the speech's own power."""
    speech = np.asarray(speech, dtype=np.float32)
    power = float(np.mean(np.square(speech, dtype=np.float64))) if speech.size else 0.0
    if power <= 0:
        return []
    rng = np.random.default_rng(seed)
    copies = []
    for kind in kinds:
        if kind == SELF_BABBLE:  # its own generator: the other kinds' draws stay as they were
            noise = self_babble(speech, np.random.default_rng(seed))
        else:
            noise = GENERATORS[kind](len(speech), rng)
        mixed = speech + np.sqrt(power / 10 ** (snr_db / 10)) * noise
        peak = float(np.max(np.abs(mixed)))
        copies.append((mixed / peak * 0.9 if peak > 0.99 else mixed).astype(np.float32))
    return copies


# In the analysis job (a new voice, or a confident match teaching a profile) one copy, the
# babble-like one, keeps the speaker stage within twice the cost of a plain match; enrolment,
# which nobody waits for, makes every kind.
ANALYSIS_KINDS = ("speech_shaped",)
