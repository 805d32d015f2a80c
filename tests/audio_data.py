"""Real audio for tests: the shared LibriSpeech files, and encoders for every upload format."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
LIBRISPEECH = SHARED / "data" / "librispeech-test-other"
SR = 16_000


def speech_files() -> list[Path]:
    files = sorted(LIBRISPEECH.glob("*/*.flac"))
    if not files:
        pytest.fail(f"The shared LibriSpeech files are missing under {LIBRISPEECH}")
    return files


@lru_cache(maxsize=32)
def speech(index: int = 0) -> np.ndarray:
    import soundfile

    samples, rate = soundfile.read(speech_files()[index], dtype="float32")
    assert rate == SR
    return samples


def require_tool(name: str) -> str:
    """A system tool the test needs; skipped locally when absent, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") or os.environ.get("MIRA_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def encode_soundfile(samples: np.ndarray, rate: int, fmt: str, subtype: str | None) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def encode_ffmpeg(samples: np.ndarray, rate: int, container: str, codec: str) -> bytes:
    """Encode with ffmpeg through a real file, as a phone would write it (M4A index at the end)."""
    import tempfile

    ffmpeg = require_tool("ffmpeg")
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"clip.{container}"
        subprocess.run(
            [
                ffmpeg,
                "-nostdin",
                "-loglevel",
                "error",
                "-f",
                "s16le",
                "-ar",
                str(rate),
                "-ac",
                "1",
                "-i",
                "pipe:0",
                "-c:a",
                codec,
                "-f",
                container,
                str(target),
            ],
            input=pcm,
            capture_output=True,
            check=True,
        )
        return target.read_bytes()


def wav_bytes(samples: np.ndarray, rate: int = SR, subtype: str = "PCM_16") -> bytes:
    return encode_soundfile(samples, rate, "WAV", subtype)


def sox_noise(kind: str, seconds: float = 3.0, volume: float = 0.1) -> np.ndarray:
    """Noise made by sox (whitenoise, pinknoise, brownnoise, or a sine 'sine:60'); `-R` fixes
    sox's random seed, so a test sees the same noise on every run."""
    import soundfile

    sox = require_tool("sox")
    synth = ["sine", kind.split(":")[1]] if kind.startswith("sine:") else [kind]
    done = subprocess.run(
        [
            sox,
            "-n",
            "-r",
            str(SR),
            "-b",
            "16",
            "-c",
            "1",
            "-t",
            "wav",
            "-",
            "synth",
            str(seconds),
            *synth,
            "vol",
            str(volume),
        ],
        capture_output=True,
        check=True,
    )
    samples, _ = soundfile.read(io.BytesIO(done.stdout), dtype="float32")
    return samples
