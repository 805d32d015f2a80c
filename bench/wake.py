"""Wake word: recall on spoken commands, false triggers on everything else, command intents.

Every utterance goes through Mira's own path, as the analysis job runs it: high-pass denoise,
VAD, the process transcriber built from the app's default settings, then the wake decision
(`mira.assistant.wakeword.hear`, which the job calls). `--modes old` replays the path as it was
before the wake-word work (exact "Mira" at the start of one transcript, Whisper's 30 s window
with beam 5); `first` is today's path without Whisper base's second look
(`MIRA_WHISPER_SECOND_LOOK=none`); so modes are measured in the same run on the same audio.

Speech: commands and non-commands spoken by every installed flite voice (`flite -lv`; the
limited-domain `*_time` voices, which can say nothing but clock times, are skipped and listed)
and by espeak-ng voices, each with 0 / 0.3 / 0.6 s of leading silence, clean and with pink noise
at 20 dB SNR (fixed seeds). Non-commands are near-misses ("Miranda called", "admiral", "mirror
on the wall", sound-alikes inside sentences), remarks from the phrasing table
(tests/unit/assistant/phrasings.py, no wake word), the 100 LibriSpeech utterances in
tests/data (clean and at 20 dB), and talk opening with "here", "there", "their" or "where"
(every voice, 0 / 0.3 s, clean and noisy: where the lost-name rules could misfire).
Printed per mode:

- recall: commands whose wake word was accepted (a command candidate is not recall);
- command intent: the offline assistant's intent for the heard command is the expected one;
- false triggers: non-commands accepted as commands; candidates: utterances filed as command
  candidates (the client is asked to confirm; not a false trigger, but shown);
- missed commands that left no trace (neither command nor candidate).

Targets: recall >= 97 % (flite), >= 90 % (espeak-ng), false triggers <= 1 %.

    .venv/bin/python bench/wake.py                      # new path only
    .venv/bin/python bench/wake.py --modes old,new      # both, same audio, same run
    .venv/bin/python bench/wake.py --modes first,new    # without and with the second look
    .venv/bin/python bench/wake.py --quick              # 3 flite + 2 espeak voices, no LibriSpeech
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

SR = 16_000
PADDINGS = (0.0, 0.3, 0.6)
SNR_DB = 20.0
ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us+f3")
WAKE_WORDS = ["mira"]
TARGETS = {"flite": 0.97, "espeak-ng": 0.90}
MAX_FALSE = 0.01

# (what is said, the intent the offline assistant should find in it)
COMMANDS = [
    ("Mira, what time is it?", "time"),
    ("Mira, stop listening.", "stop_listening"),
    ("Mira, remind me to call mom at five.", "remind"),
    ("Hey Mira, what's the date today?", "time"),
    ("Mira, text John that I am running late.", "contact"),
    ("Mira, add milk to my shopping list.", "task"),
    ("Mira, remember that the spare key is under the mat.", "remember"),
    ("Mira, how many people are here?", "status"),
    ("Mira, schedule a meeting with Anna on Friday at three.", "schedule"),
]
NEAR_MISSES = [
    "Miranda called this morning.",
    "The admiral is here.",
    "Mirror, mirror on the wall.",
    "I told Mira about it yesterday.",
    "Myra and I went to the market.",
    "Mia is coming to dinner tonight.",
    "I am here.",
    "A bus stop.",
]
PHRASING_ROWS = 6  # spoken remarks taken evenly from the phrasing table (no wake word)
# Talk opening with a word Whisper writes for a lost "Mira" (`wakeword.LOST_NAME_OPENINGS`):
# such an utterance gets Whisper base's second look and PocketSphinx's opinion, so these are
# where a false trigger from those rules would show. Said at 0 and 0.3 s of padding.
RHYME_OPENINGS = [
    "Where is the remote?",
    "Where are my keys?",
    "Where did you put the shopping list?",
    "Where's the milk?",
    "There is milk in the fridge.",
    "There are many people out here.",
    "There's a meeting on Friday at three.",
    "Their car is parked outside.",
    "Their meeting is on Friday at three.",
    "Here is the spare key.",
    "Here, take this.",
    "Here we go again.",
    "Where were you at five?",
    "There was a call from mom.",
]


@dataclass(frozen=True)
class Clip:
    family: str  # flite, espeak-ng, librispeech
    voice: str
    text: str
    intent: str | None  # None: not a command
    padding: float
    noisy: bool
    samples: np.ndarray


# --------------------------------------------------------------------------- speech


def flite_voices() -> tuple[list[str], list[str]]:
    """(usable voices, skipped limited-domain voices) from `flite -lv`."""
    listed = subprocess.run(["flite", "-lv"], capture_output=True, text=True, check=True).stdout
    names = listed.split(":", 1)[1].split()
    return [v for v in names if not v.endswith("_time")], [v for v in names if v.endswith("_time")]


def espeak_speech(text: str, voice: str) -> np.ndarray:
    import soundfile
    from scipy.signal import resample_poly

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "spoken.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True)
        samples, rate = soundfile.read(out, dtype="float32")
    if rate != SR:
        samples = resample_poly(samples, SR, rate).astype(np.float32)
    return samples


def pink_noise(n: int, seed: int) -> np.ndarray:
    """1/f noise (white noise shaped in the frequency domain), unit power."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def condition(speech: np.ndarray, padding: float, noisy: bool, seed: int) -> np.ndarray:
    """Leading silence, a short tail, and pink noise at SNR_DB against the speech's power."""
    tail = np.zeros(int(0.2 * SR), dtype=np.float32)
    samples = np.concatenate([np.zeros(int(padding * SR), dtype=np.float32), speech, tail])
    if noisy:
        power = float(np.mean(speech.astype(np.float64) ** 2))
        scale = np.sqrt(power / 10 ** (SNR_DB / 10))
        samples = samples + scale * pink_noise(len(samples), seed)
    return np.clip(samples, -1, 1).astype(np.float32)


def phrasing_remarks() -> list[str]:
    from tests.unit.assistant.phrasings import DEVELOPMENT, HELD_OUT

    rows = [p.text for p in DEVELOPMENT + HELD_OUT]
    step = max(1, len(rows) // PHRASING_ROWS)
    return rows[::step][:PHRASING_ROWS]


def build_clips(quick: bool) -> tuple[list[Clip], list[str]]:
    from tests.audio_data import flite_speech, speech, speech_files

    flite, skipped = flite_voices()
    espeak = list(ESPEAK_VOICES)
    if quick:
        flite, espeak = flite[:3], espeak[:2]
    voices = [("flite", v) for v in flite] + [("espeak-ng", v) for v in espeak]
    said = [(t, i) for t, i in COMMANDS] + [(t, None) for t in NEAR_MISSES + phrasing_remarks()]
    clips: list[Clip] = []
    seed = 0
    for family, voice in voices:
        for text, intent in said:
            spoken = flite_speech(text, voice) if family == "flite" else espeak_speech(text, voice)
            for padding in PADDINGS:
                for noisy in (False, True):
                    seed += 1
                    samples = condition(spoken, padding, noisy, seed)
                    clips.append(Clip(family, voice, text, intent, padding, noisy, samples))
    if not quick:
        for index in range(len(speech_files())):
            for noisy in (False, True):
                seed += 1
                samples = condition(speech(index), 0.0, noisy, seed)
                clips.append(Clip("librispeech", "human", "", None, 0.0, noisy, samples))
    # Last, so the clips above keep the seeds (and the figures) they had before this block.
    for family, voice in voices:
        for text in RHYME_OPENINGS:
            spoken = flite_speech(text, voice) if family == "flite" else espeak_speech(text, voice)
            for padding in PADDINGS[:2]:
                for noisy in (False, True):
                    seed += 1
                    samples = condition(spoken, padding, noisy, seed)
                    clips.append(Clip(family, voice, text, None, padding, noisy, samples))
    return clips, skipped


# --------------------------------------------------------------------------- listening


def settings(mode: str) -> dict:
    """The app's defaults (what a worker runs); `old` pins the settings as they were."""
    from mira.config import load_config

    defaults = load_config(tempfile.mkdtemp(prefix="mira-wake-"))
    if mode == "old":
        defaults.update(MIRA_WHISPER_BEAM=5, MIRA_WHISPER_CONTEXT="full")
    if mode in ("old", "first"):
        defaults["MIRA_WHISPER_SECOND_LOOK"] = "none"
    defaults["MIRA_TRANSCRIBER"] = "whisper"
    defaults["GEMINI_API_KEY"] = None
    return defaults


def make_listener(mode: str):
    """A function samples -> (text, status, command), status one of wake/candidate/none."""
    from mira.audio.denoise import denoise
    from mira.audio.vad import find_speech
    from mira.speech.engines import build_transcriber

    cfg = settings(mode)
    engine = build_transcriber(cfg)
    engine.warm_up()

    def speech_span(samples):
        clean = denoise(samples, cfg.get("MIRA_DENOISE", "highpass"))
        found = find_speech(clean, cfg.get("MIRA_VAD_AGGRESSIVENESS", 2))
        if not found.has_speech:
            return clean, None
        return clean, (found.segments[0].start_s, found.segments[-1].end_s)

    if mode == "old":
        from mira.assistant.wakeword import find_wake_word

        def listen(samples):
            clean, span = speech_span(samples)
            if span is None:
                return "", "none", None
            text = engine.transcribe_between(clean, *span, WAKE_WORDS).text
            match = find_wake_word(text, WAKE_WORDS)
            return (text, "none", None) if match is None else (text, "wake", match.command)

        return listen

    from mira.assistant.wakeword import hear

    def listen(samples):
        clean, span = speech_span(samples)
        if span is None:
            return "", "none", None
        transcript, decision = hear(engine, clean, *span, WAKE_WORDS)
        return transcript.text, decision.status, decision.command

    return listen


# --------------------------------------------------------------------------- report


def rate(hits: int, total: int) -> str:
    return f"{hits}/{total} = {100 * hits / total:5.1f} %" if total else "—"


def run_mode(mode: str, clips: list[Clip], show_misses: int) -> dict:
    from mira.assistant.commands import answer_command

    listen = make_listener(mode)
    now = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    per_clip, outcomes = [], []
    for n, clip in enumerate(clips):
        if n % 100 == 0:
            print(f"  {mode}: {n}/{len(clips)}", file=sys.stderr, flush=True)
        began = time.perf_counter()
        text, status, command = listen(clip.samples)
        per_clip.append(time.perf_counter() - began)
        intent = None
        if status == "wake" and clip.intent is not None:
            intent = answer_command(command or "", now, wake_words=WAKE_WORDS).intent
        outcomes.append((clip, text, status, intent))

    print(
        f"\n=== mode {mode}: {len(clips)} clips, median {statistics.median(per_clip) * 1000:.0f}"
        f" ms per clip (denoise + VAD + transcription + wake decision)"
    )
    summary = {}
    for family in ("flite", "espeak-ng"):
        cmds = [o for o in outcomes if o[0].family == family and o[0].intent is not None]
        if not cmds:
            continue
        woke = sum(o[2] == "wake" for o in cmds)
        candidates = sum(o[2] == "candidate" for o in cmds)
        right = sum(o[3] == o[0].intent for o in cmds)
        summary[family] = woke / len(cmds)
        verdict = "PASS" if woke / len(cmds) >= TARGETS[family] else "MISS"
        print(
            f"{family:10s} recall {rate(woke, len(cmds))} (target {TARGETS[family]:.0%}: "
            f"{verdict}); + candidates {candidates}; silent misses "
            f"{len(cmds) - woke - candidates}; intent right {rate(right, len(cmds))}"
        )
        cells = defaultdict(lambda: [0, 0])
        for clip, _, status, _ in cmds:
            key = (clip.voice, clip.padding, clip.noisy)
            cells[key][0] += status == "wake"
            cells[key][1] += 1
        by_voice = defaultdict(lambda: [0, 0])
        by_condition = defaultdict(lambda: [0, 0])
        for (voice, padding, noisy), (hit, total) in cells.items():
            by_voice[voice][0] += hit
            by_voice[voice][1] += total
            cond = f"{padding:.1f} s {'20 dB' if noisy else 'clean'}"
            by_condition[cond][0] += hit
            by_condition[cond][1] += total
        print(
            "   by voice:     "
            + ", ".join(f"{v} {100 * h / t:.0f} %" for v, (h, t) in by_voice.items())
        )
        print(
            "   by condition: "
            + ", ".join(f"{c} {100 * h / t:.0f} %" for c, (h, t) in sorted(by_condition.items()))
        )
    others = [o for o in outcomes if o[0].intent is None]
    false = [o for o in others if o[2] == "wake"]
    candidates = [o for o in others if o[2] == "candidate"]
    summary["false"] = len(false) / len(others) if others else 0.0
    verdict = "PASS" if summary["false"] <= MAX_FALSE else "MISS"
    print(
        f"non-commands: false triggers {rate(len(false), len(others))} "
        f"(target <= {MAX_FALSE:.0%}: {verdict}); candidates {rate(len(candidates), len(others))}"
    )
    for group in ("flite", "espeak-ng", "librispeech"):
        part = [o for o in others if o[0].family == group]
        if part:
            print(
                f"   {group:11s} false {sum(o[2] == 'wake' for o in part)}, candidates "
                f"{sum(o[2] == 'candidate' for o in part)} of {len(part)}"
            )
    for clip, text, _, _ in false[:show_misses]:
        print(
            f"   FALSE  {clip.voice:8s} {clip.padding:.1f} s {'noisy' if clip.noisy else 'clean'}"
            f"  said {clip.text!r:40.40} heard {text!r}"
        )
    missed = [o for o in outcomes if o[0].intent is not None and o[2] != "wake"]
    for clip, text, status, _ in missed[:show_misses]:
        print(
            f"   MISSED {clip.voice:8s} {clip.padding:.1f} s {'noisy' if clip.noisy else 'clean'}"
            f"  said {clip.text!r:40.40} heard {text!r} ({status})"
        )
    return summary


def text_level_false_triggers() -> None:
    """Every phrasing-table row (none has a wake word), through the text-level decision."""
    from tests.unit.assistant.phrasings import DEVELOPMENT, HELD_OUT

    try:
        from mira.assistant.wakeword import judge
    except ImportError:
        return
    rows = [p.text for p in DEVELOPMENT + HELD_OUT]
    decisions = [judge(text, WAKE_WORDS).status for text in rows]
    print(
        f"\nphrasing table as text ({len(rows)} rows, no wake word): "
        f"wake {decisions.count('wake')}, candidates {decisions.count('candidate')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="new", help="old, first, new, comma-separated")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--show", type=int, default=12, help="misses and false triggers listed")
    args = parser.parse_args()
    began = time.perf_counter()
    clips, skipped = build_clips(args.quick)
    families = defaultdict(set)
    for clip in clips:
        families[clip.family].add(clip.voice)
    print(
        f"{len(clips)} clips synthesised in {time.perf_counter() - began:.0f} s; voices: "
        + "; ".join(f"{f} {', '.join(sorted(v))}" for f, v in families.items())
    )
    if skipped:
        print(f"skipped flite voices {', '.join(skipped)} (limited domain: clock times only)")
    print(
        f"commands {len(COMMANDS)} × paddings {PADDINGS} s × (clean, {SNR_DB:.0f} dB pink "
        f"noise) per voice"
    )
    for mode in args.modes.split(","):
        run_mode(mode, clips, args.show)
    text_level_false_triggers()


if __name__ == "__main__":
    main()
