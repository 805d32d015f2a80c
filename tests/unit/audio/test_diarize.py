"""Diarization on conversations built from the LibriSpeech speakers of tests/data."""

from __future__ import annotations

import numpy as np
import pytest

from mira.audio.denoise import high_pass
from mira.audio.diarize import SpeakerTurn, diarize
from mira.audio.embedding import encoder
from mira.audio.speakers import aggregate
from mira.audio.vad import SpeechReport, find_speech
from tests.audio_data import SR, speech, speech_files

BOUNDARY_TOLERANCE_S = 0.5
NOISY_SNR_DB = 10.0


def utterances_of(speaker: int) -> list[int]:
    """Indices (for tests.audio_data.speech) of one speaker's utterances, 3–9 s long first."""
    name = sorted({p.parent.name for p in speech_files()})[speaker]
    indices = [i for i, p in enumerate(speech_files()) if p.parent.name == name]
    return sorted(indices, key=lambda i: not 3 * SR <= len(speech(i)) <= 9 * SR)


def speech_span(clip: np.ndarray) -> tuple[float, float]:
    """Where the speech of an isolated clip starts and ends (its own VAD)."""
    report = find_speech(high_pass(clip))
    return report.segments[0].start_s, report.segments[-1].end_s


def conversation(*clips: np.ndarray, pause_s: float = 0.6) -> tuple[np.ndarray, list]:
    """Clips one after another with pauses over a faint noise floor; the true speech spans."""
    pieces, spans, cursor = [], [], 0
    for k, clip in enumerate(clips):
        if k:
            pieces.append(np.zeros(int(pause_s * SR), dtype=np.float32))
            cursor += int(pause_s * SR)
        start, end = speech_span(clip)
        spans.append((cursor / SR + start, cursor / SR + end))
        pieces.append(clip)
        cursor += len(clip)
    audio = np.concatenate(pieces)
    audio += np.random.default_rng(0).normal(0, 1e-3, len(audio)).astype(np.float32)
    return audio, spans


def run(audio: np.ndarray, profiles=None) -> tuple[list[SpeakerTurn], SpeechReport, np.ndarray]:
    clean = high_pass(audio)
    report = find_speech(clean)
    return diarize(clean, report, encoder(), profiles), report, clean


def assert_boundaries_near(turns: list[SpeakerTurn], spans: list[tuple[float, float]]) -> None:
    assert len(turns) == len(spans)
    for turn, (start, end) in zip(turns, spans, strict=True):
        assert turn.start_s == pytest.approx(start, abs=BOUNDARY_TOLERANCE_S)
        assert turn.end_s == pytest.approx(end, abs=BOUNDARY_TOLERANCE_S)


def test_single_speaker_upload_is_one_turn_carrying_the_utterance_embedding():
    turns, report, clean = run(speech(utterances_of(0)[0]))
    assert len(turns) == 1
    assert (turns[0].start_s, turns[0].end_s) == (
        report.segments[0].start_s,
        report.segments[-1].end_s,
    )
    expected = encoder().embed(report.samples(clean))
    assert float(turns[0].embedding @ expected) > 0.9999
    assert turns[0].label is None and turns[0].cluster == 0


def test_two_speakers_become_two_turns_in_order_at_the_change():
    a, b = speech(utterances_of(1)[0]), speech(utterances_of(2)[0])
    audio, spans = conversation(a, b)
    turns, _, _ = run(audio)
    assert_boundaries_near(turns, spans)
    assert turns[0].cluster != turns[1].cluster
    assert turns[0].start_s < turns[0].end_s <= turns[1].start_s < turns[1].end_s


def test_a_speaker_who_speaks_again_keeps_their_cluster():
    first, second = utterances_of(3)[:2]
    audio, spans = conversation(speech(first), speech(utterances_of(4)[0]), speech(second))
    turns, _, _ = run(audio)
    assert_boundaries_near(turns, spans)
    assert turns[0].cluster == turns[2].cluster != turns[1].cluster


def longest_stretch(clip: np.ndarray) -> np.ndarray:
    """The clip's longest stretch of speech without a pause."""
    longest = max(find_speech(high_pass(clip)).segments, key=lambda s: s.duration_s)
    return clip[int(longest.start_s * SR) : int(longest.end_s * SR)]


def test_a_change_of_speaker_without_a_pause_is_found_inside_the_speech():
    a = longest_stretch(speech(utterances_of(5)[0]))
    b = longest_stretch(speech(utterances_of(6)[0]))
    turns, report, _ = run(np.concatenate([a, b]))
    assert len(report.segments) == 1  # no pause tells where the change is
    assert len(turns) == 2 and turns[0].cluster != turns[1].cluster
    assert turns[0].end_s == pytest.approx(len(a) / SR, abs=BOUNDARY_TOLERANCE_S)
    assert turns[1].start_s == turns[0].end_s


def test_known_profiles_label_their_speakers_and_leave_a_stranger_unlabelled():
    alice, bob, stranger = utterances_of(7), utterances_of(8), utterances_of(9)

    def profile(indices: list[int]) -> np.ndarray:
        samples = []
        for index in indices:
            clean = high_pass(speech(index))
            samples.append(encoder().embed(find_speech(clean).samples(clean)))
        return aggregate(samples)

    profiles = {"alice": profile(alice[-3:]), "bob": profile(bob[-3:])}
    audio, spans = conversation(speech(alice[0]), speech(bob[0]), speech(stranger[0]))
    turns, _, _ = run(audio, profiles)
    assert_boundaries_near(turns, spans)
    assert [t.label for t in turns] == ["alice", "bob", None]
    assert len({t.cluster for t in turns}) == 3


def test_upload_too_short_for_two_turns_is_one_turn():
    a, b = speech(utterances_of(1)[0]), speech(utterances_of(2)[0])
    a_start, _ = speech_span(a)
    b_start, _ = speech_span(b)
    audio, _ = conversation(
        a[int(a_start * SR) : int((a_start + 1.2) * SR)],
        b[int(b_start * SR) : int((b_start + 1.2) * SR)],
        pause_s=0.3,
    )
    turns, _, _ = run(audio)
    assert len(turns) == 1


def test_no_speech_gives_no_turns():
    silence = np.zeros(2 * SR, dtype=np.float32)
    assert diarize(silence, SpeechReport(duration_s=2.0), encoder()) == []


def test_one_voice_held_by_two_persons_does_not_split_an_upload():
    """When grouping left one voice on two persons, their profiles must not cut that voice's
    upload in two (shared file 8: a 3 s cut that did split when profiles decided alone)."""

    def embedding_of(index: int) -> np.ndarray:
        clean = high_pass(speech(index))
        return encoder().embed(find_speech(clean).samples(clean))

    profiles = {"first": embedding_of(0), "second": embedding_of(1)}  # the same speaker
    cut = speech(8)[int(0.5 * SR) : int(3.5 * SR)]
    turns, _report, _clean = run(cut, profiles)
    assert len(turns) == 1
    assert turns[0].label in profiles


def mixed_below(audio: np.ndarray, spans, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`audio` with `noise` (as long) over all of it, `snr_db` below the speech's power."""
    speech_part = np.concatenate([audio[int(a * SR) : int(b * SR)] for a, b in spans])
    gain = np.sqrt(
        np.mean(speech_part.astype(np.float64) ** 2)
        / np.mean(noise.astype(np.float64) ** 2)
        / 10 ** (snr_db / 10)
    )
    return (audio + gain * noise).astype(np.float32)


def in_noise(audio: np.ndarray, spans, snr_db: float, kind: str = "pinknoise") -> np.ndarray:
    """`audio` with sox noise over all of it, `snr_db` below the speech's power."""
    from tests.audio_data import sox_noise

    noise = sox_noise(kind, seconds=len(audio) / SR + 0.1, volume=0.5)[: len(audio)]
    return mixed_below(audio, spans, noise, snr_db)


@pytest.mark.parametrize("a, b", [(1, 2), (3, 4), (5, 6), (7, 8), (9, 0)])
def test_noise_neither_hides_a_change_of_speaker_nor_adds_one(a, b):
    """Pink noise at 10 dB SNR makes every window alike; a change must still be found, and the
    same speaker's two utterances must stay one voice."""
    first, second = utterances_of(a)[:2]
    audio, spans = conversation(speech(first), speech(utterances_of(b)[0]), speech(second))
    turns, _, _ = run(in_noise(audio, spans, NOISY_SNR_DB))
    assert len(turns) == 3, [(t.start_s, t.end_s, t.cluster) for t in turns]
    assert turns[0].cluster == turns[2].cluster != turns[1].cluster
    alone, alone_spans = conversation(speech(first), speech(second))
    assert len({t.cluster for t in run(in_noise(alone, alone_spans, NOISY_SNR_DB))[0]}) == 1


def test_the_spectral_gate_lowers_steady_noise_and_keeps_what_rises_above_it():
    from mira.audio.diarize import GATE_PROP, _spectral_gate
    from tests.audio_data import sox_noise

    noise = sox_noise("pinknoise", seconds=4.0, volume=0.05)
    profile, rest = noise[: 2 * SR], noise[2 * SR :]
    power = lambda x: float(np.mean(np.square(x, dtype=np.float64)))  # noqa: E731
    gated = _spectral_gate(rest, profile)
    assert len(gated) == len(rest)
    assert power(gated) < power(rest) * (1.5 * (1 - GATE_PROP)) ** 2  # mostly gated
    loud = np.random.default_rng(0).normal(0, 10 * np.sqrt(power(rest)), len(rest))
    louder = (rest + loud).astype(np.float32)  # broadband, 20 dB above the noise
    assert power(_spectral_gate(louder, profile)) == pytest.approx(power(louder), rel=0.1)


def test_a_clean_upload_is_not_gated_and_a_noisy_one_is(monkeypatch):
    import mira.audio.diarize as module

    calls = []
    gate = module._spectral_gate
    monkeypatch.setattr(module, "_spectral_gate", lambda s, n: calls.append(1) or gate(s, n))
    first, second = utterances_of(3)[:2]
    audio, spans = conversation(speech(first), speech(utterances_of(4)[0]), speech(second))
    run(audio)
    assert calls == []
    run(in_noise(audio, spans, NOISY_SNR_DB))
    assert calls == [1]


def test_a_noisy_upload_s_turns_carry_the_embeddings_of_the_speech_as_heard():
    """Only who spoke when is decided on the gated copy: the one-turn answer is still the
    utterance embedding of the (noisy) speech, comparable with profiles."""
    first, second = utterances_of(1)[:2]
    audio, spans = conversation(speech(first), speech(second))
    turns, report, clean = run(in_noise(audio, spans, NOISY_SNR_DB))
    assert len(turns) == 1
    expected = encoder().embed(report.samples(clean))
    assert float(turns[0].embedding @ expected) > 0.9999


@pytest.mark.parametrize("kind", ["pinknoise", "brownnoise"])
def test_steady_noise_at_5_db_does_not_hide_a_change_of_speaker(kind):
    first, second = utterances_of(3)[:2]
    audio, spans = conversation(speech(first), speech(utterances_of(4)[0]), speech(second))
    turns, _, _ = run(in_noise(audio, spans, 5.0, kind))
    assert len(turns) == 3, [(t.start_s, t.end_s, t.cluster) for t in turns]
    assert turns[0].cluster == turns[2].cluster != turns[1].cluster


def in_babble(audio: np.ndarray, spans, snr_db: float, talkers: list[int]) -> np.ndarray:
    """`audio` under the summed speech of `talkers` (others speaking in the room), `snr_db`
    below the speech's power."""
    streams = [np.concatenate([speech(i) for i in utterances_of(s)[3:]]) for s in talkers]
    shortest = min(len(s) for s in streams)
    babble = np.sum([s[:shortest] for s in streams], axis=0, dtype=np.float64)
    babble = np.tile(babble, int(np.ceil(len(audio) / shortest)))[: len(audio)]
    return mixed_below(audio, spans, babble, snr_db)


@pytest.mark.parametrize("a, b", [(1, 2), (9, 0), (2, 5)])
def test_background_voices_in_the_pauses_are_not_turns_of_their_own(a, b):
    """Five other people talking 10 dB below two speakers taking five turns: the VAD keeps the
    pauses, where only the background is heard; those stretches used to become extra turns."""
    talkers = [s for s in range(10) if s not in (a, b)][:5]
    first, second = utterances_of(a), utterances_of(b)
    clips = [speech(first[0]), speech(second[0]), speech(first[1]), speech(second[1])]
    audio, spans = conversation(*clips, speech(first[2]), pause_s=0.8)
    turns, _, _ = run(in_babble(audio, spans, NOISY_SNR_DB, talkers))
    assert [t.cluster for t in turns] == [0, 1, 0, 1, 0], [
        (t.start_s, t.end_s, t.cluster) for t in turns
    ]


def test_a_quiet_short_run_is_given_to_its_neighbours_and_a_loud_one_kept():
    from mira.audio.diarize import BACKGROUND_DB, _fold_background

    level = np.full(1000, 30.0)
    level[:200] = 0.0  # the floor: quiet stretches elsewhere in the upload
    level[400:500] = BACKGROUND_DB - 1.0  # background in a pause, quietest at 450
    level[450] = 1.0
    runs = [[200, 400, 0], [400, 500, 2], [500, 800, 1], [800, 1000, 0]]
    assert _fold_background([list(r) for r in runs], level) == [
        [200, 450, 0],
        [450, 800, 1],
        [800, 1000, 0],
    ]
    level[400:500] = BACKGROUND_DB + 1.0  # a quiet voice, but above the background
    assert _fold_background([list(r) for r in runs], level) == runs
