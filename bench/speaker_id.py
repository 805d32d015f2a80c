"""Speaker identification on the LibriSpeech speakers of tests/data (10 speakers × 10 utterances).

Every rotation of which 5 speakers are enrolled (3 utterances each) and which 5 are strangers
(C(10,5) = 252). Two set-ups, measured in the same run:

- raw model: Resemblyzer embeddings of the whole clip, profiles = mean of 3, accept at 0.80
  (the figures ARCHITECTURE.md quotes);
- Mira: the worker's path — high-pass, VAD, embedding of the speech only — identified with
  `mira.audio.speakers` at its default threshold; unknown voices are grouped online into
  auto-created persons, whose profiles (like confident matches) learn from each utterance.

Prints: enrolled utterances attributed to the right person, strangers' utterances wrongly
attributed to an enrolled person, strangers gathered on one auto-created person, merges of two
strangers, and the embedding speed (× real time).

    .venv/bin/python bench/speaker_id.py [--threshold 0.75]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from mira.audio.denoise import high_pass  # noqa: E402
from mira.audio.embedding import encoder  # noqa: E402
from mira.audio.speakers import DEFAULT_THRESHOLD, MAX_SAMPLES, aggregate, identify  # noqa: E402
from mira.audio.vad import find_speech  # noqa: E402

DATA = PROJECT_ROOT / "tests" / "data" / "librispeech-test-other"
RAW_THRESHOLD = 0.80


def embed_all() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    import soundfile

    files = sorted(DATA.glob("*/*.flac"))
    speakers, raw, ours = [], [], []
    audio_s = raw_s = ours_s = 0.0
    model = encoder()
    model.embed(np.zeros(16_000, dtype=np.float32))  # load and warm
    for path in files:
        samples, _ = soundfile.read(path, dtype="float32")
        audio_s += len(samples) / 16_000
        started = time.perf_counter()
        raw.append(model.embed(samples))
        raw_s += time.perf_counter() - started
        started = time.perf_counter()
        filtered = high_pass(samples)
        speech = find_speech(filtered)
        ours.append(model.embed(speech.samples(filtered)))
        ours_s += time.perf_counter() - started
        speakers.append(path.parent.name)
    speed = {"audio_s": audio_s, "raw_x": audio_s / raw_s, "ours_x": audio_s / ours_s}
    return np.array(speakers), np.stack(raw), np.stack(ours), speed


def plain_mean(samples) -> np.ndarray:
    mean = np.mean(samples, axis=0)
    return mean / np.linalg.norm(mean)


def closed_rotations(speakers, embeddings, threshold, profile=aggregate):
    """Fixed profiles, no learning: the raw model's protocol."""
    names = sorted(set(speakers))
    index = {s: np.flatnonzero(speakers == s) for s in names}
    right = total = false_accepts = stranger_total = 0
    for enrolled in itertools.combinations(names, 5):
        profiles = [(s, profile(list(embeddings[index[s][:3]]))) for s in enrolled]
        for s in names:
            tests = index[s][3:] if s in enrolled else index[s]
            for i in tests:
                match = identify(embeddings[i], profiles, threshold)
                if s in enrolled:
                    right += match.key == s
                    total += 1
                else:
                    false_accepts += match.key is not None
                    stranger_total += 1
    return right / total, false_accepts / stranger_total


def online_rotations(speakers, embeddings, threshold):
    """The worker's behaviour: utterances arrive interleaved, strangers become persons,
    profiles learn from accepted utterances (at most MAX_SAMPLES each)."""
    names = sorted(set(speakers))
    index = {s: np.flatnonzero(speakers == s) for s in names}
    right = total = false_accepts = stranger_total = merges = 0
    gathered = []
    for enrolled in itertools.combinations(names, 5):
        persons = {s: list(embeddings[index[s][:3]]) for s in enrolled}
        owner_of: dict[object, set] = {s: {s} for s in enrolled}
        auto = 0
        assigned = {}
        for k in range(10):
            for s in names:
                if s in enrolled and k < 3:
                    continue
                i = index[s][k]
                profiles = [(key, aggregate(samples)) for key, samples in persons.items()]
                match = identify(embeddings[i], profiles, threshold)
                key = match.key
                if key is None:
                    auto += 1
                    key = f"person-{auto}"
                    persons[key] = []
                    owner_of[key] = set()
                if len(persons[key]) < MAX_SAMPLES:
                    persons[key].append(embeddings[i])
                owner_of[key].add(s)
                assigned[i] = key
        for s in names:
            keys = [assigned[i] for i in (index[s][3:] if s in enrolled else index[s])]
            if s in enrolled:
                right += sum(key == s for key in keys)
                total += len(keys)
            else:
                false_accepts += sum(key in enrolled for key in keys)
                stranger_total += len(keys)
                _, counts = np.unique(keys, return_counts=True)
                gathered.append(counts.max() / len(keys))
        merges += sum(len(owners) > 1 for owners in owner_of.values())
    return right / total, false_accepts / stranger_total, float(np.mean(gathered)), merges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()

    speakers, raw, ours, speed = embed_all()
    print(f"{len(speakers)} utterances, {speed['audio_s']:.1f} s of audio, 252 rotations")
    print(
        f"embedding speed: raw model {speed['raw_x']:.0f}x real time; Mira's path "
        f"(high-pass + VAD + embedding) {speed['ours_x']:.0f}x real time"
    )
    raw_right, raw_fa = closed_rotations(speakers, raw, RAW_THRESHOLD, plain_mean)
    print(
        f"raw model (whole clip, mean of 3, threshold {RAW_THRESHOLD:.2f}): enrolled right "
        f"{raw_right * 100:.1f} %, strangers accepted {raw_fa * 100:.2f} %"
    )
    right, fa = closed_rotations(speakers, ours, args.threshold)
    print(
        f"Mira, fixed profiles (speech only, threshold {args.threshold:.2f}): enrolled right "
        f"{right * 100:.1f} %, strangers accepted {fa * 100:.2f} %"
    )
    right, fa, gathered, merges = online_rotations(speakers, ours, args.threshold)
    print(
        f"Mira, online with learning and stranger grouping: enrolled right {right * 100:.1f} %,"
        f" strangers attributed to enrolled persons {fa * 100:.2f} %, a stranger's utterances "
        f"on one auto-created person {gathered * 100:.1f} %, persons holding two speakers "
        f"{merges}"
    )
    print("threshold sweep (Mira, fixed profiles): how wide the safe window is")
    for threshold in (0.70, 0.72, 0.74, 0.76, 0.78, 0.80):
        right, fa = closed_rotations(speakers, ours, threshold)
        print(
            f"  {threshold:.2f}: enrolled right {right * 100:.1f} %, "
            f"strangers accepted {fa * 100:.2f} %"
        )
    print(
        "targets: enrolled right >= 99 %, strangers accepted <= 1 %, gathered >= 90 %, "
        "no merges, embedding >= 50x real time"
    )


if __name__ == "__main__":
    main()
