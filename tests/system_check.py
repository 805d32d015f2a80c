"""Before `make test`: the system tools the tests use, and how to install the missing ones.

Run as `python -m tests.system_check`. Exits 1 when something is missing, so a newcomer reads
what to install instead of a wall of failures; MIRA_ALLOW_MISSING_TOOLS=1 runs the suite anyway
(the tests that need a missing tool are then skipped).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# name → (what for, Debian/Ubuntu package, Homebrew formula or None)
TOOLS = {
    "ffmpeg": ("decoding WebM/M4A uploads", "ffmpeg", "ffmpeg"),
    "sox": ("making noise for the noisy-room tests", "sox", "sox"),
    "flite": ("speaking test sentences", "flite", "flite"),
    "chromium": ("rendering /docs offline in a real browser", "chromium", None),
}
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox/transcription")


def missing() -> list[tuple[str, str, str, str | None]]:
    found = [
        (name, why, apt, brew) for name, (why, apt, brew) in TOOLS.items() if not shutil.which(name)
    ]
    if not LIBRIVOX.exists():
        found.append(
            ("LibriVox test clips", "transcription accuracy tests", "pocketsphinx-testdata", None)
        )
    return found


def main() -> int:
    absent = missing()
    if not absent:
        return 0
    print("The tests need system tools that are not installed:", file=sys.stderr)
    for name, why, _apt, _brew in absent:
        print(f"  - {name} ({why})", file=sys.stderr)
    apt = " ".join(item[2] for item in absent)
    print(f"\nDebian/Ubuntu:  sudo apt-get install -y {apt}", file=sys.stderr)
    brew = [item[3] for item in absent if item[3]]
    if brew:
        print(f"macOS:          brew install {' '.join(brew)}", file=sys.stderr)
    if os.environ.get("MIRA_ALLOW_MISSING_TOOLS"):
        print(
            "\nMIRA_ALLOW_MISSING_TOOLS is set: the tests that need them are skipped.",
            file=sys.stderr,
        )
        return 0
    print(
        "\nOr run with MIRA_ALLOW_MISSING_TOOLS=1 to skip the tests that need them.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
