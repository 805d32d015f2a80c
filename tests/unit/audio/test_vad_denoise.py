import numpy as np
import pytest

from mira.audio.denoise import denoise, high_pass, spectral_gate
from mira.audio.vad import find_speech
from tests.audio_data import SR, sox_noise, speech, speech_files


@pytest.mark.parametrize("index", range(0, 100, 7))
def test_librispeech_utterances_hold_speech(index):
    assert index < len(speech_files())
    audio = high_pass(speech(index))
    report = find_speech(audio)
    assert report.has_speech
    assert 0.4 * report.duration_s < report.speech_s <= report.duration_s


@pytest.mark.parametrize("kind", ["whitenoise", "pinknoise", "brownnoise", "sine:60"])
def test_steady_noise_is_not_speech(kind):
    report = find_speech(high_pass(sox_noise(kind)))
    assert not report.has_speech, report.segments


@pytest.mark.parametrize("seed", range(20))
def test_brown_noise_of_any_seed_is_not_speech(seed):
    """Rumble fluctuates at low frequencies, which fooled an energy gate over the full band."""
    walk = np.cumsum(np.random.default_rng(seed).normal(0, 1, 3 * SR))
    walk -= np.linspace(walk[0], walk[-1], len(walk))
    brown = (0.1 * walk / np.max(np.abs(walk))).astype(np.float32)
    assert not find_speech(high_pass(brown)).has_speech


def test_digital_silence_is_not_speech():
    assert not find_speech(np.zeros(SR * 2, dtype=np.float32)).has_speech


def test_a_pause_splits_the_speech_into_segments():
    first, second = speech(10)[: SR * 2], speech(20)[: SR * 2]
    audio = np.concatenate([first, np.zeros(SR * 2, dtype=np.float32), second])
    report = find_speech(high_pass(audio))
    assert len(report.segments) >= 2
    # Nothing is found in the middle of the silence.
    assert not any(s.start_s < 3.0 < s.end_s for s in report.segments)
    assert report.segments[0].start_s < 0.5 and report.segments[-1].end_s > 4.5


def test_speech_in_moderate_noise_is_still_found():
    clean = speech(30)
    noise = np.resize(sox_noise("pinknoise", 5.0), len(clean))
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) / 10 ** (10 / 20)  # 10 dB SNR
    report = find_speech(high_pass(clean + noise))
    assert report.has_speech
    assert report.speech_s > 0.3 * report.duration_s


def test_speech_samples_concatenate_only_the_segments():
    audio = np.concatenate([np.zeros(SR, dtype=np.float32), speech(40)[: SR * 2]])
    report = find_speech(audio)
    assert len(report.samples(audio)) == pytest.approx(
        report.speech_s * SR, abs=len(report.segments) + 1
    )


def test_high_pass_removes_hum_and_keeps_voice_band():
    t = np.arange(SR * 2) / SR
    hum = 0.3 * np.sin(2 * np.pi * 50 * t)
    tone = 0.1 * np.sin(2 * np.pi * 1000 * t)
    mixed = (hum + tone).astype(np.float32)
    out = high_pass(mixed)[SR // 2 :]  # skip the filter's start-up

    def level(signal, freq):
        spectrum = np.abs(np.fft.rfft(signal))
        return spectrum[np.argmin(np.abs(np.fft.rfftfreq(len(signal), 1 / SR) - freq))]

    # 5th-order Butterworth at 80 Hz: (50/80)^5 ≈ -20 dB at 50 Hz; the voice band is untouched.
    assert level(out, 50) < 0.12 * level(mixed[SR // 2 :], 50)
    assert level(out, 1000) == pytest.approx(level(mixed[SR // 2 :], 1000), rel=0.02)
    assert np.sqrt(np.mean(out**2)) == pytest.approx(0.1 / np.sqrt(2), rel=0.05)


def test_spectral_gating_lowers_steady_noise_around_speech():
    clean = speech(50)
    noise = np.resize(sox_noise("whitenoise", 5.0, 0.02), len(clean) + SR)
    noisy = np.concatenate([np.zeros(SR, dtype=np.float32), clean]) + noise
    gated = spectral_gate(high_pass(noisy.astype(np.float32)))
    # The leading second is noise only: gating must cut its power by at least half.
    assert np.mean(gated[SR // 4 : SR] ** 2) < 0.5 * np.mean(noisy[SR // 4 : SR] ** 2)
    assert gated.dtype == np.float32 and len(gated) == len(noisy)


def test_denoise_modes():
    audio = speech(60)[:SR]
    assert denoise(audio, "off") is audio
    assert np.allclose(denoise(audio, "highpass"), high_pass(audio))
    with pytest.raises(ValueError):
        denoise(audio, "magic")


def test_segments_hold_plain_floats():
    report = find_speech(speech(0))
    assert all(type(s.start_s) is float and type(s.end_s) is float for s in report.segments)
