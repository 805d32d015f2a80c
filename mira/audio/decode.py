"""Recognise audio by its bytes and decode it to 16 kHz mono float32.

soundfile (libsndfile) reads WAV, FLAC, OGG (Vorbis/Opus) and MP3 in-process; WebM and
M4A/AAC go through the ffmpeg binary. Headerless bytes are taken as s16le 16 kHz mono PCM,
which is what older clients send.

Decoding is bounded before memory is spent: a few kilobytes of compressed silence can
stand for hours of audio (a 438 KB OGG held an hour of 48 kHz stereo and took 2.7 GB to
decode in full), and a WAV header may claim any sample rate. So the sample rate and the
channel count are checked against fixed bounds first, audio is read in blocks, mixed to
mono and resampled block by block (`StreamResampler`), and reading stops as soon as the
samples counted so far pass the duration limit; headers can lie, so the count is what
decides. ffmpeg's output is capped with `-t` and read incrementally. What a decode holds
is the 16 kHz result (600 s: 38 MB) plus one block, whatever the file claims.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from mira.audio import SAMPLE_RATE

FFMPEG_FORMATS = {"webm", "m4a"}
# Telephone audio is 8 kHz and studio audio at most 384 kHz; outside these a header is
# broken or hostile (a 2^31 Hz WAV header once asked for gigabytes).
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 384_000
# Microphones send mono or stereo; 7.1 is 8. Vorbis allows 255 channels, each decoded.
MAX_CHANNELS = 16
# Samples (all channels) read per block: 1 MB of float32.
BLOCK_SAMPLES = 1 << 18
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


class UnsupportedSampleRate(AudioError):
    code = "UNSUPPORTED_SAMPLE_RATE"


def check_shape(fmt: str, rate: int, channels: int) -> None:
    """Refuse a stream whose sample rate or channel count no microphone produces."""
    if rate <= 0 or channels <= 0:
        raise AudioError(f"Invalid {fmt.upper()} header")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise UnsupportedSampleRate(
            f"The {fmt.upper()} audio's sample rate ({rate} Hz) is outside "
            f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )
    if channels > MAX_CHANNELS:
        raise UnsupportedAudio(
            f"The {fmt.upper()} audio has {channels} channels; at most {MAX_CHANNELS} are read"
        )


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


def _wav_header_rate(data: bytes) -> int | None:
    """The sample rate a RIFF WAV's `fmt ` chunk states, read by hand: libsndfile refuses
    some forged rates (2^31 Hz) as an unreadable file, which would hide what is wrong."""
    position = 12
    while position + 8 <= min(len(data), 1 << 16):
        chunk, size = (
            data[position : position + 4],
            int.from_bytes(data[position + 4 : position + 8], "little"),
        )
        if chunk == b"fmt " and position + 16 <= len(data):
            return int.from_bytes(data[position + 12 : position + 16], "little")
        position += 8 + size + size % 2
    return None


def _refuse_forged_rate(data: bytes, fmt: str) -> None:
    rate = _wav_header_rate(data) if fmt == "wav" else None
    if rate is not None and not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        check_shape(fmt, rate, 1)


def probe_duration(data: bytes, fmt: str) -> float | None:
    """Duration from the header alone (cheap enough for the request path); None if unknown.

    WAV and FLAC state their length; OGG's last page states its position (libsndfile reads
    it with one seek). MP3 has no reliable length without a scan, and WebM/M4A need ffmpeg:
    the job's bounded decode judges those. Sample rate and channels are checked here too,
    so a forged header is refused before anything is stored."""
    if fmt == "pcm":
        return len(data) / 2 / SAMPLE_RATE
    if fmt not in ("wav", "flac", "ogg"):
        return None
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(data))
    except Exception as exc:
        if fmt == "ogg":  # libsndfile does not read every OGG codec: the job's decode judges
            return None
        _refuse_forged_rate(data, fmt)
        raise AudioError(f"Unreadable {fmt.upper()} header") from exc
    check_shape(fmt, int(info.samplerate), int(info.channels))
    return info.frames / info.samplerate


def decode(data: bytes, max_seconds: float | None = None) -> Decoded:
    """Decode any supported upload to 16 kHz mono float32, validating what comes out.

    With `max_seconds`, decoding stops (AudioTooLong) once more audio than that has been
    read, so the memory spent never depends on what the file claims."""
    fmt = sniff(data)
    if fmt == "pcm":
        if max_seconds is not None and len(data) / 2 / SAMPLE_RATE > max_seconds:
            raise AudioTooLong(f"The audio is longer than {max_seconds:g} s")
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        rate, channels = SAMPLE_RATE, 1
    elif fmt in FFMPEG_FORMATS:
        samples, rate, channels = _decode_ffmpeg(data, fmt, max_seconds), SAMPLE_RATE, 0
    else:
        samples, rate, channels = _decode_soundfile(data, fmt, max_seconds)
    if samples.size == 0:
        raise EmptyAudio("The audio holds no samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError("The audio holds NaN or infinite samples")
    peak = float(np.max(np.abs(samples)))
    if peak > 1.0:  # float WAVs may exceed full scale; keep the pipeline's [-1, 1] promise
        samples = samples / peak
    return Decoded(np.ascontiguousarray(samples, dtype=np.float32), fmt, rate, channels)


def _too_long(max_seconds: float) -> AudioTooLong:
    return AudioTooLong(f"The audio is longer than {max_seconds:g} s")


def _decode_soundfile(
    data: bytes, fmt: str, max_seconds: float | None
) -> tuple[np.ndarray, int, int]:
    """Read block by block, mixing to mono and resampling each block to 16 kHz, and stop
    at the duration limit: only the 16 kHz result grows."""
    import soundfile

    corrupt = f"Could not decode the {fmt.upper()} audio (corrupt or truncated)"
    try:
        source = soundfile.SoundFile(io.BytesIO(data))
    except MemoryError:
        raise
    except Exception as exc:
        _refuse_forged_rate(data, fmt)
        raise AudioError(corrupt) from exc
    with source:
        rate, channels = int(source.samplerate), int(source.channels)
        check_shape(fmt, rate, channels)
        limit = None if max_seconds is None else int(max_seconds * rate)
        resampler = StreamResampler(rate, SAMPLE_RATE)
        block_frames = max(1024, BLOCK_SAMPLES // channels)
        out: list[np.ndarray] = []
        frames = 0
        while True:
            try:
                block = source.read(block_frames, dtype="float32", always_2d=True)
            except MemoryError:  # not the file's fault: the process's cap (sandbox.py)
                raise
            except Exception as exc:
                raise AudioError(corrupt) from exc
            if not len(block):
                break
            frames += len(block)
            if limit is not None and frames > limit:
                raise _too_long(max_seconds)
            mono = block.mean(axis=1, dtype=np.float32) if channels > 1 else block[:, 0]
            if not np.all(np.isfinite(mono)):
                raise AudioError("The audio holds NaN or infinite samples")
            out.append(resampler.push(mono))
    out.append(resampler.flush())
    return np.concatenate(out).astype(np.float32, copy=False), rate, channels


def _decode_ffmpeg(data: bytes, fmt: str, max_seconds: float | None) -> np.ndarray:
    """Decode through ffmpeg from a temporary file (M4A keeps its index at the end:
    unseekable from a pipe). Its output stops at the limit (`-t`, a little past it so a
    longer file is told from one exactly at the limit) and is read as it comes."""
    import os
    import tempfile
    import time

    binary = shutil.which("ffmpeg")
    if binary is None:
        raise UnsupportedAudio(f"{fmt.upper()} needs ffmpeg, which is not installed")
    cap = None if max_seconds is None else int(max_seconds * SAMPLE_RATE) * 4
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as source:
        source.write(data)
        source.flush()
        command = [binary, "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1"]
        command += ["-i", source.name, "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE)]
        if max_seconds is not None:
            command += ["-t", f"{max_seconds + 1:g}"]
        command += ["-f", "f32le", "pipe:1"]
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        out = bytearray()
        deadline = time.monotonic() + 120
        try:
            while chunk := os.read(process.stdout.fileno(), 1 << 16):
                out += chunk
                if cap is not None and len(out) > cap:
                    raise _too_long(max_seconds)
                if time.monotonic() > deadline:
                    raise AudioError(f"Decoding the {fmt.upper()} audio took too long")
            returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as exc:
            raise AudioError(f"Decoding the {fmt.upper()} audio took too long") from exc
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
    if returncode != 0 or len(out) < 4:
        raise AudioError(f"Could not decode the {fmt.upper()} audio (corrupt or truncated)")
    usable = len(out) - len(out) % 4
    return np.frombuffer(bytes(out[:usable]), dtype="<f4").copy()


# Rates whose ratio to 16 kHz needs larger terms are approximated (44 101 Hz is read as
# 44 100 Hz give or take 2 ppm): exact odd ratios made filters of millions of taps.
MAX_RATIO_TERM = 1000


class StreamResampler:
    """`scipy.signal.resample_poly`, fed block by block with the same output.

    Each output sample depends only on input samples within the filter's half-length, so
    blocks that start on a multiple of `down` and carry that much context on either side
    give exactly the samples a single call over the whole signal gives."""

    def __init__(self, source_rate: int, target_rate: int):
        ratio = Fraction(target_rate, source_rate).limit_denominator(MAX_RATIO_TERM)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.identity = self.up == self.down == 1
        if self.identity:
            return
        from scipy.signal import firwin

        half = 10 * max(self.up, self.down)  # resample_poly's own design
        self.taps = firwin(2 * half + 1, 1.0 / max(self.up, self.down), window=("kaiser", 5.0))
        self.taps = self.taps.astype(np.float32)
        context = -(-half // self.up) + 1  # input samples on either side an output uses
        self.pad = -(-context // self.down) * self.down
        self.step = max(self.down, (BLOCK_SAMPLES // self.down) * self.down)
        self.buffer = np.zeros(0, dtype=np.float32)
        self.offset = 0  # input index of buffer[0]; a multiple of `down`
        self.done = 0  # input index up to which outputs were given; a multiple of `down`

    def _run(self, segment: np.ndarray) -> np.ndarray:
        from scipy.signal import resample_poly

        return resample_poly(segment, self.up, self.down, window=self.taps)

    def push(self, samples: np.ndarray) -> np.ndarray:
        if self.identity:
            return samples.astype(np.float32, copy=True)
        self.buffer = np.concatenate((self.buffer, samples.astype(np.float32, copy=False)))
        out = []
        while self.offset + len(self.buffer) - self.done >= self.step + self.pad:
            end = self.done + self.step
            resampled = self._run(self.buffer[: end + self.pad - self.offset])
            first = (self.done - self.offset) * self.up // self.down
            out.append(resampled[first : (end - self.offset) * self.up // self.down])
            self.done = end
            drop = self.done - self.pad - self.offset
            if drop > 0:
                self.buffer = self.buffer[drop:]
                self.offset += drop
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def flush(self) -> np.ndarray:
        if self.identity or self.offset + len(self.buffer) <= self.done:
            return np.zeros(0, dtype=np.float32)
        resampled = self._run(self.buffer)
        return resampled[(self.done - self.offset) * self.up // self.down :]


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    resampler = StreamResampler(source_rate, target_rate)
    out = np.concatenate((resampler.push(samples), resampler.flush()))
    return out.astype(np.float32, copy=False)
