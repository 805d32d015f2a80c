"""Profiles and open-set identification, on real embeddings of the shared speakers."""

from __future__ import annotations

import numpy as np
import pytest

from mira.audio.denoise import high_pass
from mira.audio.embedding import encoder
from mira.audio.speakers import DEFAULT_THRESHOLD, aggregate, identify, normalise
from mira.audio.vad import find_speech
from tests.audio_data import speech, speech_files


@pytest.fixture(scope="module")
def voices() -> dict[str, list[np.ndarray]]:
    """Speech-only embeddings of five utterances of each of four speakers."""
    files = speech_files()
    wanted = sorted({p.parent.name for p in files})[:4]
    out: dict[str, list[np.ndarray]] = {}
    for index, path in enumerate(files):
        name = path.parent.name
        if name in wanted and len(out.setdefault(name, [])) < 5:
            filtered = high_pass(speech(index))
            out[name].append(encoder().embed(find_speech(filtered).samples(filtered)))
    return out


def test_enrolled_speakers_are_recognised_and_a_stranger_is_not(voices):
    names = sorted(voices)
    enrolled, stranger = names[:3], names[3]
    profiles = [(name, aggregate(voices[name][:3])) for name in enrolled]
    for name in enrolled:
        for embedding in voices[name][3:]:
            match = identify(embedding, profiles)
            assert match.key == name, (name, match)
            assert match.score >= DEFAULT_THRESHOLD
    for embedding in voices[stranger]:
        match = identify(embedding, profiles)
        assert match.key is None, match
        assert match.best_key in enrolled and match.score < DEFAULT_THRESHOLD


def test_a_wrong_sample_does_not_drag_the_profile(voices):
    names = sorted(voices)
    clean = aggregate(voices[names[0]][:4])
    polluted = aggregate([*voices[names[0]][:4], voices[names[1]][0]])
    assert float(clean @ polluted) > 0.99


def test_no_profiles_means_a_stranger():
    match = identify(normalise(np.ones(256, dtype=np.float32)), [])
    assert match == type(match)(None, 0.0, None)


def test_a_profile_needs_samples():
    with pytest.raises(ValueError):
        aggregate([])
