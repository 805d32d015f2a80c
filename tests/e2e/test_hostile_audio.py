"""Hostile audio against the real stack: gunicorn, `flask mira worker`, PostgreSQL, Redis.

The bomb corpus is uploaded through gunicorn; each bomb is refused with a 4xx envelope or
its job fails cleanly, once. The worker and its decoding helper are then read from /proc:
their peak RSS (VmHWM) stays under 1 GB, and the worker is the same process throughout.
A chunked body over the limit gets 413 from gunicorn and leaves nothing behind.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from tests.audio_data import require_tool
from tests.hostile_audio import (
    big_wav,
    command_line,
    descendants,
    make_corpus,
    peak_rss_mb,
    post_chunked,
)

GB_MB = 1024
PYTHON_NAMES = re.compile(r"Error\b|Exception|Traceback|<class")


def test_bombs_leave_the_worker_standing_within_a_gigabyte(stack, tmp_path):
    require_tool("ffmpeg")
    corpus = make_corpus(tmp_path / "bombs")
    stack.start_web()
    worker = stack.start_worker(MIRA_DECODE_MEMORY_MB="1024")
    # The worker process itself: `flask mira worker` runs in the Popen'd process.
    stack.register_client("kitchen")
    jobs, refused = {}, {}
    for name, data in corpus.items():
        response = stack.upload(data, "kitchen")
        if response.status_code == 202:
            jobs[name] = response.json()["job_id"]
        else:
            assert 400 <= response.status_code < 500, (name, response.text)
            refused[name] = response.json()["error_code"]
    assert refused["wav_3mhz"] == refused["wav_2pow31hz"] == "UNSUPPORTED_SAMPLE_RATE"
    assert {"mp3_hour", "webm_opus_hour"} <= set(jobs)
    finished = dict(zip(jobs, stack.wait_jobs(list(jobs.values()), timeout_s=240), strict=True))
    for name, job in finished.items():
        assert job["status"] == "failed", (name, job)
        assert job["error"].startswith("AUDIO_TOO_LONG: "), (name, job["error"])
        assert not PYTHON_NAMES.search(job["error"])
        assert job["attempts"] == 1, (name, job)
    assert worker.poll() is None, stack.read_log("worker")
    # The worker's children: the decoding helper, and RQ's scheduler (a fork of the worker,
    # whose VmHWM counts the pages it shares with it).
    children = {pid: command_line(pid) for pid in descendants(worker.pid)}
    helpers = [pid for pid, command in children.items() if "mira.audio.sandbox" in command]
    assert len(helpers) == 1, children
    figures = {"worker": peak_rss_mb(worker.pid), "decoding helper": peak_rss_mb(helpers[0])}
    figures.update({f"child {pid}": peak_rss_mb(pid) for pid in children if pid not in helpers})
    print("peak RSS (MB) after the bomb corpus:", {k: round(v) for k, v in figures.items()})
    assert max(figures.values()) <= GB_MB, figures
    # And the worker still does its work: a real utterance after the bombs.
    from tests.audio_data import speech, wav_bytes

    ok = stack.upload(wav_bytes(speech(0)), "kitchen")
    [job] = stack.wait_jobs([ok.json()["job_id"]], timeout_s=120)
    assert job["status"] == "succeeded", job


@pytest.mark.parametrize("content_type", ["application/octet-stream", "multipart"])
def test_gunicorn_answers_413_to_a_chunked_body_over_the_limit(stack, content_type):
    stack.start_web()
    stack.register_client("kitchen")
    data = big_wav(36)
    headers = dict(stack.headers)
    path = f"/api/v1/{stack.network_id}/interactions/register?client_id=kitchen"
    if content_type == "multipart":
        boundary = "mira-e2e"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; '
            f'filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode()
        data = head + data + f"\r\n--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    else:
        headers["Content-Type"] = content_type
    url = urlparse(stack.base_url)
    status, body = post_chunked(url.hostname, url.port, path, headers, data)
    assert status == 413, body
    assert body["error_code"] == "PAYLOAD_TOO_LARGE"
    stored = [p for p in (stack.tmp / "audio").rglob("*") if p.is_file()]
    assert stored == []
    import sqlalchemy

    engine = sqlalchemy.create_engine(stack.env["DATABASE_URL"])
    with engine.connect() as conn:
        for table in ("jobs", "interactions"):
            count = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
            assert count == 0, table
    engine.dispose()
