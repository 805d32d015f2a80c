"""Voice embeddings on the LibriSpeech speakers of tests/data."""

from __future__ import annotations

import numpy as np
import pytest

from mira.audio.embedding import (
    encoder,
    from_bytes,
    mel_frames,
    normalize_volume,
    partial_slices,
    to_bytes,
)
from tests.audio_data import SR, speech, speech_files


@pytest.fixture(scope="module")
def embeddings() -> dict[str, list[np.ndarray]]:
    """Three utterances of each of the ten speakers."""
    by_speaker: dict[str, list[np.ndarray]] = {}
    for index, path in enumerate(speech_files()):
        speaker = path.parent.name
        if len(by_speaker.setdefault(speaker, [])) < 3:
            by_speaker[speaker].append(encoder().embed(speech(index)))
    return by_speaker


def test_mel_front_end_matches_librosa():
    """The encoder was trained on librosa's mel spectrogram; ours must be the same numbers."""
    librosa = pytest.importorskip("librosa")
    clip = speech(0)[: 2 * SR]
    expected = librosa.feature.melspectrogram(y=clip, sr=SR, n_fft=400, hop_length=160, n_mels=40).T
    np.testing.assert_allclose(mel_frames(clip), expected, rtol=1e-4, atol=1e-6 * expected.max())


def test_partials_cover_the_utterance():
    slices = partial_slices(15 * SR)
    assert slices[0].start == 0 and all(s.stop - s.start == 160 for s in slices)
    assert slices[-1].stop >= 1500 * 0.75
    assert len(partial_slices(SR // 2)) == 1  # a short clip still gets one partial


def test_quiet_audio_is_raised_and_loud_audio_left_alone():
    quiet = speech(1) * 0.001
    raised = normalize_volume(quiet)
    assert 20 * np.log10(np.sqrt(np.mean(raised**2))) == pytest.approx(-30, abs=0.01)
    loud = speech(1)
    assert normalize_volume(loud) is loud


def test_embeddings_are_unit_vectors_and_survive_storage():
    vector = encoder().embed(speech(2))
    assert vector.shape == (256,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(from_bytes(to_bytes(vector)), vector)
    assert np.allclose(encoder().embed(speech(2)), vector)  # deterministic


def test_same_speaker_is_closer_than_different_speakers(embeddings):
    same, different = [], []
    speakers = sorted(embeddings)
    for a, speaker in enumerate(speakers):
        vectors = embeddings[speaker]
        same += [float(vectors[i] @ vectors[j]) for i in range(3) for j in range(i + 1, 3)]
        for other in speakers[a + 1 :]:
            different += [float(v @ w) for v in vectors for w in embeddings[other]]
    assert np.mean(same) > 0.75 and np.mean(different) < 0.65
    assert np.mean(same) - np.mean(different) > 0.2


def test_matches_resemblyzer_reference_embedding():
    resemblyzer = pytest.importorskip("resemblyzer")
    clip = normalize_volume(speech(3))
    reference = resemblyzer.VoiceEncoder("cpu", verbose=False).embed_utterance(clip)
    assert float(reference @ encoder().embed(clip)) > 0.9999
