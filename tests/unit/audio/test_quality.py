"""Stream quality against the reference values of API.md / the older Mira (1 s clips, 16 kHz)."""

import numpy as np
import pytest

from mira.audio.quality import QualityMetrics, measure, overall_score

SR = 16_000
T = np.arange(SR) / SR


def test_silence_scores_thirty():
    metrics = measure(np.zeros(SR, dtype=np.float32))
    assert metrics == QualityMetrics(snr_db=0.0, clarity=0.0, rms=0.0)
    assert overall_score(metrics) == pytest.approx(30.0, abs=1e-6)


def test_white_noise_matches_the_reference():
    noise = np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32)
    metrics = measure(noise)
    assert metrics.rms == pytest.approx(0.0997, abs=0.002)
    assert metrics.clarity == pytest.approx(27.749, abs=1.0)
    assert metrics.snr_db == pytest.approx(0.148, abs=0.2)
    assert overall_score(metrics) == pytest.approx(48.45, abs=0.5)


def test_sine_matches_the_reference():
    sine = (0.1 * np.sin(2 * np.pi * 440 * T)).astype(np.float32)
    metrics = measure(sine)
    assert metrics.snr_db == pytest.approx(0.0, abs=0.01)
    assert metrics.clarity == pytest.approx(99.995, abs=0.01)
    assert metrics.rms == pytest.approx(0.0707, abs=1e-4)
    assert overall_score(metrics) == pytest.approx(67.07, abs=0.01)


def test_quiet_noise_then_tone_has_high_snr():
    rng = np.random.default_rng(1)
    clip = np.concatenate(
        [rng.normal(0, 0.005, SR // 2), 0.2 * np.sin(2 * np.pi * 500 * T[: SR // 2])]
    ).astype(np.float32)
    metrics = measure(clip)
    assert metrics.snr_db == pytest.approx(25.923, abs=0.3)
    assert metrics.clarity == pytest.approx(99.894, abs=0.1)
    assert overall_score(metrics) == pytest.approx(95.891, abs=0.3)


def test_manual_metrics_with_location_and_rssi():
    metrics = QualityMetrics(snr_db=15.0, clarity=50.0, rms=0.05)
    score = overall_score(
        metrics, location={"latitude": 0, "longitude": 0, "accuracy": 50}, rssi=-60
    )
    assert score == pytest.approx(56.75, abs=1e-9)


def test_location_without_accuracy_counts_one_hundred_metres():
    metrics = QualityMetrics(snr_db=0.0, clarity=0.0, rms=0.0)
    assert overall_score(metrics, location={"latitude": 1, "longitude": 2}) == pytest.approx(28.5)


@pytest.mark.parametrize("rssi, expected", [(-100, 15.0), (-90, 15.0), (-30, 30.0), (0, 30.0)])
def test_rssi_is_clamped(rssi, expected):
    metrics = QualityMetrics(snr_db=0.0, clarity=0.0, rms=0.0)
    assert overall_score(metrics, rssi=rssi) == pytest.approx(expected)


def test_tiny_and_empty_clips_do_not_fail():
    assert measure(np.zeros(0, dtype=np.float32)).rms == 0.0
    short = measure(np.full(50, 0.1, dtype=np.float32))
    assert 0.0 <= short.clarity <= 100.0


@pytest.mark.parametrize(
    "n, nperseg", [(48_000, 1024), (300, 75), (257, 64), (1000, 250), (64, 64)]
)
def test_welch_matches_scipy(n, nperseg):
    from scipy.signal import welch

    from mira.audio.quality import welch_psd

    x = np.random.default_rng(n).normal(0, 0.1, n)
    freqs, expected = welch(x, fs=SR, nperseg=nperseg)
    ours_freqs, ours = welch_psd(x, SR, nperseg)
    np.testing.assert_allclose(ours_freqs, freqs)
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-15)
