"""Bounded decoding: the block-wise resampler, the sample-rate bounds, the stop at the
duration limit, and the memory-capped helper process that runs decodes for jobs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from mira.audio import sandbox
from mira.audio.decode import (
    AudioError,
    AudioTooLong,
    StreamResampler,
    UnsupportedSampleRate,
    decode,
)
from tests.audio_data import SR, encode_soundfile, speech, wav_bytes


@pytest.mark.parametrize("rate", [4_000, 8_000, 11_025, 22_050, 44_100, 48_000, 96_000, 384_000])
def test_block_wise_resampling_equals_one_call_over_the_whole_signal(rate):
    signal = np.random.default_rng(rate).standard_normal(rate * 3 + 77).astype(np.float32)
    resampler = StreamResampler(rate, SR)
    step = 4_321 + rate // 5  # blocks that start anywhere, as libsndfile hands them out
    parts = [resampler.push(signal[i : i + step]) for i in range(0, len(signal), step)]
    out = np.concatenate([*parts, resampler.flush()])
    whole = resample_poly(signal, resampler.up, resampler.down)
    assert len(out) == len(whole)
    np.testing.assert_allclose(out, whole, atol=1e-5)


def test_an_odd_rate_gets_a_small_filter():
    """44 101 Hz is 16 000/44 101 exactly: a filter of 882 021 taps. It is read as a ratio
    with terms up to 1000 instead (2 ppm off)."""
    resampler = StreamResampler(44_101, SR)
    assert max(resampler.up, resampler.down) <= 1000
    assert abs(resampler.up / resampler.down - SR / 44_101) < 1e-5
    assert len(resampler.taps) <= 20_001


def test_a_44k_stereo_flac_decodes_as_before():
    source = speech(1)
    hi = resample_poly(source, 441, 160)
    decoded = decode(encode_soundfile(np.stack([hi, hi], axis=1), 44_100, "FLAC", "PCM_16"))
    expected = resample_poly(hi.astype(np.float32), 160, 441)
    assert len(decoded.samples) == len(expected)
    assert np.max(np.abs(decoded.samples - expected)) < 1e-3  # 16-bit quantisation


@pytest.mark.parametrize("rate", [1_000, 3_999, 384_001, 3_000_000])
def test_sample_rates_outside_the_bounds_are_refused(rate):
    with pytest.raises(UnsupportedSampleRate):
        decode(encode_soundfile(np.zeros(4000, dtype=np.float32), rate, "WAV", "PCM_16"))


def test_decoding_stops_at_the_limit_whatever_the_header_says():
    """A FLAC of 5 s decoded with a 2 s limit fails while reading, before it is all read."""
    with pytest.raises(AudioTooLong):
        decode(encode_soundfile(np.zeros(SR * 5, np.float32), SR, "FLAC", "PCM_16"), max_seconds=2)
    exact = decode(wav_bytes(np.zeros(SR * 2, dtype=np.float32)), max_seconds=2)
    assert exact.duration_s == 2.0


def test_the_helper_decodes_what_decode_decodes():
    data = encode_soundfile(speech(3), SR, "OGG", "VORBIS")
    here, there = decode(data, 600.0), sandbox.decode_isolated(data, 600.0, 1024)
    assert (there.source_format, there.source_rate) == (here.source_format, here.source_rate)
    np.testing.assert_array_equal(there.samples, here.samples)
    with pytest.raises(AudioError) as info:
        sandbox.decode_isolated(b"\x89PNG\r\n\x1a\n" + bytes(100), 600.0, 1024)
    assert info.value.code == "UNSUPPORTED_AUDIO"


def _vm_size_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmSize:\s+(\d+)", status).group(1)) / 1024


def test_a_decode_past_the_helpers_cap_fails_cleanly_and_the_helper_comes_back():
    """A cap just above what the helper's libraries take: 590 s of audio (38 MB of 16 kHz
    float32, held twice on the way out) cannot fit, and the answer is a MemoryError turned
    into DECODE_MEMORY_LIMIT, not a dead worker. The next decode gets a new helper."""
    sandbox.decode_isolated(wav_bytes(speech(0)), 600.0, 1024)
    baseline = _vm_size_mb(sandbox.helper_pid(1024))
    cap = int(baseline) + 40
    long_flac = encode_soundfile(np.zeros(SR * 590, dtype=np.float32), SR, "FLAC", "PCM_16")
    with pytest.raises(AudioError) as info:
        sandbox.decode_isolated(long_flac, 600.0, cap)
    assert info.value.code == sandbox.MEMORY_LIMIT_CODE
    assert "Error" not in str(info.value)
    short = sandbox.decode_isolated(wav_bytes(speech(0)[:SR]), 600.0, cap)
    assert short.duration_s == pytest.approx(1.0)
