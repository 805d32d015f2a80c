"""Audio pipeline throughput in one process: decode + quality + denoise + VAD.

Runs the worker's signal stages (no database, no queue) over the 100 LibriSpeech files of
tests/data, reading the file bytes once up front so disk I/O is not measured. Warm-up first
(imports, first calls), then the median of several runs. A reference is measured in the same run:
plain `soundfile.read` of the same bytes (the floor any decoder pays), and the ratio is
printed. Target: >= 100x real time with the default denoise mode ("highpass").

    .venv/bin/python bench/pipeline.py               # default + spectral, 3 runs each
    .venv/bin/python bench/pipeline.py --runs 5 --modes highpass
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA = PROJECT_ROOT / "tests" / "data" / "librispeech-test-other"
TARGET_X = 100.0
STAGES = ("decode", "quality", "denoise", "vad")


def load_files() -> list[bytes]:
    files = sorted(DATA.glob("*/*.flac"))
    if not files:
        sys.exit(f"no LibriSpeech files under {DATA.resolve()}")
    return [path.read_bytes() for path in files]


def run_pipeline(blobs: list[bytes], mode: str) -> tuple[float, dict[str, float], int]:
    """One pass; (audio seconds, seconds per stage, files with speech)."""
    from mira.audio.decode import decode
    from mira.audio.denoise import denoise
    from mira.audio.quality import measure, overall_score
    from mira.audio.vad import find_speech

    spent = dict.fromkeys(STAGES, 0.0)
    audio_s, with_speech = 0.0, 0
    clock = time.perf_counter
    for blob in blobs:
        t0 = clock()
        decoded = decode(blob, max_seconds=600.0)
        t1 = clock()
        overall_score(measure(decoded.samples))
        t2 = clock()
        clean = denoise(decoded.samples, mode)
        t3 = clock()
        speech = find_speech(clean, 2)
        t4 = clock()
        spent["decode"] += t1 - t0
        spent["quality"] += t2 - t1
        spent["denoise"] += t3 - t2
        spent["vad"] += t4 - t3
        audio_s += decoded.duration_s
        with_speech += speech.has_speech
    return audio_s, spent, with_speech


def run_reference(blobs: list[bytes]) -> tuple[float, float]:
    """(audio seconds, wall seconds) of plain soundfile.read to float32."""
    import soundfile

    audio_s = 0.0
    started = time.perf_counter()
    for blob in blobs:
        samples, rate = soundfile.read(io.BytesIO(blob), dtype="float32")
        audio_s += len(samples) / rate
    return audio_s, time.perf_counter() - started


def bench_mode(blobs: list[bytes], mode: str, runs: int) -> dict:
    run_pipeline(blobs[:3], mode)  # warm-up: imports, filter design, noisereduce, webrtcvad
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        audio_s, spent, with_speech = run_pipeline(blobs, mode)
        results.append((time.perf_counter() - started, audio_s, spent, with_speech))
    results.sort(key=lambda r: r[0])
    wall, audio_s, spent, with_speech = results[len(results) // 2]  # the median run
    return {
        "mode": mode,
        "wall": wall,
        "audio_s": audio_s,
        "x": audio_s / wall,
        "all_x": [r[1] / r[0] for r in results],
        "spent": spent,
        "with_speech": with_speech,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="highpass,spectral", help="comma-separated modes")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT_ROOT))

    blobs = load_files()
    print(f"{len(blobs)} files, {sum(map(len, blobs)) / 1e6:.1f} MB of FLAC, {args.runs} runs")

    run_reference(blobs[:3])
    refs = sorted(
        [(audio / wall, audio, wall) for audio, wall in (run_reference(blobs) for _ in range(3))]
    )
    ref_x, ref_audio, ref_wall = refs[len(refs) // 2]
    print(
        f"\nreference soundfile.read: {ref_audio:.1f} s of audio in {ref_wall * 1000:.0f} ms "
        f"-> {ref_x:.0f}x real time (median of {len(refs)})"
    )

    results = []
    for mode in args.modes.split(","):
        r = bench_mode(blobs, mode.strip(), args.runs)
        results.append(r)
        total = sum(r["spent"].values())
        print(
            f"\n== denoise={r['mode']}: {r['audio_s']:.1f} s of audio in {r['wall'] * 1000:.0f} ms"
            f" -> {r['x']:.0f}x real time (median; runs "
            + ", ".join(f"{x:.0f}x" for x in r["all_x"])
            + f"); {r['with_speech']}/{len(blobs)} files with speech"
        )
        for stage in STAGES:
            ms = r["spent"][stage] * 1000
            print(f"   {stage:<8} {ms:8.1f} ms  {ms / 1000 / total:6.1%}")
        print(f"   pipeline / soundfile.read: {ref_x / r['x']:.1f}x slower than the decode floor")

    print("\n== summary")
    for r in results:
        verdict = ""
        if r["mode"] == "highpass":
            verdict = f"  (target >= {TARGET_X:.0f}x: {'met' if r['x'] >= TARGET_X else 'MISSED'})"
        print(f"{r['mode']:<9} {r['x']:7.0f}x real time, reference {ref_x:.0f}x{verdict}")


if __name__ == "__main__":
    main()
