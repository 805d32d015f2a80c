import numpy as np
import pytest

from mira.audio.decode import (
    AudioError,
    AudioTooLong,
    EmptyAudio,
    UnsupportedAudio,
    decode,
    probe_duration,
    sniff,
)
from tests.audio_data import SR, encode_ffmpeg, encode_soundfile, speech, wav_bytes


def _close_to_source(decoded: np.ndarray, source: np.ndarray, min_corr: float = 0.9) -> None:
    n = min(len(decoded), len(source))
    assert abs(len(decoded) - len(source)) < 0.1 * SR  # codecs pad whole frames (AAC: 1024)
    # Lossy codecs shift by a few samples: compare the best alignment within ±50 ms.
    best = max(
        np.corrcoef(decoded[max(0, s) : n + min(0, s)], source[max(0, -s) : n - max(0, s)])[0, 1]
        for s in range(-800, 801, 16)
    )
    assert best > min_corr


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_wav_of_every_sample_width_decodes(subtype):
    source = speech(0)
    decoded = decode(wav_bytes(source, SR, subtype))
    assert decoded.source_format == "wav"
    assert decoded.samples.dtype == np.float32
    _close_to_source(decoded.samples, source, 0.99)


def test_stereo_44k_wav_becomes_16k_mono():
    source = speech(1)
    from scipy.signal import resample_poly

    hi = resample_poly(source, 441, 160)
    stereo = np.stack([hi, 0.5 * hi], axis=1)
    decoded = decode(encode_soundfile(stereo, 44_100, "WAV", "PCM_16"))
    assert (decoded.source_rate, decoded.source_channels) == (44_100, 2)
    _close_to_source(decoded.samples * (1 / 0.75), source, 0.98)


@pytest.mark.parametrize(
    "fmt, subtype, name",
    [
        ("FLAC", "PCM_16", "flac"),
        ("OGG", "VORBIS", "ogg"),
        ("OGG", "OPUS", "ogg"),
        ("MP3", "MPEG_LAYER_III", "mp3"),
    ],
)
def test_compressed_formats_decode_in_process(fmt, subtype, name):
    source = speech(2)
    rate = 48_000 if subtype == "OPUS" else SR
    data = encode_soundfile(source if rate == SR else np.repeat(source, 3), rate, fmt, subtype)
    decoded = decode(data)
    assert decoded.source_format == name
    if rate == SR:
        _close_to_source(decoded.samples, source, 0.9)
    else:
        assert abs(decoded.duration_s - len(source) / SR) < 0.1


@pytest.mark.parametrize(
    "container, codec, name", [("webm", "libopus", "webm"), ("ipod", "aac", "m4a")]
)
def test_webm_and_m4a_decode_through_ffmpeg(container, codec, name):
    source = speech(3)
    decoded = decode(encode_ffmpeg(source, SR, container, codec))
    assert decoded.source_format == name
    _close_to_source(decoded.samples, source, 0.85)


def test_headerless_pcm_is_s16le_16k_mono():
    source = speech(4)
    raw = (source * 32767).astype("<i2").tobytes()
    decoded = decode(raw)
    assert decoded.source_format == "pcm"
    _close_to_source(decoded.samples, source, 0.999)


def test_empty_upload_is_empty_audio():
    with pytest.raises(EmptyAudio):
        decode(b"")


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(100),
        b'{"hello": "this is json, not audio"}',
        b"%PDF-1.7\n" + bytes(64),
        b"<html><body>nope</body></html>",
    ],
)
def test_non_audio_is_unsupported(data):
    with pytest.raises(UnsupportedAudio):
        sniff(data)


def test_odd_length_pcm_is_rejected():
    with pytest.raises(AudioError) as info:
        sniff(bytes([1, 200, 3]))
    assert info.value.code == "CORRUPT_AUDIO"


def test_truncated_flac_is_corrupt():
    data = encode_soundfile(speech(5), SR, "FLAC", "PCM_16")
    with pytest.raises(AudioError) as info:
        decode(data[:200])
    assert info.value.code in {"CORRUPT_AUDIO", "EMPTY_AUDIO"}


def test_wav_header_with_absurd_sizes_is_rejected():
    data = bytearray(wav_bytes(speech(0)[:1600]))
    data[24:28] = (0).to_bytes(4, "little")  # sample rate 0
    with pytest.raises(AudioError):
        decode(bytes(data))


def test_wav_with_no_samples_is_empty():
    with pytest.raises(AudioError) as info:
        decode(wav_bytes(np.zeros(0, dtype=np.float32)))
    assert info.value.code in {"EMPTY_AUDIO", "CORRUPT_AUDIO"}


def test_nan_samples_are_rejected():
    samples = np.zeros(1600, dtype=np.float32)
    samples[10] = np.nan
    with pytest.raises(AudioError):
        decode(wav_bytes(samples, SR, "FLOAT"))


def test_too_long_audio_is_refused():
    with pytest.raises(AudioTooLong):
        decode(wav_bytes(np.zeros(SR * 3, dtype=np.float32)), max_seconds=2)


def test_header_probe_gives_duration_without_decoding():
    assert probe_duration(wav_bytes(np.zeros(SR * 3, dtype=np.float32)), "wav") == 3.0
    assert probe_duration(bytes(SR * 2), "pcm") == 1.0
    assert probe_duration(b"OggS....", "ogg") is None
