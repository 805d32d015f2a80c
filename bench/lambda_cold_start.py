"""Lambda cold start: a fresh interpreter imports Zappa's handler and answers a first `GET /health`.

The settings module is the one Zappa writes for the production stage (`zappa
save-python-settings-file`), with a local SQLite database and blob folder instead of RDS and S3
and without the remote env file, so nothing leaves the machine. Each run prints its wall time
(the whole process, measured outside) and peak RSS; the summary gives the medians, the heavy
modules the first request loaded (must be none), and references measured in the same run:
`import flask` and `import wsgi; wsgi.app`. Target: median <= 1.5 s.

    .venv/bin/python bench/lambda_cold_start.py [-n 7]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGET_MEDIAN_S = 1.5
sys.path.insert(0, str(PROJECT_ROOT))
from tests.unit.test_light_imports import HEAVY_MODULES as WEB_HEAVY_MODULES  # noqa: E402

# What the web process must not load; Zappa's handler itself is expected here.
HEAVY_MODULES = [m for m in WEB_HEAVY_MODULES if m != "zappa"]
# Loaded by the handler or a first request, but not heavy: reported for the record.
NOTED_MODULES = ["boto3", "botocore", "zappa.asynchronous", "alembic"]

REPORT_HWM = """
with open("/proc/self/status") as status:
    hwm_kb = int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""
LAMBDA = (
    """
import json, sys
from zappa.handler import lambda_handler
answer = lambda_handler(json.loads(sys.argv[1]), None)
assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "healthy", answer
names = json.loads(sys.argv[2])
"""
    + REPORT_HWM
    + """
print(json.dumps({"hwm_kb": hwm_kb, "loaded": [n for n in names if n in sys.modules]}))
"""
)
REFERENCES = {
    "import flask": "import json, flask\n" + REPORT_HWM + 'print(json.dumps({"hwm_kb": hwm_kb}))',
    "import wsgi; wsgi.app": "import json, wsgi\nwsgi.app\n"
    + REPORT_HWM
    + 'print(json.dumps({"hwm_kb": hwm_kb}))',
}

HEALTH_EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/health",
    "rawQueryString": "",
    "headers": {"host": "api.mira.example", "user-agent": "bench"},
    "requestContext": {
        "http": {
            "method": "GET",
            "path": "/health",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7",
        },
        "stage": "$default",
        "requestId": "bench",
    },
    "isBase64Encoded": False,
}


def write_settings(folder: Path) -> None:
    """zappa_settings.py for the production stage, pointed at local storage, by Zappa's CLI."""
    production = json.loads((PROJECT_ROOT / "zappa_settings.json").read_text())["production"]
    stage = {
        "extends": "production",
        "remote_env": None,
        "environment_variables": {
            **production["environment_variables"],
            "DATABASE_URL": f"sqlite:///{folder / 'mira.db'}",
            "MIRA_STORAGE_URL": str(folder / "audio"),
            "MIRA_INSTANCE_PATH": str(folder / "instance"),
            "SECRET_KEY": secrets.token_urlsafe(48),
        },
    }
    settings = {"production": production, "bench": stage}
    (folder / "zappa_settings.json").write_text(json.dumps(settings))
    subprocess.run(
        [sys.executable, "-m", "zappa.cli", "save-python-settings-file", "bench"],
        cwd=folder,
        env={
            **os.environ,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        },
        capture_output=True,
        check=True,
    )


def run_once(code: str, env: dict[str, str], *args: str) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"child failed:\n{result.stderr[-4000:]}")
    return elapsed, json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7)
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("at least 5 runs")

    with tempfile.TemporaryDirectory(prefix="mira-lambda-cold-") as tmp:
        folder = Path(tmp)
        write_settings(folder)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(folder), str(PROJECT_ROOT)]),
            "MIRA_INSTANCE_PATH": str(folder / "instance"),
            "AWS_LAMBDA_FUNCTION_NAME": "mira-bench",
            "AWS_REGION": "eu-central-1",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        # Any non-empty value stops Python writing .pyc files; the image has them compiled.
        for name in ("DATABASE_URL", "REDIS_URL", "MIRA_QUEUE", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        programs = {
            "lambda": (
                LAMBDA,
                (json.dumps(HEALTH_EVENT), json.dumps(HEAVY_MODULES + NOTED_MODULES)),
            )
        }
        programs.update({name: (code, ()) for name, code in REFERENCES.items()})
        for code, extra in programs.values():  # untimed: bytecode and instance secret written
            run_once(code, env, *extra)
        times: dict[str, list[float]] = {name: [] for name in programs}
        rss: dict[str, list[int]] = {name: [] for name in programs}
        loaded: set[str] = set()
        for index in range(args.runs):
            for name, (code, extra) in programs.items():  # interleaved: load drift hits all alike
                elapsed, report = run_once(code, env, *extra)
                times[name].append(elapsed)
                rss[name].append(report["hwm_kb"])
                loaded.update(report.get("loaded", []))
            print(
                f"run {index + 1}: "
                + "   ".join(
                    f"{name} {times[name][-1]:.3f} s ({rss[name][-1] / 1024:.1f} MB)"
                    for name in programs
                )
            )

    print()
    print(f"python: {sys.version.split()[0]}  runs: {args.runs}")
    for name in programs:
        label = "handler + first GET /health" if name == "lambda" else f"{name} (ref)"
        print(
            f"{label:<30} median {statistics.median(times[name]):.3f} s  "
            f"min {min(times[name]):.3f} s  max {max(times[name]):.3f} s  "
            f"peak RSS max {max(rss[name]) / 1024:.1f} MB"
        )
    heavy = sorted(loaded & set(HEAVY_MODULES))
    noted = sorted(loaded & set(NOTED_MODULES))
    print(
        f"heavy modules loaded: {', '.join(heavy) or 'none'} (checked: {', '.join(HEAVY_MODULES)})"
    )
    print(f"also loaded: {', '.join(noted) or 'none'} (boto3 comes with Zappa's handler itself)")
    median = statistics.median(times["lambda"])
    wsgi_median = statistics.median(times["import wsgi; wsgi.app"])
    print(f"handler's share over `import wsgi; wsgi.app`: {median - wsgi_median:.3f} s")
    verdict = "met" if median <= TARGET_MEDIAN_S and not heavy else "MISSED"
    print(f"target median <= {TARGET_MEDIAN_S:.1f} s and no heavy module: {verdict}")


if __name__ == "__main__":
    main()
