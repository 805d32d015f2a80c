"""Offline transcription: speed (× real time) and word error rate.

Engines, each loaded once and warmed up, as in a worker:
- `whisper`: Whisper tiny.en through faster-whisper with the defaults (since 2026-12-03 the
  short context: only the speech of short utterances is encoded, in a window of its own length
  plus a margin, at least 8 s, decoded without timestamps);
- `whisper-full`: the same model in Whisper's 30 s window (`MIRA_WHISPER_CONTEXT=full`, the
  default before);
- `whisper-short`: `MIRA_WHISPER_CONTEXT=short` with the other settings at their defaults;
- `pocketsphinx`: the light fallback;
- variants of these: `+key=value` after a name overrides one Whisper setting, with keys
  `beam` (MIRA_WHISPER_BEAM), `threads` (MIRA_WHISPER_THREADS, else `--threads`), `context`
  (MIRA_WHISPER_CONTEXT), `window` (MIRA_WHISPER_MIN_WINDOW_S), `timestamps`
  (MIRA_WHISPER_SHORT_TIMESTAMPS) or any `MIRA_…` name:
  `whisper-full+beam=1`, `whisper-short+window=15+timestamps=true`.
Sets:
- Debian's pocketsphinx-testdata LibriVox clips (read speech with reference transcripts);
- short commands spoken by flite voices (what a room assistant mostly hears).
Speed is audio seconds per wall second, the median of `--runs` passes; the passes of the engines
are interleaved (engine A pass 1, engine B pass 1, A pass 2 …) so a busy machine slows them
alike, and each engine's speed is printed as a ratio to the first engine's. `--threads` sets
CTranslate2's threads (1: one worker core). Whisper's decoding is deterministic, so WER needs
one pass; `--sets` limits the sets. Targets: >= 3x real time on every set, >= 10x on short
commands, WER <= 5 % on LibriVox and <= 9 % on the commands.

    .venv/bin/python bench/transcribe.py
    .venv/bin/python bench/transcribe.py --runs 5 --engines whisper-full,whisper --threads 1
    .venv/bin/python bench/transcribe.py --runs 3 --threads 1 \
        --engines whisper-full,whisper-full+beam=1,whisper-short+window=10+beam=1
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
TARGET_WER = {"librivox": 0.05, "flite commands": 0.09}
ENGINES = {
    "whisper": {"MIRA_TRANSCRIBER": "whisper"},
    "whisper-full": {"MIRA_TRANSCRIBER": "whisper", "MIRA_WHISPER_CONTEXT": "full"},
    "whisper-short": {"MIRA_TRANSCRIBER": "whisper", "MIRA_WHISPER_CONTEXT": "short"},
    "pocketsphinx": {"MIRA_TRANSCRIBER": "pocketsphinx"},
}
KEYS = {
    "beam": "MIRA_WHISPER_BEAM",
    "threads": "MIRA_WHISPER_THREADS",
    "context": "MIRA_WHISPER_CONTEXT",
    "window": "MIRA_WHISPER_MIN_WINDOW_S",
    "timestamps": "MIRA_WHISPER_SHORT_TIMESTAMPS",
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


def engine_settings(spec: str, threads: int) -> dict[str, object]:
    """The settings of `name+key=value+…` (see the module docstring)."""
    name, *overrides = spec.split("+")
    if name not in ENGINES:
        raise SystemExit(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    settings: dict[str, object] = {**ENGINES[name], "MIRA_WHISPER_THREADS": threads}
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or not (key in KEYS or key.startswith("MIRA_")):
            raise SystemExit(f"bad override {override!r} in {spec!r}: use key=value, keys {KEYS}")
        settings[KEYS.get(key, key)] = value
    return settings


def load_sets(names: list[str]) -> dict[str, list[tuple[object, str]]]:
    from tests.audio_data import flite_speech, librivox_clips

    sets = {}
    if "librivox" in names:
        sets["librivox"] = librivox_clips()
    if "commands" in names:
        sets["flite commands"] = [
            (flite_speech(text, voice), text) for voice in VOICES for text in COMMANDS
        ]
    return sets


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
    parser.add_argument("--engines", default="whisper-full,whisper,pocketsphinx")
    parser.add_argument("--threads", type=int, default=1, help="CTranslate2 threads")
    parser.add_argument("--sets", default="librivox,commands", help="librivox and/or commands")
    args = parser.parse_args()

    from mira.speech.engines import build_transcriber

    sets = load_sets(args.sets.split(","))
    for name, clips in sets.items():
        seconds = sum(len(s) / 16_000 for s, _ in clips)
        print(f"{name}: {len(clips)} clips, {seconds:.1f} s of audio")
    names = args.engines.split(",")
    engines = {}
    for name in names:
        began = time.perf_counter()
        engine = build_transcriber(engine_settings(name, args.threads))
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
    results, errors = {}, {}
    for name in names:
        print(f"\n{name}")
        for set_name, clips in sets.items():
            speed = statistics.median(speeds[(name, set_name)])
            results[(name, set_name)] = speed
            errors[(name, set_name)] = wer(clips, hypotheses[(name, set_name)])
            clip_s = statistics.median(per_clip[(name, set_name)])
            print(
                f"  {set_name:15s} {speed:6.1f}x real time (median of {args.runs}), "
                f"WER {errors[(name, set_name)] * 100:5.1f} %, "
                f"median {clip_s * 1000:.0f} ms per clip"
            )
    reference = names[0]
    print(f"\nsummary (speed ratio to {reference}, same run; targets WER", end=" ")
    print(", ".join(f"{s} <= {t * 100:.0f} %" for s, t in TARGET_WER.items()) + ")")
    print("| engine | " + " | ".join(f"{s}: x real time, ratio, WER" for s in sets) + " |")
    for name in names:
        cells = []
        for set_name in sets:
            speed = results[(name, set_name)]
            ratio = speed / results[(reference, set_name)]
            met = errors[(name, set_name)] <= TARGET_WER[set_name]
            cells.append(
                f"{speed:.1f}x, {ratio:.2f}, {errors[(name, set_name)] * 100:.1f} %"
                + ("" if met else " (WER miss)")
            )
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    for name in names:
        if not name.startswith("whisper"):
            continue
        slowest = min(results[(name, s)] for s in sets)
        verdict = "PASS" if slowest >= TARGET_X else "MISS"
        print(f"\n{name}: slowest set {slowest:.1f}x real time, target {TARGET_X}x: {verdict}")
        if "flite commands" in sets:
            short = results[(name, "flite commands")]
            verdict = "PASS" if short >= TARGET_SHORT_X else "MISS"
            print(f"{name}: short commands {short:.1f}x, target {TARGET_SHORT_X}x: {verdict}")


if __name__ == "__main__":
    main()
