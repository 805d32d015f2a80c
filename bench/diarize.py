"""Diarization on synthetic conversations made of the LibriSpeech speakers of tests/data.

Each conversation is one upload: 2–3 speakers taking 4–8 turns (one utterance each, never the
same speaker twice in a row), separated by 0.3–1.0 s pauses, over a faint constant noise floor
(-60 dBFS, as a microphone would hear between turns). Turns draw on utterances 3–9 of each
speaker; known profiles are built from utterances 0–2, for all ten speakers (the network knows
more persons than take part). The worker's path runs on each: high-pass, VAD, `diarize`.

Scoring: the reference turn of an utterance spans its first to last frame louder than both
12 dB above its own noise floor and 30 dB below its peak (measured on the isolated utterance,
independently of the VAD). Diarization error rate over 10 ms frames, with a 0.25 s collar
around every reference boundary left unscored, clusters mapped to reference speakers by the
assignment with the most overlap; its parts: missed speech, false alarm, speaker confusion.
With profiles, the share of speech whose turn carries the right speaker's label is printed too.

Also: median per-file real-time factor (the whole path, and embedding + diarization alone),
and the cost on the 100 single-speaker files of diarizing instead of only embedding.

With `--noise pink|brown|babble|music --snr DB`, the conversations and the single-speaker files
are mixed with noise made by sox (as in bench/speaker_id.py; babble from the speakers not in
the conversation) at that SNR against the speech's power, to check that noise neither adds turns
nor hides a change of speaker; the turn counts are then also split into too many and too few.

    .venv/bin/python bench/diarize.py [--conversations 30] [--seed 0] [--sweep]
                                      [--noise pink --snr 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from mira.audio import SAMPLE_RATE  # noqa: E402
from mira.audio.denoise import denoise  # noqa: E402
from mira.audio.diarize import DEFAULT_THRESHOLD, diarize  # noqa: E402
from mira.audio.embedding import encoder  # noqa: E402
from mira.audio.speakers import aggregate  # noqa: E402
from mira.audio.vad import find_speech  # noqa: E402

DATA = PROJECT_ROOT / "tests" / "data" / "librispeech-test-other"
PROFILE_UTTERANCES = 3
COLLAR_S = 0.25
FRAME_S = 0.01
NOISE_DBFS = -60.0
TARGET_DER = 0.10


@dataclass
class Conversation:
    audio: np.ndarray
    reference: list[tuple[float, float, str]]  # (start, end, speaker) per turn
    speakers: list[str]


def load_utterances() -> dict[str, list[np.ndarray]]:
    import soundfile

    by_speaker: dict[str, list[np.ndarray]] = {}
    for path in sorted(DATA.glob("*/*.flac")):
        samples, rate = soundfile.read(path, dtype="float32")
        assert rate == SAMPLE_RATE
        by_speaker.setdefault(path.parent.name, []).append(samples)
    return by_speaker


def speech_span(samples: np.ndarray) -> tuple[float, float]:
    """First and last 10 ms frame clearly above the utterance's own noise floor."""
    hop = int(FRAME_S * SAMPLE_RATE)
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    threshold = max(np.percentile(level, 10) + 12, np.percentile(level, 99) - 30)
    loud = np.flatnonzero(level > threshold)
    return loud[0] * FRAME_S, (loud[-1] + 1) * FRAME_S


def noise_tracks(utterances, kind: str, work) -> dict:
    """Long noise tracks by sox: {"": track} for pink/brown/music, or for babble one stream per
    speaker (their utterances end to end) to sum over the speakers not in a conversation."""
    from speaker_id import make_noises

    if kind == "babble":
        return {s: np.tile(np.concatenate(clips), 3) for s, clips in utterances.items()}
    return {"": make_noises([], [], work, kinds=(kind,))[kind]}


def add_noise(audio: np.ndarray, speech_power: float, tracks: dict, absent, snr: float, rng):
    if "" in tracks:
        track = tracks[""]
    else:
        streams = [tracks[s] for s in absent]
        shortest = min(len(t) for t in streams)
        track = np.sum([t[:shortest] for t in streams], axis=0)
    track = np.tile(track, int(np.ceil(len(audio) / len(track))) + 1)
    offset = int(rng.integers(0, len(track) - len(audio)))
    piece = track[offset : offset + len(audio)].astype(np.float64)
    gain = np.sqrt(speech_power / (np.mean(piece**2) * 10 ** (snr / 10)))
    mixed = audio + gain * piece
    peak = float(np.max(np.abs(mixed)))
    return (mixed / peak * 0.9 if peak > 0.99 else mixed).astype(np.float32)


def speech_power_of(audio: np.ndarray, spans) -> float:
    parts = [audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)] for a, b in spans]
    return float(np.mean(np.concatenate(parts).astype(np.float64) ** 2))


def make_conversations(
    utterances, count: int, seed: int, tracks: dict | None = None, snr: float = 10.0
) -> list[Conversation]:
    rng = np.random.default_rng(seed)
    names = sorted(utterances)
    conversations = []
    for _ in range(count):
        speakers = list(rng.choice(names, size=int(rng.integers(2, 4)), replace=False))
        n_turns = int(rng.integers(4, 9))
        order = list(speakers)  # everyone speaks at least once
        while len(order) < n_turns:
            order.append(rng.choice([s for s in speakers if s != order[-1]]))
        order = order[:1] + list(rng.permutation(order[1:]))
        order = _without_repeats(order, rng)
        pools = {s: list(rng.permutation(range(PROFILE_UTTERANCES, 10))) for s in speakers}
        pieces, reference, cursor = [], [], 0
        for k, speaker in enumerate(order):
            if k:
                pause = int(rng.uniform(0.3, 1.0) * SAMPLE_RATE)
                pieces.append(np.zeros(pause, dtype=np.float32))
                cursor += pause
            clip = utterances[speaker][pools[speaker].pop()]
            start, end = speech_span(clip)
            reference.append((cursor / SAMPLE_RATE + start, cursor / SAMPLE_RATE + end, speaker))
            pieces.append(clip)
            cursor += len(clip)
        audio = np.concatenate(pieces)
        audio += rng.normal(0, 10 ** (NOISE_DBFS / 20), len(audio)).astype(np.float32)
        if tracks:
            power = speech_power_of(audio, [(a, b) for a, b, _ in reference])
            absent = [s for s in names if s not in speakers]
            audio = add_noise(audio, power, tracks, absent, snr, rng)
        conversations.append(Conversation(audio, reference, [str(s) for s in speakers]))
    return conversations


def _without_repeats(order: list, rng) -> list:
    """Reshuffle until no speaker follows themself (a repeat would be one longer turn)."""
    for _ in range(1000):
        if all(a != b for a, b in zip(order, order[1:], strict=False)):
            return order
        order = order[:1] + list(rng.permutation(order[1:]))
    raise RuntimeError("no order without repeats")


def frame_track(turns, n_frames: int, key) -> np.ndarray:
    """Per 10 ms frame, the index of the turn's speaker (key(turn)), -1 where no one speaks."""
    track = np.full(n_frames, -1, dtype=np.int64)
    for turn in turns:
        a, b = turn[0], turn[1]
        track[int(round(a / FRAME_S)) : int(round(b / FRAME_S))] = key(turn)
    return track


def score(reference, hypothesis, duration_s: float) -> dict[str, float]:
    """Seconds of scored speech, missed speech, false alarm and confusion for one upload."""
    from scipy.optimize import linear_sum_assignment

    n = int(np.ceil(duration_s / FRAME_S))
    names = sorted({speaker for _, _, speaker in reference})
    ref = frame_track(reference, n, lambda t: names.index(t[2]))
    hyp = frame_track(hypothesis, n, lambda t: t[2])
    scored = np.ones(n, dtype=bool)
    collar = int(round(COLLAR_S / FRAME_S))
    for start, end, _ in reference:
        for edge in (int(round(start / FRAME_S)), int(round(end / FRAME_S))):
            scored[max(0, edge - collar) : edge + collar] = False
    ref, hyp = ref[scored], hyp[scored]
    n_hyp = int(hyp.max()) + 1 if hyp.max() >= 0 else 0
    overlap = np.zeros((len(names), max(n_hyp, 1)))
    both = (ref >= 0) & (hyp >= 0)
    np.add.at(overlap, (ref[both], hyp[both]), 1)
    rows, cols = linear_sum_assignment(-overlap)
    mapped = np.full(max(n_hyp, 1), -2)
    mapped[cols] = rows
    return {
        "speech": float((ref >= 0).sum()) * FRAME_S,
        "missed": float(((ref >= 0) & (hyp < 0)).sum()) * FRAME_S,
        "false_alarm": float(((ref < 0) & (hyp >= 0)).sum()) * FRAME_S,
        "confusion": float((both & (mapped[np.maximum(hyp, 0)] != ref)).sum()) * FRAME_S,
    }


def labelled_right(reference, turns, duration_s: float) -> tuple[float, float]:
    """Seconds of reference speech whose hypothesis turn carries the true speaker's label."""
    n = int(np.ceil(duration_s / FRAME_S))
    names = sorted({speaker for _, _, speaker in reference} | {t.label for t in turns if t.label})
    ref = frame_track(reference, n, lambda t: names.index(t[2]))
    hyp = frame_track(
        [(t.start_s, t.end_s, names.index(t.label) if t.label else -1) for t in turns],
        n,
        lambda t: t[2],
    )
    speaking = ref >= 0
    return float((speaking & (hyp == ref)).sum()) * FRAME_S, float(speaking.sum()) * FRAME_S


def speech_only_embedding(clip: np.ndarray) -> np.ndarray:
    clean = denoise(clip, "highpass")
    return encoder().embed(find_speech(clean).samples(clean))


def run(conversations, profiles, threshold: float) -> dict:
    totals = dict.fromkeys(("speech", "missed", "false_alarm", "confusion"), 0.0)
    right = speaking = 0.0
    whole_rtf, diarize_rtf, turn_counts = [], [], []
    for conversation in conversations:
        duration = len(conversation.audio) / SAMPLE_RATE
        started = time.perf_counter()
        clean = denoise(conversation.audio, "highpass")
        speech = find_speech(clean)
        middle = time.perf_counter()
        turns = diarize(clean, speech, encoder(), profiles, threshold)
        finished = time.perf_counter()
        whole_rtf.append(duration / (finished - started))
        diarize_rtf.append(duration / (finished - middle))
        turn_counts.append((len(turns), len(conversation.reference)))
        hypothesis = [(t.start_s, t.end_s, t.cluster) for t in turns]
        for key, value in score(conversation.reference, hypothesis, duration).items():
            totals[key] += value
        if profiles:
            r, s = labelled_right(conversation.reference, turns, duration)
            right, speaking = right + r, speaking + s
    errors = totals["missed"] + totals["false_alarm"] + totals["confusion"]
    return {
        **totals,
        "der": errors / totals["speech"],
        "whole_rtf": float(np.median(whole_rtf)),
        "diarize_rtf": float(np.median(diarize_rtf)),
        "right_turn_count": sum(a == b for a, b in turn_counts),
        "too_many_turns": sum(a > b for a, b in turn_counts),
        "too_few_turns": sum(a < b for a, b in turn_counts),
        "labelled": right / speaking if speaking else None,
    }


def der_line(name: str, r: dict) -> str:
    speech = r["speech"]
    line = (
        f"{name:<22} DER {r['der'] * 100:5.2f} %  (missed {r['missed'] / speech * 100:4.2f} %, "
        f"false alarm {r['false_alarm'] / speech * 100:4.2f} %, confusion "
        f"{r['confusion'] / speech * 100:4.2f} %)  right number of turns "
        f"{r['right_turn_count']} (too many {r['too_many_turns']}, too few {r['too_few_turns']})"
    )
    if r["labelled"] is not None:
        line += f"  speech labelled with the right person {r['labelled'] * 100:.1f} %"
    return line


def single_speaker_overhead(utterances, profiles, tracks=None, snr: float = 10.0) -> None:
    """Diarizing each single-speaker file instead of only embedding it: extra time, splits."""
    embed_s = diarize_s = audio_s = 0.0
    split = labelled_wrong = 0
    rng = np.random.default_rng(1)
    for speaker, clips in utterances.items():
        for clip in clips:
            if tracks:
                start, end = speech_span(clip)
                power = speech_power_of(clip, [(start, end)])
                others = [s for s in utterances if s != speaker]
                clip = add_noise(clip, power, tracks, others[:5], snr, rng)
            clean = denoise(clip, "highpass")
            speech = find_speech(clean)
            samples = speech.samples(clean)
            audio_s += len(clip) / SAMPLE_RATE
            started = time.perf_counter()
            encoder().embed(samples)
            middle = time.perf_counter()
            turns = diarize(clean, speech, encoder(), profiles)
            diarize_s += time.perf_counter() - middle
            embed_s += middle - started
            split += len(turns) != 1
            labelled_wrong += any(t.label != speaker for t in turns)
    print(
        f"single-speaker files (100, {audio_s:.0f} s): embedding alone {embed_s:.2f} s, "
        f"diarize {diarize_s:.2f} s (overhead {(diarize_s / embed_s - 1) * 100:+.1f} %, "
        f"{(diarize_s - embed_s) / 100 * 1000:+.1f} ms per file); split into several turns: "
        f"{split}; not labelled as their speaker (profiles of all ten): {labelled_wrong}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="DER over a range of thresholds")
    parser.add_argument("--noise", choices=("pink", "brown", "babble", "music"))
    parser.add_argument("--snr", type=float, default=10.0, help="dB, with --noise")
    args = parser.parse_args()

    encoder().embed(np.zeros(SAMPLE_RATE, dtype=np.float32))  # load and warm
    utterances = load_utterances()
    profiles = {
        speaker: aggregate([speech_only_embedding(c) for c in clips[:PROFILE_UTTERANCES]])
        for speaker, clips in utterances.items()
    }
    tracks = None
    if args.noise:
        import tempfile

        with tempfile.TemporaryDirectory() as work:
            tracks = noise_tracks(utterances, args.noise, Path(work))
        print(f"noise: {args.noise} at {args.snr:g} dB SNR (sox)")
    conversations = make_conversations(utterances, args.conversations, args.seed, tracks, args.snr)
    total_s = sum(len(c.audio) for c in conversations) / SAMPLE_RATE
    turns = sum(len(c.reference) for c in conversations)
    print(
        f"{len(conversations)} conversations (seed {args.seed}), {total_s:.0f} s, {turns} turns; "
        f"collar {COLLAR_S} s; threshold {args.threshold:.2f}"
    )
    blind = run(conversations, None, args.threshold)
    print(der_line("without profiles", blind))
    known = run(conversations, profiles, args.threshold)
    print(der_line("with known profiles", known))
    print(
        f"median real-time factor per upload: denoise + VAD + diarize {blind['whole_rtf']:.0f}x, "
        f"diarize (embedding + clustering) {blind['diarize_rtf']:.0f}x; "
        f"with profiles {known['whole_rtf']:.0f}x / {known['diarize_rtf']:.0f}x"
    )
    single_speaker_overhead(utterances, profiles, tracks, args.snr)
    if args.sweep:
        print("threshold sweep (without profiles / with profiles):")
        for threshold in (0.50, 0.55, 0.60, 0.65, 0.70):
            a = run(conversations, None, threshold)
            b = run(conversations, profiles, threshold)
            print(
                f"  {threshold:.2f}: DER {a['der'] * 100:5.2f} % / {b['der'] * 100:5.2f} %  "
                f"confusion {a['confusion'] / a['speech'] * 100:5.2f} % / "
                f"{b['confusion'] / b['speech'] * 100:5.2f} %"
            )
    print(f"target: DER <= {TARGET_DER * 100:.0f} %, embedding + identification >= 50x real time")


if __name__ == "__main__":
    main()
