"""A voice sample and its noisy copies in one forward pass (`mira.audio.speakers_batch`): the
same embeddings as one call per clip, from one run of the LSTM; and the clips that get copies
(`mira.audio.speakers.may_teach`) are all those `decide` could store with copies; enrolment's
babble made from the sample itself."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mira.audio import augment, speakers_batch
from mira.audio.augment import (
    ANALYSIS_KINDS,
    ENROLMENT_KINDS,
    KINDS,
    SELF_BABBLE,
    self_babble,
)
from mira.audio.denoise import high_pass
from mira.audio.diarize import diarize
from mira.audio.embedding import encoder
from mira.audio.speakers import Evidence, Voice, decide, may_teach, normalise
from mira.audio.vad import find_speech
from tests.audio_data import SR, speech

TOLERANCE = 1e-5  # float32 rounding of a batch of another size; a different voice is ~0.2 away


def _one_by_one(clip: np.ndarray, embedding: np.ndarray, kinds) -> np.ndarray:
    """The sample rows as they were made before the one pass: each copy embedded alone."""
    copies = augment.noisy_copies(clip, kinds=kinds)
    return np.stack([embedding, *(encoder().embed(copy) for copy in copies)])


def voiced(index: int, seconds: float | None = None) -> np.ndarray:
    clean = high_pass(speech(index) if seconds is None else speech(index)[: int(seconds * SR)])
    return find_speech(clean).samples(clean)


@pytest.mark.parametrize("n", [47363, 48000, 44987, 16001])  # primes and a smooth length
def test_noisy_copies_with_scipys_transform_are_numpys_numbers(n, monkeypatch):
    """The copies' noise is shaped with scipy's FFT (faster on prime lengths): the same copies
    as numpy's, so profiles fitted and stored before stay comparable."""
    from scipy import fft

    clip = (0.1 * np.random.default_rng(n).standard_normal(n)).astype(np.float32)
    fast = augment.noisy_copies(clip)
    monkeypatch.setattr(fft, "rfft", np.fft.rfft)
    monkeypatch.setattr(fft, "irfft", np.fft.irfft)
    reference = augment.noisy_copies(clip)
    assert len(fast) == len(reference) == len(KINDS)
    for a, b in zip(fast, reference, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert augment.noisy_copies(np.zeros(n, dtype=np.float32)) == []


def test_one_pass_gives_each_clip_its_own_partials(lstm_batches):
    clips = [voiced(0, 1.4), voiced(1, 3.5), voiced(2)]  # 1, ~3 and many windows
    separate = [encoder().partials(c) for c in clips]
    del lstm_batches[:]
    together = speakers_batch.partials_together(encoder(), clips)
    assert lstm_batches == [sum(len(p) for p in separate)]  # one run over every window
    for a, b in zip(together, separate, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=TOLERANCE)


def test_sample_rows_in_one_pass_are_the_separate_embeddings(lstm_batches):
    clip = voiced(3)
    reference = _one_by_one(clip, encoder().embed(clip), KINDS)
    assert len(lstm_batches) == 1 + len(KINDS)
    del lstm_batches[:]
    rows = speakers_batch.sample_rows(encoder(), clip)
    assert len(lstm_batches) == 1
    assert rows.shape == reference.shape == (1 + len(KINDS), 256)
    np.testing.assert_allclose(rows, reference, atol=TOLERANCE)


@pytest.mark.parametrize("seconds", [3.5, None])  # the fast path, and a clip diarize clusters
def test_diarize_with_copies_embeds_them_in_its_own_pass(lstm_batches, seconds):
    clean = high_pass(speech(4) if seconds is None else speech(4)[: int(seconds * SR)])
    report = find_speech(clean)
    plain = diarize(clean, report, encoder())
    passes = len(lstm_batches)
    del lstm_batches[:]
    paired = speakers_batch.WithCopies(encoder(), report.samples(clean), ANALYSIS_KINDS)
    turns = diarize(clean, report, paired)
    assert len(lstm_batches) == passes  # the copies rode along in the first pass
    assert len(turns) == len(plain) == 1
    np.testing.assert_allclose(turns[0].embedding, plain[0].embedding, atol=TOLERANCE)
    rows = paired.rows(turns[0].embedding)
    reference = _one_by_one(report.samples(clean), plain[0].embedding, ANALYSIS_KINDS)
    assert rows.shape == reference.shape == (1 + len(ANALYSIS_KINDS), 256)
    np.testing.assert_allclose(rows, reference, atol=TOLERANCE)


def test_other_audio_goes_to_the_encoder_alone(lstm_batches):
    paired = speakers_batch.WithCopies(encoder(), voiced(5, 3.5), ANALYSIS_KINDS)
    other = voiced(6, 3.5)
    np.testing.assert_allclose(paired.partials(other), encoder().partials(other), atol=TOLERANCE)
    assert paired.copies is None and paired.rows(np.ones(256, dtype=np.float32)) is None
    assert lstm_batches[0] == lstm_batches[1]  # no copy joined the pass


def test_may_teach_covers_every_clip_decide_could_store_with_copies():
    """Copies are made only for clips `may_teach` admits: every clip that `decide` would turn
    into a new person or let teach a profile must be among them."""
    rng = np.random.default_rng(0)
    me = normalise(rng.standard_normal(256))
    someone = normalise(rng.standard_normal(256))
    networks = [
        [],
        [("me", Voice(me, me))],  # an exact match: learns whenever conditions allow
        [("other", Voice(someone, someone))],  # unlike anyone: new whenever conditions allow
    ]
    stored = admitted = 0
    for speech_s, snr_db in itertools.product(np.arange(0.5, 6.0, 0.1), np.arange(-5, 45, 0.5)):
        teach = may_teach(float(speech_s), float(snr_db))
        admitted += teach
        for voices in networks:
            decision = decide(Evidence(me, float(speech_s), float(snr_db)), voices)
            if decision.outcome == "new" or decision.learn:
                stored += 1
                assert teach, (speech_s, snr_db, decision)
    assert stored and admitted < 55 * 100  # both kinds of clips occur in the grid


def test_self_made_babble_is_other_voices_from_the_sample_itself():
    clip = voiced(7)
    babble = self_babble(clip, np.random.default_rng(0))
    assert babble.shape == clip.shape
    assert np.sqrt(np.mean(babble**2)) == pytest.approx(1.0)
    np.testing.assert_array_equal(babble, self_babble(clip, np.random.default_rng(0)))
    assert abs(np.corrcoef(babble, clip)[0, 1]) < 0.1  # not the sample: backwards, resampled
    # Stored after the other kinds, which stay what they were (a learned sample is a prefix).
    assert ENROLMENT_KINDS[: len(KINDS)] == KINDS and ENROLMENT_KINDS[-1] == SELF_BABBLE
    with_babble = augment.noisy_copies(clip, kinds=ENROLMENT_KINDS)
    for a, b in zip(with_babble, augment.noisy_copies(clip), strict=False):
        np.testing.assert_array_equal(a, b)
    rows = speakers_batch.sample_rows(encoder(), clip, ENROLMENT_KINDS)
    assert rows.shape == (1 + len(ENROLMENT_KINDS), 256)
    assert 0.5 < float(rows[0] @ rows[-1]) < 0.99  # the same voice, among others
