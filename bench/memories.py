"""Precision, recall and speed of the offline memory rules on the statement tables.

Both tables of tests/unit/assistant/memory_phrasings.py: DEVELOPMENT (the rules are built
against it) and HELD_OUT (written before the rules, never tuned against: the honest figure). A
kept memory is right when its type is an expected one and its canonical text holds that row's
words; each expected memory is matched at most once. Precision = right / kept, recall = right /
expected. Targets (held-out): precision >= 90 %, recall >= 75 %.

    .venv/bin/python bench/memories.py [--repeat 50] [--show-misses]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from mira.assistant.memories import extract_memories  # noqa: E402
from tests.unit.assistant.memory_phrasings import DEVELOPMENT, HELD_OUT  # noqa: E402

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
PRECISION_TARGET, RECALL_TARGET = 0.90, 0.75


def score(rows, show_misses: bool) -> tuple[int, int, int]:
    kept = expected = right = 0
    for row in rows:
        found = [(m.memory_type, m.canonical_text.lower()) for m in extract_memories(row.text, NOW)]
        kept += len(found)
        expected += len(row.expected)
        open_ = list(row.expected)
        for kind, text in found:
            match = next((e for e in open_ if e[0] == kind and e[1] in text), None)
            if match is not None:
                open_.remove(match)
                right += 1
            elif show_misses:
                print(f"  wrong: {row.text!r} -> {kind}: {text}")
        if show_misses:
            for kind, words in open_:
                print(f"  missed: {row.text!r} -> {kind}: {words}")
    return kept, expected, right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    for name, rows in (("development", DEVELOPMENT), ("held-out", HELD_OUT)):
        kept, expected, right = score(rows, args.show_misses)
        precision = right / kept if kept else 1.0
        recall = right / expected if expected else 1.0
        print(
            f"{name}: {len(rows)} rows, {expected} memories expected, {kept} kept: "
            f"precision {precision:.1%}, recall {recall:.1%}"
        )
    started = time.perf_counter()
    for _ in range(args.repeat):
        for row in HELD_OUT:
            extract_memories(row.text, NOW)
    rate = args.repeat * len(HELD_OUT) / (time.perf_counter() - started)
    print(f"speed: {rate:,.0f} statements/s (one process)")
    kept, expected, right = score(HELD_OUT, False)
    ok = right / max(kept, 1) >= PRECISION_TARGET and right / max(expected, 1) >= RECALL_TARGET
    print(f"target held-out precision >= 90 %, recall >= 75 %: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
