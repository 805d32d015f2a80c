"""The web process stays light: `import wsgi` must not pull in the audio/ML stack.

Lambda cold start and gunicorn worker RSS depend on it (ARCHITECTURE.md, "Heavy imports stay
out of the web process"). The check runs in a fresh interpreter so that modules other tests
imported cannot hide or fake a leak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

HEAVY_MODULES = (
    "torch",
    "librosa",
    "numba",
    "resemblyzer",
    "google.genai",
    "pocketsphinx",
    "noisereduce",
    "faster_whisper",
    "ctranslate2",
    "onnxruntime",
    "zappa",
    # The OAuth client is loaded by the first sign-in with Google or GitHub, not at start-up.
    "authlib",
    # The signal-processing stack belongs to the worker too.
    "numpy",
    "scipy",
    "soundfile",
    "webrtcvad",
)

PROBE = """
import json, sys
import wsgi
wsgi.app
heavy = json.loads(sys.argv[1])
print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
"""


def _loaded_after_import(tmp_path: Path, code: str = PROBE) -> list[str]:
    env = {**os.environ, "MIRA_INSTANCE_PATH": str(tmp_path / "instance")}
    # The default (embedded) configuration: no DATABASE_URL/REDIS_URL leaking in from CI.
    for name in ("DATABASE_URL", "REDIS_URL", "MIRA_QUEUE"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(HEAVY_MODULES)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_wsgi_loads_no_heavy_module(tmp_path):
    assert _loaded_after_import(tmp_path) == []


def test_the_probe_sees_a_heavy_module_when_one_is_imported(tmp_path):
    """Guards the guard: the same probe reports a module that was imported alongside wsgi."""
    leaky = PROBE.replace("import wsgi\n", "import wsgi\nimport json.tool as torch_stand_in\n")
    leaky = leaky.replace(
        "heavy = json.loads(sys.argv[1])",
        "heavy = json.loads(sys.argv[1]) + ['json.tool']",
    )
    assert _loaded_after_import(tmp_path, leaky) == ["json.tool"]
