"""Cold start of the web app: `import wsgi; wsgi.app` in fresh interpreters.

Prints each run's wall time and peak RSS (VmHWM, read by the child itself), the medians, and a
reference measured in the same run (`import flask`), so figures from different machines compare.
Target: median <= 1.0 s.

    .venv/bin/python bench/cold_start.py [-n 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGET_MEDIAN_S = 1.0

# The child reports its own peak RSS: wall time is measured outside, around the whole process.
REPORT_HWM = """
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""
PROGRAMS = {
    "mira": "import wsgi; wsgi.app\n" + REPORT_HWM,
    "flask": "import flask\n" + REPORT_HWM,
    # The libraries the web app is built on, imported and nothing else: the floor for Mira.
    "stack": "import flask, sqlalchemy.orm, flask_sqlalchemy, flask_smorest, marshmallow, "
    "flask_limiter, flask_cors\n" + REPORT_HWM,
}


def run_once(code: str, env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"child failed:\n{result.stderr}")
    return elapsed, int(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mira-cold-") as instance:
        env = {**os.environ, "MIRA_INSTANCE_PATH": instance}
        # Any non-empty value (even "0") stops Python writing .pyc files; a deployed app has them.
        for name in ("DATABASE_URL", "REDIS_URL", "MIRA_QUEUE", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)  # the embedded default, as `make run` starts it
        # One untimed run each: writes .pyc files and the instance secret, as a deployed app has.
        for code in PROGRAMS.values():
            run_once(code, env)
        times: dict[str, list[float]] = {name: [] for name in PROGRAMS}
        rss: dict[str, list[int]] = {name: [] for name in PROGRAMS}
        for index in range(args.runs):
            for name, code in PROGRAMS.items():  # interleaved: load drift hits both alike
                elapsed, hwm_kb = run_once(code, env)
                times[name].append(elapsed)
                rss[name].append(hwm_kb)
            print(
                f"run {index + 1}: "
                + "   ".join(
                    f"{name} {times[name][-1]:.3f} s ({rss[name][-1] / 1024:.1f} MB)"
                    for name in PROGRAMS
                )
            )

    mira_median = statistics.median(times["mira"])
    flask_median = statistics.median(times["flask"])
    print()
    print(f"python: {sys.version.split()[0]}  runs: {args.runs}")
    print(
        f"import wsgi; wsgi.app  median {mira_median:.3f} s  min {min(times['mira']):.3f} s  "
        f"max {max(times['mira']):.3f} s  peak RSS max {max(rss['mira']) / 1024:.1f} MB"
    )
    print(
        f"import flask (ref)     median {flask_median:.3f} s  min {min(times['flask']):.3f} s  "
        f"max {max(times['flask']):.3f} s  peak RSS max {max(rss['flask']) / 1024:.1f} MB"
    )
    stack_median = statistics.median(times["stack"])
    print(
        f"import the stack (ref) median {stack_median:.3f} s  min {min(times['stack']):.3f} s  "
        f"max {max(times['stack']):.3f} s  peak RSS max {max(rss['stack']) / 1024:.1f} MB"
    )
    print(f"ratio mira/flask (median): {mira_median / flask_median:.2f}x")
    print(
        f"ratio mira/stack (median): {mira_median / stack_median:.2f}x "
        f"(Mira's own share: {mira_median - stack_median:.3f} s)"
    )
    verdict = "met" if mira_median <= TARGET_MEDIAN_S else "MISSED"
    print(f"target median <= {TARGET_MEDIAN_S:.1f} s: {verdict}")


if __name__ == "__main__":
    main()
