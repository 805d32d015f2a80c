"""The README's quick start, copied line by line, works.

The shell block under "## Quick start" runs in bash (errors stop it: `set -euo pipefail`, and
every curl is `-f`) against a live server of the test app, from the repository's folder, with
only its first line changed to the server's address.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def quick_start_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    match = re.search(r"<!-- quick-start[^>]*-->\n```sh\n(.*?)```", section, re.S)
    assert match, "the README's quick start has no marked shell block"
    return match.group(1)


def test_the_readme_quick_start_works(live):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    block = quick_start_block()
    first, rest = block.split("\n", 1)
    assert first == "MIRA=http://localhost:8000"  # what a newcomer copies
    base = live.replace("ws://", "http://")
    script = f"set -euo pipefail\nMIRA={base}\n{rest}"
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    interactions, persons, conversations, actions, events = answers[-5:]
    [heard] = interactions
    assert "call mom" in heard["text"].lower()
    assert heard["person_id"] == persons[0]["id"]
    assert heard["conversation_id"] == conversations[0]["id"]
    [reminder] = actions
    assert reminder["action_type"] == "remind" and "call mom" in reminder["details"]["description"]
    types = [event["type"] for event in events["events"]]
    assert "interaction.created" in types and "action.created" in types and events["cursor"]
