"""Candidate ways of scoring a probe against a profile, on bench/speaker_id.py's embeddings.

`mira.audio.speakers.decide` thresholds two similarities: the probe's embedding against a
person's clean centre and against their noisy centre (cosine, the vectors as the encoder gives
them). A candidate here changes only how those two similarities are computed; its thresholds are
then refitted exactly as `speaker_id.py --fit` fits Mira's defaults (`fit_calibration`), so each
candidate is judged at its own best operating point:

- held-out: fitted on one fold's networks (3 enrolled + 2 strangers), scored on the other fold's;
  anything a candidate learns from speech (a mean embedding) comes from the fitting fold too;
- 5 + 5: fitted on all ten speakers, scored on every network of 5 enrolled + 5 strangers (the
  issue's protocol; in-sample, as Mira's defaults are).

Printed per candidate: the fitted thresholds, recognised / strangers accepted for the rows of
the issue's targets on both protocols, and over all conditions the mean recognised (held-out)
and how many conditions let more than 1 % of strangers through. `as-decide` is today's scoring
and reproduces `speaker_id.py --fit`'s figures (its "fitted on all speakers" line and the
held-out table).

Candidates (`--candidates`, default all):

- `as-decide`: today's cosine similarities;
- `own-mean`: each vector less the mean of its own 256 components (the encoder's outputs are
  all non-negative, so every pair of voices is similar; this removes the common offset without
  any data);
- `fold-mean:A`: every vector less A × the mean embedding of the fitting speakers' samples
  (clean samples for the clean centre, their noisy copies for the noisy one): a background
  mean, as a bundled set of anonymous voices would give;
- `synthetic-mean:A`: the same with the mean of synthetic voices (flite and espeak-ng reading
  eight sentences each), a background that shares no speaker with any fold;
- `network-mean:A`: less A × the mean of the network's own centres (the person's included);
- `others-mean:A`: less A × the mean of the other persons' centres of the network.

    .venv/bin/python bench/speaker_id.py --fit --cuts 4 --cache DIR      # makes the embeddings
    .venv/bin/python bench/speaker_scoring.py --cuts 4 --cache DIR [--candidates ...]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speaker_id as bench  # noqa: E402
from speaker_id import Probe  # noqa: E402, F401 - the cache pickles probes as __main__.Probe

SHOWN = [
    ("full", "clean", None),
    ("1.6 s", "clean", None),
    ("1.0 s", "clean", None),
    ("3 s", "pink", 10),
    ("3 s", "brown", 10),
    ("3 s", "babble", 10),
    ("3 s", "music", 10),
    ("3 s", "reverb", None),
]
CANDIDATES = (
    "as-decide",
    "own-mean",
    "fold-mean:0.5",
    "fold-mean:1",
    "synthetic-mean:0.5",
    "network-mean:0.3",
    "others-mean:0.3",
)
SENTENCES = (
    "the old house stood at the end of a long lane where the river turned toward the hills",
    "she put the kettle on and waited by the window while the rain came down over the garden",
    "we should leave early tomorrow if we want to reach the coast before the evening traffic",
    "nobody in the village could remember a winter as hard as the one after the great storm",
    "please remember to buy bread and milk on your way home and call your sister about it",
    "the children ran across the field laughing and shouting until their voices faded away",
    "he was not an ill disposed young man unless to be rather cold hearted is to be so",
    "turn the lights down in the kitchen and tell me what the weather will be like tonight",
)
FLITE = ("kal", "kal16", "awb", "rms", "slt")
ESPEAK = ("en-us", "en-gb", "en-us+m1", "en-us+m3", "en-us+m5", "en-us+m7", "en-us+f1",
          "en-us+f2", "en-us+f3", "en-us+f4", "en-gb+m2", "en-gb+m4", "en-gb+m6", "en-gb+f5",
          "en-gb-scotland", "en-029")  # fmt: skip


def unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-9)


def similarities(candidate: str, means: dict, clean, noisy, probes):
    """(clean, noisy) similarities, persons × probes, as `candidate` scores them."""
    name, _, amount = candidate.partition(":")
    a = float(amount or 1)
    if name == "as-decide":
        return bench.cosine(clean, noisy, probes)
    if name == "own-mean":
        own = unit(probes - probes.mean(axis=1, keepdims=True))
        return (
            unit(clean - clean.mean(axis=1, keepdims=True)) @ own.T,
            unit(noisy - noisy.mean(axis=1, keepdims=True)) @ own.T,
        )
    out = []
    for centres, kind in ((clean, "clean"), (noisy, "noisy")):
        if name in ("fold-mean", "synthetic-mean"):
            mean = means[kind]
            out.append(unit(centres - a * mean) @ unit(probes - a * mean).T)
            continue
        k = len(centres)
        if name == "network-mean":
            per_person = np.repeat(centres.mean(axis=0)[None, :], k, axis=0)
        elif name == "others-mean":
            per_person = (centres.sum(axis=0)[None, :] - centres) / max(k - 1, 1)
        else:
            raise SystemExit(f"unknown candidate {candidate}")
        out.append(
            np.stack(
                [
                    unit(probes - a * per_person[p]) @ unit(centres[p] - a * per_person[p])
                    for p in range(k)
                ]  # fmt: skip
            )
        )
    return out[0], out[1]


def counts(table, calibration) -> np.ndarray:
    """Enrolled probes recognised, enrolled probes, strangers accepted, strangers' probes."""
    accepted = bench.accepts(table[:, :7], calibration) & (table[:, 7] == 1)
    enrolled = table[:, 0] == 1
    return np.array(
        [
            np.sum(accepted & enrolled & (table[:, 1] == 1)),
            enrolled.sum(),
            np.sum(accepted & ~enrolled),
            (~enrolled).sum(),
        ]
    )


def background_means(rows_of) -> dict:
    clean = np.mean([r[0] for r in rows_of], axis=0)
    noisy = np.mean([c for r in rows_of for c in r[1:]], axis=0)
    return {"clean": clean.astype(np.float32), "noisy": noisy.astype(np.float32)}


def synthetic_rows(cache: Path | None) -> list[np.ndarray]:
    """Synthetic voices' samples as enrolment stores them (`speaker_id.stored_sample`)."""

    def make():
        out = []
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            for voice, sentence in itertools.product(FLITE + ESPEAK, SENTENCES):
                raw, wav = work / "raw.wav", work / "voice.wav"
                if voice in FLITE:
                    command = ["flite", "-voice", voice, "-t", sentence, "-o", str(raw)]
                else:
                    command = ["espeak-ng", "-v", voice, "-w", str(raw), sentence]
                subprocess.run(command, check=True, capture_output=True)
                bench.sox(str(raw), "-r", str(bench.SR), "-c", "1", "-b", "16", str(wav))
                out.append(bench.stored_sample(bench.read(wav)))
        return out

    return bench.cached(cache, "synthetic-voices-rows", make)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="speaker_id.py's --cache")
    parser.add_argument("--cuts", type=int, default=1, help="as given to speaker_id.py")
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    args = parser.parse_args()

    utterances = bench.load(bench.data_dir())
    rows = bench.cached(args.cache, bench.ROWS_CACHE, lambda: bench.enrolment_rows(utterances))
    rows = [np.asarray(r, dtype=np.float32) for r in rows]
    names = sorted({u.speaker for u in utterances})
    folds = [names[0::2], names[1::2]]
    conditions = bench.CONDITIONS
    with tempfile.TemporaryDirectory() as folder:  # used only when a condition is not cached
        work = Path(folder)
        noises = bench.make_noises(utterances, folds, work)
        flats = {
            c: bench.probe_arrays(
                utterances,
                bench.embed_condition(utterances, c, noises, folds, work, args.cache, args.cuts),
            )
            for c in conditions
        }
    own = bench.by_speaker(utterances)
    synthetic = None

    def means_for(candidate: str, speakers: list[str]) -> dict:
        nonlocal synthetic
        if candidate.startswith("fold-mean"):
            return background_means([rows[i] for s in speakers for i in own[s]])
        if candidate.startswith("synthetic-mean"):
            if synthetic is None:
                synthetic = background_means(synthetic_rows(args.cache))
            return synthetic
        return {}

    def network_rows(candidate, condition, speakers, enrolled_per_network, means):
        scoring = functools.partial(similarities, candidate, means)
        return bench.network_rows(
            utterances, rows, flats[condition], speakers, enrolled_per_network, scoring
        )

    for candidate in args.candidates:
        held_out = {c: np.zeros(4, dtype=int) for c in conditions}
        for f in (0, 1):
            fitting, testing = folds[1 - f], folds[f]
            means = means_for(candidate, fitting)
            calibration, _ = bench.fit_calibration(
                bench.judged([network_rows(candidate, c, fitting, 3, means) for c in conditions])
            )
            for c in conditions:
                held_out[c] += counts(network_rows(candidate, c, testing, 3, means), calibration)
        means = means_for(candidate, names)
        calibration, recognised = bench.fit_calibration(
            bench.judged([network_rows(candidate, c, names, 3, means) for c in conditions])
        )
        print(f"\n{candidate}: fitted on all speakers {calibration}, recognised {recognised:.3f}")
        print("| probe | held-out: recognised — strangers accepted | 5 + 5 |")
        print("|---|---|---|")
        for c in SHOWN:
            r, n, s, m = counts(network_rows(candidate, c, names, 5, means), calibration)
            h = held_out[c]
            name = f"{c[0]}, {c[1]}" + (f" {c[2]} dB" if c[2] is not None else "")
            print(
                f"| {name} | {bench.pct(h[0], h[1])} — {bench.pct(h[2], h[3])} "
                f"| {bench.pct(r, n)} — {bench.pct(s, m)} |"
            )
        mean = np.mean([100 * h[0] / h[1] for h in held_out.values()])
        over = sum(100 * h[2] / h[3] > 1 for h in held_out.values())
        print(
            f"held-out over {len(conditions)} conditions: recognised {mean:.1f} % on average; "
            f"strangers accepted above 1 % in {over}",
            flush=True,
        )


if __name__ == "__main__":
    main()
