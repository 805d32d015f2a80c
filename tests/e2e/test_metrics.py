"""/metrics adds up every gunicorn worker: with two workers, 30 requests count as 30, whichever
worker answers the scrape (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.e2e.conftest import embedded_stack


def _health_count(text: str) -> float:
    pattern = r'^mira_http_requests_total\{[^}]*route="/health"[^}]*status="200"[^}]*\} (\S+)$'
    values = [float(v) for v in re.findall(pattern, text, re.M)]
    return sum(values)


def test_two_workers_count_every_request_exactly_once(tmp_path):
    metrics_dir = tmp_path / "metrics"
    stack = embedded_stack(tmp_path, GUNICORN_WORKERS="2", MIRA_METRICS_DIR=str(metrics_dir))
    try:
        stack.provision()
        stack.start_web()  # its own readiness probe asks /health until it answers

        def hit(_):
            # A new connection each time, so the kernel spreads them over both workers.
            return requests.get(f"{stack.base_url}/health", timeout=10).status_code

        def writers() -> set[str]:
            return {path.name.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}

        # Both workers must be serving (each loads the speech models first): ask until both
        # have counted something, so the figures below come from two processes.
        deadline = time.monotonic() + 120
        while len(writers()) < 2:
            assert time.monotonic() < deadline, "the second worker never answered"
            with ThreadPoolExecutor(max_workers=6) as pool:
                list(pool.map(hit, range(12)))
        baseline = _health_count(requests.get(f"{stack.base_url}/metrics", timeout=10).text)
        with ThreadPoolExecutor(max_workers=6) as pool:
            assert set(pool.map(hit, range(30))) == {200}
        # Whichever worker answers each scrape, the sum is the same: both workers' counts.
        scrapes = [
            _health_count(requests.get(f"{stack.base_url}/metrics", timeout=10).text)
            for _ in range(6)
        ]
        assert scrapes == [baseline + 30] * 6, (baseline, scrapes)
    finally:
        stack.stop_all()
