"""Precision, recall and speed of the offline action extractor on the phrasing tables.

Both tables of tests/unit/assistant/phrasings.py: DEVELOPMENT (the rules are built against it)
and HELD_OUT (written before the rules, never tuned against: the honest figure). Scoring is at
the level of action types: a predicted action is right when its type is the row's and, when the
row expects a time, its resolved time is that time. Precision = right / predicted,
recall = right / expected. Targets: precision ≥ 95 %, recall ≥ 80 %.

    .venv/bin/python bench/extract.py [--repeat 50] [--show-misses]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from mira.assistant.extract import extract_actions  # noqa: E402
from mira.assistant.types import ExtractedAction  # noqa: E402
from tests.unit.assistant.phrasings import DEVELOPMENT, HELD_OUT, Phrasing  # noqa: E402

PRECISION_TARGET = 0.95
RECALL_TARGET = 0.80


@dataclass
class Score:
    predicted: int = 0
    expected: int = 0
    right: int = 0

    @property
    def precision(self) -> float:
        return self.right / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.expected if self.expected else 1.0


def is_right(action: ExtractedAction, row: Phrasing) -> bool:
    """Type-level match; the time must match too when the row expects one."""
    if action.action_type != row.action_type:
        return False
    return row.when is None or action.scheduled_time == row.when


def score(rows: list[Phrasing], show_misses: bool) -> Score:
    result = Score()
    for row in rows:
        actions = extract_actions(row.text, row.now)
        result.predicted += len(actions)
        result.expected += row.action_type is not None
        hits = sum(is_right(action, row) for action in actions[:1])
        result.right += hits
        if show_misses and (hits != (row.action_type is not None) or len(actions) > 1):
            found = [
                (a.action_type, a.scheduled_time and a.scheduled_time.isoformat()) for a in actions
            ]
            expected = (row.action_type, row.when and row.when.isoformat())
            print(f"    miss: {row.text!r}: got {found}, expected {expected}")
    return result


def throughput(rows: list[Phrasing], repeat: int) -> float:
    began = time.perf_counter()
    for _ in range(repeat):
        for row in rows:
            extract_actions(row.text, row.now)
    return repeat * len(rows) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="passes for the speed figure")
    parser.add_argument("--show-misses", action="store_true", help="print every wrong row")
    args = parser.parse_args()

    print(
        f"offline extractor, targets: precision ≥ {PRECISION_TARGET:.0%}, "
        f"recall ≥ {RECALL_TARGET:.0%}"
    )
    for name, rows in (("development", DEVELOPMENT), ("held-out", HELD_OUT)):
        result = score(rows, args.show_misses)
        print(
            f"  {name:<12} {len(rows):3d} rows  precision {result.precision:6.1%} "
            f"({result.right}/{result.predicted})  recall {result.recall:6.1%} "
            f"({result.right}/{result.expected})"
        )
    rows = DEVELOPMENT + HELD_OUT
    print(f"  throughput   {throughput(rows, args.repeat):,.0f} phrases/s (one thread)")


if __name__ == "__main__":
    main()
