"""Decompression bombs and forged headers, made at test time with ffmpeg.

An hour of 48 kHz stereo silence compresses to well under 2 MB in OGG/Vorbis, Opus, FLAC
and WebM (MP3 at 32 kbit/s: 14 MB), yet decodes to 1.4 GB of float32 samples. Vorbis and
MP3 are encoded for one minute and looped sixty times with stream copy (seconds, not a
minute of encoding); Opus, FLAC and WebM are encoded straight (libsndfile refuses a
looped Opus stream). Used by tests/api/test_hostile_audio.py, the e2e test and
bench/hostile_audio.py.
"""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import threading
from pathlib import Path

SILENCE = "anullsrc=r=48000:cl=stereo:nb_samples=48000"
# name -> (file name, encoder arguments, loop a minute instead of encoding an hour)
BOMBS = {
    "ogg_vorbis_hour": ("vorbis.ogg", ["-c:a", "libvorbis"], True),
    "ogg_opus_hour": ("opus.ogg", ["-c:a", "libopus", "-compression_level", "0"], False),
    "flac_hour": ("hour.flac", ["-c:a", "flac"], False),
    "mp3_hour": ("hour.mp3", ["-c:a", "libmp3lame", "-b:a", "32k"], True),
    "webm_opus_hour": ("hour.webm", ["-c:a", "libopus", "-compression_level", "0"], False),
}


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True
    )


def make_bomb(folder: Path, name: str) -> Path:
    file_name, codec, loop = BOMBS[name]
    target = folder / file_name
    if loop:
        minute = folder / f"minute-{file_name}"
        _ffmpeg("-f", "lavfi", "-i", SILENCE, "-t", "60", *codec, str(minute))
        _ffmpeg("-stream_loop", "59", "-i", str(minute), "-c", "copy", str(target))
        minute.unlink()
    else:
        _ffmpeg("-f", "lavfi", "-i", SILENCE, "-t", "3600", *codec, str(target))
    return target


def forged_rate_wav(rate: int, seconds_of_data: float = 4.0) -> bytes:
    """A 16-bit mono WAV of 16 kHz samples (128 KB for 4 s) whose header claims `rate`."""
    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(
        buffer, np.zeros(int(16_000 * seconds_of_data), dtype=np.float32), 16_000, format="WAV"
    )
    data = bytearray(buffer.getvalue())
    data[24:28] = rate.to_bytes(4, "little")  # sample rate
    data[28:32] = (rate * 2 % 2**32).to_bytes(4, "little")  # byte rate
    return bytes(data)


FORGED_WAVS = {"wav_3mhz": 3_000_000, "wav_2pow31hz": 2**31}


def make_corpus(folder: Path) -> dict[str, bytes]:
    """Every bomb and forged header, by name (needs ffmpeg)."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = {name: make_bomb(folder, name).read_bytes() for name in BOMBS}
    corpus.update({name: forged_rate_wav(rate) for name, rate in FORGED_WAVS.items()})
    return corpus


def big_wav(megabytes: float = 36) -> bytes:
    """A silent 16 kHz WAV of about `megabytes` MB (36 MB: 19 minutes), over the 25 MiB limit."""
    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    samples = np.zeros(int(megabytes * 1e6 / 2), dtype=np.int16)
    soundfile.write(buffer, samples, 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def post_chunked(
    host: str, port: int, path: str, headers: dict[str, str], body: bytes, chunk: int = 1 << 16
) -> tuple[int, dict]:
    """POST `body` with `Transfer-Encoding: chunked` over a raw socket; (status, JSON body).

    The body is sent from a thread while the answer is read: a server that answers 413
    before the body ends stops reading it, and a client that only sends would block."""
    sock = socket.create_connection((host, port), timeout=60)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Transfer-Encoding: chunked"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode()

    def send() -> None:
        try:
            sock.sendall(head)
            for start in range(0, len(body), chunk):
                part = body[start : start + chunk]
                sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed before the body ended
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = sock.makefile("rb")
    status = int(answer.readline().split()[1])
    length, chunked = None, False
    while (line := answer.readline().strip()) != b"":
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        data = b""
        while (size := int(answer.readline().strip(), 16)) > 0:
            data += answer.read(size)
            answer.readline()
    else:
        data = answer.read(length) if length is not None else answer.read()
    sock.close()
    sender.join(timeout=30)
    return status, json.loads(data) if data else {}


# Reading the worker and its decoding helper from /proc (the e2e test and the benchmark) -----


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), read by anyone: ru_maxrss would carry a
    parent's figure into a child started with fork and exec."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren…) alive now."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            match = re.search(r"PPid:\s+(\d+)", status)
            if match and int(match.group(1)) == parent:
                found.append(int(entry.name))
                todo.append(int(entry.name))
    return found
