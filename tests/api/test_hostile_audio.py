"""Hostile audio: decompression bombs, forged WAV headers and chunked bodies over the limit.

Each is answered with a clean 4xx in the error envelope at upload, or becomes a job that
fails cleanly (`CODE: message`, one attempt, never retried); nothing over the size limit is
stored; and decoding any of them stays far below 1 GB of memory. The bombs are made with
ffmpeg at test time (tests/hostile_audio.py).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs.models import Job
from tests.audio_data import SR, require_tool, speech, wav_bytes
from tests.hostile_audio import big_wav, make_corpus, post_chunked

ROOT = Path(__file__).resolve().parents[2]
GB_KB = 1024 * 1024  # ru_maxrss and VmHWM are in KB
# What each bomb must come to: refused at upload, or a job that fails with this code.
EXPECTED = {
    "ogg_vorbis_hour": "AUDIO_TOO_LONG",
    "ogg_opus_hour": "AUDIO_TOO_LONG",
    "flac_hour": "AUDIO_TOO_LONG",
    "mp3_hour": "AUDIO_TOO_LONG",
    "webm_opus_hour": "AUDIO_TOO_LONG",
    "wav_3mhz": "UNSUPPORTED_SAMPLE_RATE",
    "wav_2pow31hz": "UNSUPPORTED_SAMPLE_RATE",
}
PYTHON_NAMES = re.compile(r"Error\b|Exception|Traceback|<class")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, bytes]:
    require_tool("ffmpeg")
    return make_corpus(tmp_path_factory.mktemp("bombs"))


def stored_files(app, network_id) -> list[Path]:
    folder = Path(app.config["MIRA_STORAGE_URL"]) / str(network_id)
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def nothing_stored(app, alice) -> None:
    assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 0
    assert stored_files(app, alice.network_id) == []


def test_the_corpus_really_is_bombs(corpus):
    """The files are what they claim: an hour each, or a forged rate (else nothing here
    tests anything)."""
    import soundfile

    for name in ("ogg_vorbis_hour", "ogg_opus_hour", "flac_hour", "mp3_hour"):
        info = soundfile.info(io.BytesIO(corpus[name]))
        assert info.frames / info.samplerate > 3500, name
        assert (info.samplerate, info.channels) == (48_000, 2)
        assert len(corpus[name]) < 25 * 1024 * 1024
    assert len(corpus["webm_opus_hour"]) < 2 * 1024 * 1024
    assert int.from_bytes(corpus["wav_3mhz"][24:28], "little") == 3_000_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_bomb_is_refused_or_fails_its_job_cleanly(app, client, alice, mic, corpus, name):
    response = client.post(
        f"{alice.prefix()}/interactions/register?wait=30",
        data={"audio": (io.BytesIO(corpus[name]), "clip.bin"), "client_id": "kitchen"},
        headers=mic,
        content_type="multipart/form-data",
    )
    body = response.json
    if 400 <= response.status_code < 500:
        assert body["error_code"] == EXPECTED[name], body
        assert {"detail", "error_code", "request_id"} <= set(body)
        nothing_stored(app, alice)
        return
    assert response.status_code == 200, body  # the sync queue ran the job
    assert body["status"] == "failed", body
    assert body["error"].startswith(f"{EXPECTED[name]}: "), body["error"]
    assert not PYTHON_NAMES.search(body["error"]), body["error"]
    assert body["attempts"] == 1
    db.session.rollback()
    job = db.session.get(Job, uuid.UUID(body["id"]))
    assert (job.status, job.attempts) == ("failed", 1)  # a retried job would be queued again
    assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 0


def test_forged_sample_rates_are_refused_from_the_header():
    from mira.audio.decode import AudioError, decode, probe_duration, sniff
    from tests.hostile_audio import forged_rate_wav

    for rate in (3_000_000, 2**31, 1_000):
        data = forged_rate_wav(rate)
        for judge in (lambda d: probe_duration(d, sniff(d)), decode):
            with pytest.raises(AudioError) as info:
                judge(data)
            assert info.value.code == "UNSUPPORTED_SAMPLE_RATE"


DECODE_SCRIPT = """
import json, resource, sys
from mira.audio.decode import AudioError, decode
data = open(sys.argv[1], "rb").read()
try:
    decoded = decode(data, 600.0)
    outcome = f"decoded {decoded.duration_s:.0f} s"
except AudioError as exc:
    outcome = exc.code
status = open("/proc/self/status").read()
print(json.dumps({
    "outcome": outcome,
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent.
    "self_kb": int(status.split("VmHWM:")[1].split()[0]),
    # ffmpeg's, which does include this process's RSS at its fork: an upper bound.
    "ffmpeg_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""


def test_decoding_any_bomb_stays_far_below_a_gigabyte(corpus, tmp_path):
    """The decoder alone, in a fresh process and without the helper's cap: its peak RSS
    (and ffmpeg's, for WebM) is bounded by construction. Before bounded decoding, the OGG
    hour took 2.7 GB and the 3 MHz header 3.4 GB."""
    peaks = {}
    for name, data in corpus.items():
        path = tmp_path / name
        path.write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-c", DECODE_SCRIPT, str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        assert figures["outcome"] == EXPECTED[name], (name, figures)
        peaks[name] = max(figures["self_kb"], figures["ffmpeg_kb"])
        print(
            f"{name}: decoder peak RSS {figures['self_kb'] / 1024:.0f} MB"
            + (f", ffmpeg <= {figures['ffmpeg_kb'] / 1024:.0f} MB" if figures["ffmpeg_kb"] else "")
        )
    worst = max(peaks.values())
    assert worst <= GB_KB, peaks
    # Bounded means far below: the interpreter with numpy/scipy/soundfile is ~70 MB.
    assert worst <= 400 * 1024, peaks


def test_the_decoding_helper_kept_its_peak(app, corpus):
    """The jobs' decoder runs in the capped helper; after the bombs that reach a job, its
    peak RSS is the bounded decode's."""
    from mira.audio import sandbox

    for name in ("mp3_hour", "webm_opus_hour", "ogg_vorbis_hour"):
        data = corpus[name]
        decoded_error = None
        try:
            sandbox.decode_isolated(data, 600.0, app.config["MIRA_DECODE_MEMORY_MB"])
        except Exception as exc:  # AudioError, checked below
            decoded_error = getattr(exc, "code", repr(exc))
        assert decoded_error == "AUDIO_TOO_LONG"
    pid = sandbox.helper_pid(app.config["MIRA_DECODE_MEMORY_MB"])
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    print(f"decoding helper peak RSS: {peak_kb / 1024:.0f} MB")
    assert peak_kb <= GB_KB


# --- chunked bodies ------------------------------------------------------------------------


def chunked(client, path, data, headers, content_type):
    """A body with no Content-Length, as gunicorn and werkzeug's server hand a chunked one
    on (they set wsgi.input_terminated: the server ends the stream)."""
    return client.post(
        path,
        input_stream=io.BytesIO(data),
        headers={**headers, "Transfer-Encoding": "chunked", "Content-Type": content_type},
        environ_base={"wsgi.input_terminated": True},
    )


def multipart(data: bytes, boundary: str = "mira-hostile") -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nkitchen\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; '
        f'filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n'
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode()


def test_a_chunked_raw_body_over_the_limit_is_413_and_nothing_is_stored(app, client, alice, mic):
    data = big_wav(36)
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    path = f"{alice.prefix()}/interactions/register?client_id=kitchen"
    response = chunked(client, path, data, mic, "audio/wav")
    assert response.status_code == 413, response.json
    assert response.json["error_code"] == "PAYLOAD_TOO_LARGE"
    nothing_stored(app, alice)


def test_a_chunked_multipart_body_over_the_limit_is_413(app, client, alice, mic):
    body = multipart(big_wav(36))
    path = f"{alice.prefix()}/interactions/register"
    response = chunked(client, path, body, mic, "multipart/form-data; boundary=mira-hostile")
    assert response.status_code == 413, response.json
    assert response.json["error_code"] == "PAYLOAD_TOO_LARGE"
    nothing_stored(app, alice)


def test_a_chunked_body_within_the_limit_is_stored_whole(app, client, alice, mic):
    data = wav_bytes(speech(0))
    path = f"{alice.prefix()}/streams/kitchen/audio"
    response = chunked(client, path, data, mic, "audio/wav")
    assert response.status_code in (200, 202), response.json
    [stored] = stored_files(app, alice.network_id)
    assert stored.read_bytes() == data


def test_a_body_of_exactly_the_limit_is_not_refused(make_app, _schema, alice, device_key):
    """The limit is inclusive, as for Content-Length: only a longer body is 413."""
    data = wav_bytes(speech(1))
    small = make_app(MAX_CONTENT_LENGTH=len(data))
    with small.app_context():
        small_client = small.test_client()
        headers = {"X-API-Key": device_key}
        small_client.post(f"{alice.prefix()}/service/client/register/kitchen", headers=headers)
        path = f"{alice.prefix()}/interactions/register?client_id=kitchen"
        whole = chunked(small_client, path, data, headers, "audio/wav")
        longer = chunked(small_client, path, data + bytes(2), headers, "audio/wav")
    assert whole.status_code == 202, whole.json
    assert longer.status_code == 413
    assert len(data) / 2 / SR < 600


def test_a_chunked_body_over_the_limit_over_real_http(app, alice, mic, live):
    """werkzeug's own server, a real socket and real chunked framing."""
    url = urlparse(live)
    status, body = post_chunked(
        url.hostname,
        url.port,
        f"{alice.prefix()}/interactions/register?client_id=kitchen",
        {**mic, "Content-Type": "application/octet-stream"},
        big_wav(36),
    )
    assert status == 413, body
    assert body["error_code"] == "PAYLOAD_TOO_LARGE"
    db.session.rollback()
    nothing_stored(app, alice)


def test_a_memory_error_fails_the_job_for_good_with_a_code():
    from jobs.runner import failure_of

    error, retry = failure_of(MemoryError())
    assert error.startswith("OUT_OF_MEMORY: ")
    assert not PYTHON_NAMES.search(error)
    assert retry is False
