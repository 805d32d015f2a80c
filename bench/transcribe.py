"""Offline transcription: speed (× real time) and word error rate.

Engines, each loaded once and warmed up, as in a worker:
- `whisper`: Whisper tiny.en through faster-whisper with the defaults (Whisper's 30 s window);
- `whisper-short`: the same model with `MIRA_WHISPER_CONTEXT=short` (only the speech of short
  utterances is encoded, in a window of its own length plus a margin);
- `pocketsphinx`: the light fallback.
Sets:
- Debian's pocketsphinx-testdata LibriVox clips (read speech with reference transcripts);
- short commands spoken by flite voices (what a room assistant mostly hears).
Speed is audio seconds per wall second, the median of `--runs` passes; the passes of the engines
are interleaved (engine A pass 1, engine B pass 1, A pass 2 …) so a busy machine slows them
alike, and the ratio of `whisper-short` to `whisper` is printed. `--threads` sets CTranslate2's
threads (1: one worker core). Targets: >= 3x real time on every set, >= 10x on short commands.

    .venv/bin/python bench/transcribe.py
    .venv/bin/python bench/transcribe.py --runs 5 --engines whisper,whisper-short --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

TARGET_X = 3.0
TARGET_SHORT_X = 10.0
ENGINES = {
    "whisper": {"MIRA_TRANSCRIBER": "whisper"},
    "whisper-short": {"MIRA_TRANSCRIBER": "whisper", "MIRA_WHISPER_CONTEXT": "short"},
    "pocketsphinx": {"MIRA_TRANSCRIBER": "pocketsphinx"},
}
COMMANDS = [
    "Mira, remind me to call mom at five.",
    "Mira, what time is it?",
    "Hey Mira, add milk to my shopping list.",
    "Mira, stop listening.",
    "Remind me to water the plants tomorrow morning.",
    "Let's meet on Friday at three at the cafe.",
    "Mira, text John that I am running late.",
    "I need to buy batteries for the smoke alarm.",
]
VOICES = ("rms", "awb", "slt", "kal")


def load_sets() -> dict[str, list[tuple[object, str]]]:
    from tests.audio_data import flite_speech, librivox_clips

    commands = [(flite_speech(text, voice), text) for voice in VOICES for text in COMMANDS]
    return {"librivox": librivox_clips(), "flite commands": commands}


def one_pass(engine, clips) -> tuple[float, list[str], list[float]]:
    """(× real time, hypotheses, seconds per clip) of one pass over the set."""
    audio_s = sum(len(samples) / 16_000 for samples, _ in clips)
    hypotheses, per_clip = [], []
    began = time.perf_counter()
    for samples, _ in clips:
        started = time.perf_counter()
        hypotheses.append(engine.transcribe(samples, ["Mira"]).text)
        per_clip.append(time.perf_counter() - started)
    return audio_s / (time.perf_counter() - began), hypotheses, per_clip


def wer(clips, hypotheses) -> float:
    from mira.speech.text import normalise, word_error_rate

    words = sum(len(normalise(text)) for _, text in clips)
    errors = sum(
        word_error_rate(text, hyp) * len(normalise(text))
        for (_, text), hyp in zip(clips, hypotheses, strict=True)
    )
    return errors / words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="whisper,whisper-short,pocketsphinx")
    parser.add_argument("--threads", type=int, default=1, help="CTranslate2 threads")
    args = parser.parse_args()

    from mira.speech.engines import build_transcriber

    sets = load_sets()
    for name, clips in sets.items():
        seconds = sum(len(s) / 16_000 for s, _ in clips)
        print(f"{name}: {len(clips)} clips, {seconds:.1f} s of audio")
    names = args.engines.split(",")
    engines = {}
    for name in names:
        began = time.perf_counter()
        engine = build_transcriber({**ENGINES[name], "MIRA_WHISPER_THREADS": args.threads})
        engine.warm_up()
        engines[name] = engine
        print(f"{name}: loaded and warmed up in {time.perf_counter() - began:.2f} s")
    print(f"({args.threads} CTranslate2 thread(s); passes interleaved across engines)")
    speeds = {(n, s): [] for n in names for s in sets}
    per_clip = {(n, s): [] for n in names for s in sets}
    hypotheses = {}
    for _ in range(args.runs):
        for set_name, clips in sets.items():
            for name in names:
                speed, hyps, times = one_pass(engines[name], clips)
                speeds[(name, set_name)].append(speed)
                per_clip[(name, set_name)].extend(times)
                hypotheses[(name, set_name)] = hyps
    results = {}
    for name in names:
        print(f"\n{name}")
        for set_name, clips in sets.items():
            speed = statistics.median(speeds[(name, set_name)])
            results[(name, set_name)] = speed
            clip_s = statistics.median(per_clip[(name, set_name)])
            print(
                f"  {set_name:15s} {speed:6.1f}x real time (median of {args.runs}), "
                f"WER {wer(clips, hypotheses[(name, set_name)]) * 100:5.1f} %, "
                f"median {clip_s * 1000:.0f} ms per clip"
            )
    for fast, reference in (("whisper-short", "whisper"), ("whisper", "pocketsphinx")):
        if fast in names and reference in names:
            print(f"\nratio {fast} / {reference} speed (same run):")
            for set_name in sets:
                ratio = results[(fast, set_name)] / results[(reference, set_name)]
                print(f"  {set_name:15s} {ratio:.2f}")
    for name in ("whisper", "whisper-short"):
        if name not in names:
            continue
        slowest = min(results[(name, s)] for s in sets)
        verdict = "PASS" if slowest >= TARGET_X else "MISS"
        print(f"\n{name}: slowest set {slowest:.1f}x real time, target {TARGET_X}x: {verdict}")
        short = results[(name, "flite commands")]
        verdict = "PASS" if short >= TARGET_SHORT_X else "MISS"
        print(f"{name}: short commands {short:.1f}x, target {TARGET_SHORT_X}x: {verdict}")


if __name__ == "__main__":
    main()
