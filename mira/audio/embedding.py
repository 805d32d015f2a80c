"""Voice embeddings with Resemblyzer's pretrained speaker encoder.

Only the weights come from the `resemblyzer` package (they ship inside it); the front end
(volume normalisation, 40-band mel spectrogram, 1.6 s partials) is computed here with numpy,
so the worker never imports librosa and never waits for numba to compile. The model is loaded
once per process. Embeddings are 256-d, L2-normalised float32; compare them by dot product.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from mira.audio import SAMPLE_RATE

N_FFT = 400  # 25 ms windows
HOP = 160  # 10 ms steps
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
PARTIALS_PER_S = 1.3
MIN_COVERAGE = 0.75
TARGET_DBFS = -30.0
EMBEDDING_SIZE = 256


def _hz_to_mel(freq: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    freq = np.asarray(freq, dtype=np.float64)
    mel = freq / (200.0 / 3)
    log_region = freq >= 1000.0
    mel[log_region] = 15.0 + np.log(freq[log_region] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    freq = mel * (200.0 / 3)
    log_region = mel >= 15.0
    freq[log_region] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[log_region] - 15.0))
    return freq


@lru_cache(maxsize=2)
def mel_filterbank(sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Triangular, area-normalised (Slaney) filters, shape (N_MELS, N_FFT // 2 + 1)."""
    fft_freqs = np.linspace(0, sample_rate / 2, N_FFT // 2 + 1)
    mel_points = np.linspace(
        _hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([sample_rate / 2]))[0], N_MELS + 2
    )
    edges = _mel_to_hz(mel_points)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    weights = np.zeros((N_MELS, len(fft_freqs)))
    for i in range(N_MELS):
        lower = -ramps[i] / widths[i]
        upper = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2 : N_MELS + 2] - edges[:N_MELS]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)  # periodic Hann


def mel_frames(audio: np.ndarray) -> np.ndarray:
    """Power mel spectrogram, one row per 10 ms frame: shape (frames, N_MELS)."""
    padded = np.pad(audio.astype(np.float32, copy=False), N_FFT // 2)  # centred frames
    count = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:count]
    power = np.abs(np.fft.rfft(frames * _window(), axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filterbank().T).astype(np.float32)


def normalize_volume(audio: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise quiet audio to the level the encoder was trained on (never lower loud audio)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    if rms <= 0:
        return audio
    gain_db = target_dbfs - 20 * np.log10(rms)
    if gain_db <= 0:
        return audio
    return (audio * 10 ** (gain_db / 20)).astype(np.float32)


def partial_slices(n_samples: int) -> list[slice]:
    """Mel-frame windows of 1.6 s, 1.3 per second, covering the utterance."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = max(1, int(round(SAMPLE_RATE / PARTIALS_PER_S / HOP)))
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step), step))
    slices = [slice(s, s + PARTIAL_FRAMES) for s in starts]
    last = slices[-1]
    coverage = (n_frames - last.start) / PARTIAL_FRAMES
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices = slices[:-1]
    return slices


def weights_path() -> Path:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or spec.origin is None:
        raise RuntimeError("resemblyzer is not installed: its weights give Mira voice embeddings")
    return Path(spec.origin).parent / "pretrained.pt"


class SpeakerEncoder:
    """The LSTM encoder (3 × 256) with Resemblyzer's weights; thread-safe, CPU."""

    def __init__(self, path: Path | None = None, threads: int | None = None):
        import torch
        from torch import nn

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, EMBEDDING_SIZE)
        state = torch.load(path or weights_path(), map_location="cpu")["model_state"]
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self.lstm.eval()
        self.linear.eval()
        self._lock = threading.Lock()

    def partials(self, audio: np.ndarray) -> np.ndarray:
        """One L2-normalised embedding per 1.6 s partial: shape (partials, 256)."""
        return self.run(self.windows(audio))

    @staticmethod
    def windows(audio: np.ndarray) -> np.ndarray:
        """The front end: the mel windows of the 1.6 s partials, shape (partials, 160, 40)."""
        audio = normalize_volume(audio)
        slices = partial_slices(len(audio))
        needed = slices[-1].stop * HOP
        if needed > len(audio):
            audio = np.pad(audio, (0, needed - len(audio)))
        mel = mel_frames(audio)
        return np.stack([mel[s] for s in slices])

    def run(self, windows: np.ndarray) -> np.ndarray:
        """The network over a batch of windows (of one clip or several stacked: one pass costs
        less than one per clip): one L2-normalised embedding per window."""
        torch = self._torch
        with self._lock, torch.inference_mode():
            _, (hidden, _) = self.lstm(torch.from_numpy(windows))
            embeds = torch.relu(self.linear(hidden[-1]))
            embeds = embeds / torch.linalg.norm(embeds, dim=1, keepdim=True).clamp_min(1e-9)
        return embeds.numpy().astype(np.float32)

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """The utterance's embedding: the normalised mean of its partials."""
        mean = self.partials(audio).mean(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)


_encoder: SpeakerEncoder | None = None
_encoder_lock = threading.Lock()


def encoder() -> SpeakerEncoder:
    """The process's encoder, loaded on first use (workers load it at start)."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            # One thread per worker process: workers, not threads, use the other cores.
            _encoder = SpeakerEncoder(threads=int(os.environ.get("MIRA_TORCH_THREADS", "1")))
        return _encoder


def to_bytes(embedding: np.ndarray) -> bytes:
    return np.asarray(embedding, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").copy()
