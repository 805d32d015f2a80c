"""Real audio for tests: LibriSpeech utterances (tests/data), and encoders for every upload
format."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

# Vendored with the repository (CC BY 4.0, see tests/data/README.md): a fresh clone tests alone.
LIBRISPEECH = Path(__file__).resolve().parent / "data" / "librispeech-test-other"
SR = 16_000


def speech_files() -> list[Path]:
    files = sorted(LIBRISPEECH.glob("*/*.flac"))
    if not files:
        pytest.fail(f"The LibriSpeech test files are missing under {LIBRISPEECH}")
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
            "-R",
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


LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def flite_speech(text: str, voice: str = "rms") -> np.ndarray:
    """`text` spoken by a flite voice, at 16 kHz."""
    import tempfile

    import soundfile
    from scipy.signal import resample_poly

    flite = require_tool("flite")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "spoken.wav"
        subprocess.run([flite, "-voice", voice, "-t", text, "-o", str(out)], check=True)
        samples, rate = soundfile.read(out, dtype="float32")
    if rate != SR:
        samples = resample_poly(samples, SR, rate).astype(np.float32)
    return samples


def librivox_clips() -> list[tuple[np.ndarray, str]]:
    """Debian's pocketsphinx-testdata LibriVox clips with their transcripts."""
    import soundfile

    listing = LIBRIVOX / "transcription"
    if not listing.exists():
        if os.environ.get("CI") or os.environ.get("MIRA_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail("pocketsphinx-testdata is not installed (.ci/run installs it)")
        pytest.skip("pocketsphinx-testdata is not installed")
    clips = []
    for line in listing.read_text().splitlines():
        words, _, name = line.rpartition("(")
        text = words.replace("<s>", "").replace("</s>", "").strip()
        samples, rate = soundfile.read(LIBRIVOX / f"{name.strip(' )')}.wav", dtype="float32")
        assert rate == SR
        clips.append((samples, text))
    return clips
