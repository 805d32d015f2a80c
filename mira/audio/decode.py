"""Recognise audio by its bytes and decode it to 16 kHz mono float32.

soundfile (libsndfile) reads WAV, FLAC, OGG (Vorbis/Opus) and MP3 in-process; WebM and
M4A/AAC go through the ffmpeg binary. Headerless bytes are taken as s16le 16 kHz mono PCM,
which is what older clients send.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from mira.audio import SAMPLE_RATE

FFMPEG_FORMATS = {"webm", "m4a"}
# Magic numbers of common files that are certainly not audio.
NOT_AUDIO_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"%PDF",
    b"PK\x03\x04",
    b"\x7fELF",
    b"\x1f\x8b",
    b"BM",
)


class AudioError(ValueError):
    """Audio that cannot be used; `code` is the API's error code."""

    code = "CORRUPT_AUDIO"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class EmptyAudio(AudioError):
    code = "EMPTY_AUDIO"


class UnsupportedAudio(AudioError):
    code = "UNSUPPORTED_AUDIO"


class AudioTooLong(AudioError):
    code = "AUDIO_TOO_LONG"


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # float32, mono, 16 kHz, in [-1, 1]
    source_format: str
    source_rate: int
    source_channels: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def sniff(data: bytes) -> str:
    """The container by its magic bytes; 'pcm' for headerless audio. Raises for non-audio."""
    if not data:
        raise EmptyAudio("The upload is empty")
    head = data[:64]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] in (b"RF64", b"BW64"):
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:3] == b"ID3" or (
        len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0
    ):
        return "mp3"
    if head.startswith(NOT_AUDIO_MAGIC) or _looks_like_text(data[:512]):
        raise UnsupportedAudio("The upload is not a recognised audio format")
    if len(data) % 2:
        raise AudioError("Headerless PCM must be 16-bit: the byte count is odd")
    return "pcm"


def _looks_like_text(chunk: bytes) -> bool:
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return len(text) >= 4 and printable / len(text) > 0.95


def probe_duration(data: bytes, fmt: str) -> float | None:
    """Duration from the header alone (cheap enough for the request path); None if unknown."""
    if fmt == "pcm":
        return len(data) / 2 / SAMPLE_RATE
    if fmt not in ("wav", "flac"):
        return None
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(data))
    except Exception as exc:
        raise AudioError(f"Unreadable {fmt.upper()} header") from exc
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioError(f"Invalid {fmt.upper()} header")
    return info.frames / info.samplerate


def decode(data: bytes, max_seconds: float | None = None) -> Decoded:
    """Decode any supported upload to 16 kHz mono float32, validating what comes out."""
    fmt = sniff(data)
    if fmt == "pcm":
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        rate, channels = SAMPLE_RATE, 1
    elif fmt in FFMPEG_FORMATS:
        samples, rate, channels = _decode_ffmpeg(data, fmt), SAMPLE_RATE, 0
    else:
        samples, rate, channels = _decode_soundfile(data, fmt)
    if samples.size == 0:
        raise EmptyAudio("The audio holds no samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError("The audio holds NaN or infinite samples")
    if max_seconds is not None and len(samples) / rate > max_seconds:
        raise AudioTooLong(f"The audio is longer than {max_seconds:g} s")
    if rate != SAMPLE_RATE:
        samples = resample(samples, rate, SAMPLE_RATE)
    peak = float(np.max(np.abs(samples)))
    if peak > 1.0:  # float WAVs may exceed full scale; keep the pipeline's [-1, 1] promise
        samples = samples / peak
    return Decoded(np.ascontiguousarray(samples, dtype=np.float32), fmt, rate, channels)


def _decode_soundfile(data: bytes, fmt: str) -> tuple[np.ndarray, int, int]:
    import soundfile

    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(
            f"Could not decode the {fmt.upper()} audio (corrupt or truncated)"
        ) from exc
    if rate <= 0:
        raise AudioError(f"Invalid sample rate in the {fmt.upper()} audio")
    channels = samples.shape[1]
    mono = samples.mean(axis=1) if channels > 1 else samples[:, 0]
    return mono.astype(np.float32, copy=False), int(rate), int(channels)


def _decode_ffmpeg(data: bytes, fmt: str) -> np.ndarray:
    """Decode through ffmpeg from a temporary file: M4A keeps its index at the end (unseekable
    from a pipe)."""
    import tempfile

    binary = shutil.which("ffmpeg")
    if binary is None:
        raise UnsupportedAudio(f"{fmt.upper()} needs ffmpeg, which is not installed")
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as source:
        source.write(data)
        source.flush()
        command = [
            binary,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            source.name,
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-f",
            "f32le",
            "pipe:1",
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=120, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AudioError(f"Decoding the {fmt.upper()} audio took too long") from exc
    if done.returncode != 0 or len(done.stdout) < 4:
        raise AudioError(f"Could not decode the {fmt.upper()} audio (corrupt or truncated)")
    usable = len(done.stdout) - len(done.stdout) % 4
    return np.frombuffer(done.stdout[:usable], dtype="<f4").copy()


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    factor = gcd(source_rate, target_rate)
    out = resample_poly(samples, target_rate // factor, source_rate // factor)
    return out.astype(np.float32, copy=False)
