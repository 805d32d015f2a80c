"""Offline transcription: speed (× real time) and word error rate.

Engines: Whisper tiny.en through faster-whisper (the default, weights bundled) and PocketSphinx
(the light fallback), each loaded once and warmed up, as in a worker. Sets:
- Debian's pocketsphinx-testdata LibriVox clips (read speech with reference transcripts);
- short commands spoken by flite voices (what a room assistant mostly hears).
Speed is audio seconds per wall second, the median of `--runs` passes; PocketSphinx, measured
in the same run, is the reference for the ratio. Target: the default engine >= 3x real time.

    .venv/bin/python bench/transcribe.py
    .venv/bin/python bench/transcribe.py --runs 5 --engines whisper
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


def measure(engine, clips, runs: int) -> tuple[float, float, float]:
    """(median × real time, WER over the set, median seconds per clip)."""
    from mira.speech.text import normalise, word_error_rate

    audio_s = sum(len(samples) / 16_000 for samples, _ in clips)
    speeds, per_clip, hypotheses = [], [], []
    for _ in range(runs):
        hypotheses = []
        began = time.perf_counter()
        for samples, _ in clips:
            started = time.perf_counter()
            hypotheses.append(engine.transcribe(samples, ["Mira"]).text)
            per_clip.append(time.perf_counter() - started)
        speeds.append(audio_s / (time.perf_counter() - began))
    words = sum(len(normalise(text)) for _, text in clips)
    errors = sum(
        word_error_rate(text, hyp) * len(normalise(text))
        for (_, text), hyp in zip(clips, hypotheses, strict=True)
    )
    return statistics.median(speeds), errors / words, statistics.median(per_clip)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="whisper,pocketsphinx")
    args = parser.parse_args()

    from mira.speech.engines import build_transcriber

    sets = load_sets()
    for name, clips in sets.items():
        seconds = sum(len(s) / 16_000 for s, _ in clips)
        print(f"{name}: {len(clips)} clips, {seconds:.1f} s of audio")
    results = {}
    for engine_name in args.engines.split(","):
        began = time.perf_counter()
        engine = build_transcriber({"MIRA_TRANSCRIBER": engine_name})
        engine.warm_up()
        load_s = time.perf_counter() - began
        print(f"\n{engine_name}: loaded and warmed up in {load_s:.2f} s")
        for set_name, clips in sets.items():
            speed, wer, clip_s = measure(engine, clips, args.runs)
            results[(engine_name, set_name)] = speed
            print(
                f"  {set_name:15s} {speed:6.1f}x real time (median of {args.runs}), "
                f"WER {wer * 100:5.1f} %, median {clip_s * 1000:.0f} ms per clip"
            )
    if "whisper" in args.engines and "pocketsphinx" in args.engines:
        print("\nratio whisper / pocketsphinx speed (same run):")
        for set_name in sets:
            ratio = results[("whisper", set_name)] / results[("pocketsphinx", set_name)]
            print(f"  {set_name:15s} {ratio:.2f}")
    slowest = min(speed for (engine, _), speed in results.items() if engine == "whisper")
    if "whisper" in args.engines:
        verdict = "PASS" if slowest >= TARGET_X else "MISS"
        print(
            f"\ndefault engine slowest set: {slowest:.1f}x real time, target {TARGET_X}x: {verdict}"
        )


if __name__ == "__main__":
    main()
