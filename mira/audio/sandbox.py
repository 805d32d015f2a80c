"""Decode uploads in a helper process with a memory cap, so no audio can take a worker down.

`decode` is bounded by construction (mira/audio/decode.py), but it runs libsndfile and
ffmpeg on bytes anyone may send: a decoder bug, a format trick not foreseen, a crash.
Inside the worker (the RQ worker's own process, or the web process's job threads in
embedded mode) an out-of-memory kill or a segfault would take the worker and its
in-flight jobs with it. So each worker process keeps one long-lived helper,
`python -m mira.audio.sandbox`, whose address space is capped with RLIMIT_AS (ffmpeg,
started by it, inherits the cap): an allocation past the cap raises MemoryError in the
helper, which answers `DECODE_MEMORY_LIMIT`; a helper that dies is replaced on the next
decode and the job fails for good with a clear code. A fork per job would do the same
for every stage but cost 130-270 ms per job with the models loaded (mira/worker.py); the
helper costs a pipe round trip (the 16 kHz samples come back, 64 KB per second of audio).

Protocol on the helper's stdin/stdout: a request is `!Qd` (byte count, max seconds or NaN)
then the bytes; a reply is `!BI` (0 ok / 1 error, JSON length), the JSON, and for ok the
float32 samples.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import Any


class _Gone(Exception):
    """The helper had exited before the request reached it (not this audio's doing)."""


REQUEST = struct.Struct("!Qd")
REPLY = struct.Struct("!BI")
MEMORY_LIMIT_CODE = "DECODE_MEMORY_LIMIT"
# Libraries start thread pools sized to the machine; each thread reserves address space.
CHILD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONUNBUFFERED": "1",
}
# Slower than this (bounded decodes take seconds) and the helper is stuck: it is replaced.
TIMEOUT_S = 180.0


class _Helper:
    def __init__(self, memory_mb: int):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {**os.environ, **CHILD_ENV}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self.memory_mb = memory_mb
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mira.audio.sandbox", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            # Signals meant for the worker's process group (Ctrl-C, a stop) do not reach the
            # helper mid-decode; it exits by itself when the worker's end of its stdin closes.
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()

    def _read(self, size: int, deadline: float) -> bytes:
        out = bytearray()
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while len(out) < size:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise TimeoutError
                chunk = os.read(fd, min(size - len(out), 1 << 20))
                if not chunk:
                    raise EOFError
                out += chunk
        return bytes(out)

    def call(self, data: bytes, max_seconds: float | None, timeout_s: float):
        """(meta, samples bytes) or raises EOFError (helper died), TimeoutError."""
        limit = math.nan if max_seconds is None else float(max_seconds)
        try:
            self.process.stdin.write(REQUEST.pack(len(data), limit))
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except OSError as exc:  # the helper was gone before it saw this audio
            raise _Gone from exc
        deadline = time.monotonic() + timeout_s
        status, size = REPLY.unpack(self._read(REPLY.size, deadline))
        meta = json.loads(self._read(size, deadline))
        samples = self._read(meta["n"] * 4, deadline) if status == 0 else b""
        return status, meta, samples


_lock = threading.Lock()
_helpers: dict[tuple[int, int], _Helper] = {}


def _helper(memory_mb: int) -> _Helper:
    """This process's helper (a forked process starts its own)."""
    key = (os.getpid(), memory_mb)
    helper = _helpers.get(key)
    if helper is None or not helper.alive():
        if helper is not None:
            helper.stop()
        helper = _helpers[key] = _Helper(memory_mb)
    return helper


def helper_pid(memory_mb: int) -> int | None:
    """The pid of this process's helper, if one runs (tests and benchmarks read its peak)."""
    helper = _helpers.get((os.getpid(), memory_mb))
    return helper.pid if helper is not None and helper.alive() else None


def decode_isolated(
    data: bytes, max_seconds: float | None, memory_mb: int, timeout_s: float = TIMEOUT_S
):
    """`decode.decode` in the capped helper; the same Decoded, the same AudioErrors."""
    import numpy as np

    from mira.audio.decode import AudioError, Decoded

    with _lock:  # one decode at a time per process: the helper serves requests in turn
        helper = _helper(memory_mb)
        try:
            try:
                status, meta, samples = helper.call(data, max_seconds, timeout_s)
            except _Gone:
                helper.stop()
                helper = _helper(memory_mb)
                status, meta, samples = helper.call(data, max_seconds, timeout_s)
        except _Gone as exc:  # twice: not this audio; a transient failure, retried
            helper.stop()
            raise ConnectionError("the audio decoding helper could not be started") from exc
        except TimeoutError as exc:
            helper.stop()
            raise AudioError("Decoding the audio took too long") from exc
        except EOFError as exc:
            helper.stop()
            code = helper.process.returncode
            if code == -signal.SIGKILL:  # the kernel's out-of-memory killer, as a rule
                raise AudioError(
                    f"Decoding the audio needed more memory than the {memory_mb} MB allowed",
                    MEMORY_LIMIT_CODE,
                ) from exc
            raise AudioError("The decoder failed on this audio (corrupt data)") from exc
        if status != 0 and meta["code"] == MEMORY_LIMIT_CODE:
            helper.stop()  # it exits after a MemoryError; the next decode starts a new one
    if status != 0:
        raise AudioError(meta["message"], meta["code"])
    array = np.frombuffer(samples, dtype=np.float32).copy()
    return Decoded(array, meta["format"], meta["rate"], meta["channels"])


def decode_configured(data: bytes, config: Any):
    """Decode an upload with the app's settings: `MIRA_MAX_AUDIO_SECONDS`, and
    `MIRA_DECODE_MEMORY_MB` (0: in this process, as on Lambda where an invocation is alone
    with its memory anyway)."""
    max_seconds = config["MIRA_MAX_AUDIO_SECONDS"]
    memory_mb = int(config.get("MIRA_DECODE_MEMORY_MB") or 0)
    if memory_mb <= 0:
        from mira.audio.decode import decode

        return decode(data, max_seconds)
    return decode_isolated(data, max_seconds, memory_mb)


# --- the helper process ------------------------------------------------------------------


def _read_exact(stream, size: int) -> bytes | None:
    out = bytearray()
    while len(out) < size:
        chunk = stream.read(size - len(out))
        if not chunk:
            return None
        out += chunk
    return bytes(out)


def _reply(stream, status: int, meta: dict, samples: bytes = b"") -> None:
    body = json.dumps(meta).encode()
    stream.write(REPLY.pack(status, len(body)))
    stream.write(body)
    stream.write(samples)
    stream.flush()


def serve(memory_mb: int) -> None:
    """Answer decode requests until stdin closes, under an address-space cap."""
    import resource

    # Everything a decode loads, loaded before the cap: their mappings are not the audio's.
    import numpy as np  # noqa: F401
    import scipy.signal  # noqa: F401
    import soundfile  # noqa: F401

    from mira.audio.decode import AudioError, decode

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = _read_exact(stdin, REQUEST.size)
        if header is None:
            return
        size, max_seconds = REQUEST.unpack(header)
        data = _read_exact(stdin, size)
        if data is None:
            return
        try:
            decoded = decode(data, None if math.isnan(max_seconds) else max_seconds)
        except AudioError as exc:
            _reply(stdout, 1, {"code": exc.code, "message": str(exc)})
            continue
        except MemoryError:
            del data
            _reply(
                stdout,
                1,
                {
                    "code": MEMORY_LIMIT_CODE,
                    "message": f"Decoding the audio needs more than the {memory_mb} MB allowed",
                },
            )
            return  # start afresh: a failed allocation may leave libraries half-done
        except Exception as exc:  # a decoder's own failure on hostile bytes
            print(f"mira decode helper: {exc!r}", file=sys.stderr)
            _reply(stdout, 1, {"code": "CORRUPT_AUDIO", "message": "Could not decode the audio"})
            continue
        samples = decoded.samples
        meta = {
            "format": decoded.source_format,
            "rate": decoded.source_rate,
            "channels": decoded.source_channels,
            "n": int(samples.size),
        }
        _reply(stdout, 0, meta, samples.astype("<f4", copy=False).tobytes())


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(int(sys.argv[1]))
