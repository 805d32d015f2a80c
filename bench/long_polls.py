"""Long-polls must not starve ordinary requests: GET /health idle, then with N long-polls open.

Creates its own PostgreSQL database, migrates, provisions a user, network and device key with
the `flask mira` CLI, and starts gunicorn as deployed (`gunicorn.conf.py`, its default shape
unless --settings says otherwise). Then, from separate load-generator processes:

1. idle: GET /health from --clients keep-alive clients (the reference, same run);
2. held: a holder process opens --polls long-polls on `GET /api/v1/{network}/events` with one
   device key (`wait=25`, each re-opened as soon as it returns, as the apps do) and --sockets
   realtime sockets (none by default; bench/realtime.py's `idle` part measures what idle
   sockets cost uploads) and, once all are waiting, GET /health is measured again the same way;
3. idle again after the holder is stopped (the machine's drift during the run).

Printed: p50/p95/p99 of /health idle and held, the ratio held p95 / idle p95 (target <= 2x),
how many long-polls (and sockets) were open while /health was measured, and the web process's
CPU time per second while only they were open (what waiting costs). Only 127.0.0.1 is
contacted; every process started here is stopped and the database dropped, even on failure.

    .venv/bin/python bench/long_polls.py                    # 50 long-polls, 4 /health clients
    .venv/bin/python bench/long_polls.py --polls 200 --sockets 100 --settings 2x258
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from functools import partial
from pathlib import Path

from api_load import run_load
from common import (
    HOST,
    Processes,
    add_settings_option,
    children,
    create_database,
    drop_database,
    flask,
    free_port,
    gunicorn_command,
    latency_line,
    parse_settings,
    wait_healthy,
)

TARGET_RATIO = 2.0


# --------------------------------------------------------------------------- child processes


def _hold(args: argparse.Namespace) -> None:
    """Child: --polls threads each keep one long-poll open on the events feed until SIGTERM;
    the number of requests waiting right now is written to --status as it changes."""
    waiting = 0
    answered = 0
    failed = 0
    lock = threading.Lock()
    stop = threading.Event()
    path = f"/api/v1/{args.network}/events?wait=25&after="
    headers = {"Authorization": f"Bearer {args.key}"}

    def write_status() -> None:
        tmp = args.status + ".tmp"
        with open(tmp, "w") as out:
            json.dump({"waiting": waiting, "answered": answered, "failed": failed}, out)
        os.replace(tmp, args.status)

    def poller() -> None:
        nonlocal waiting, answered, failed
        conn = http.client.HTTPConnection(HOST, args.port, timeout=60)
        cursor = "0"
        while not stop.is_set():
            with lock:
                waiting += 1
                write_status()
            try:
                conn.request("GET", path + cursor, headers=headers)
                response = conn.getresponse()
                body = response.read()
                ok = response.status == 200
                if ok:
                    cursor = json.loads(body)["cursor"]
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                conn = http.client.HTTPConnection(HOST, args.port, timeout=60)
                ok = False
            with lock:
                waiting -= 1
                answered += ok
                failed += not ok
                write_status()
            if not ok:
                time.sleep(0.5)
        conn.close()

    def socket(index: int) -> None:
        """An app's realtime socket, held open and read (the hub's events, the keep-alives)."""
        nonlocal waiting, failed
        import simple_websocket

        url = f"ws://{HOST}:{args.port}/api/v1/realtime/ws?token={args.key}&client_id=app-{index}"
        try:
            ws = simple_websocket.Client.connect(url)
        except Exception:
            with lock:
                failed += 1
                write_status()
            return
        with lock:
            waiting += 1
            write_status()
        while not stop.is_set():
            try:
                ws.receive(timeout=1.0)
            except Exception:
                with lock:
                    waiting -= 1
                    failed += 1
                    write_status()
                return
        ws.close()

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=poller, daemon=True) for _ in range(args.polls)]
    threads += [
        threading.Thread(target=socket, args=(i,), daemon=True) for i in range(args.sockets)
    ]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        time.sleep(0.2)


# --------------------------------------------------------------------------- parent


def measure_health(port: int, args: argparse.Namespace) -> dict:
    """GET /health from --clients keep-alive clients: api_load.py's load generator."""
    return run_load(port, "/health", None, args.clients, args.requests, 60.0)


def read_status(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"waiting": 0, "answered": 0, "failed": 0}


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes, in seconds (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


_line = partial(latency_line, name_width=30, count_width=6, rate_width=7, rate_unit=" req/s")


def bench_setting(
    env: dict[str, str],
    workers: int,
    threads: int,
    network: str,
    key: str,
    args: argparse.Namespace,
    logdir: Path,
) -> dict:
    procs = Processes(env, logdir)
    port = free_port()
    status = str(logdir / f"hold-{workers}x{threads}.json")
    try:
        web = procs.start(
            "web",
            gunicorn_command(port),
            GUNICORN_WORKERS=str(workers),
            GUNICORN_THREADS=str(threads),
        )
        wait_healthy(port, web, log=lambda: procs.log("web"))
        measure_health(port, args)  # warm-up: the first run after start is slower throughout
        idle = measure_health(port, args)

        holder = procs.start(
            "holder",
            [
                sys.executable,
                __file__,
                "--hold-child",
                "--port",
                str(port),
                "--polls",
                str(args.polls),
                "--sockets",
                str(args.sockets),
                "--network",
                network,
                "--key",
                key,
                "--status",
                status,
            ],
        )
        deadline = time.monotonic() + 60
        while (
            read_status(status)["waiting"] < args.polls + args.sockets
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        time.sleep(2.0)  # every request reached its wait
        web_pids = [web.pid, *children(web.pid)]
        cpu_before, wall_before = cpu_seconds(web_pids), time.monotonic()
        time.sleep(5.0)
        cpu_per_s = (cpu_seconds(web_pids) - cpu_before) / (time.monotonic() - wall_before)
        before = read_status(status)
        held = measure_health(port, args)
        after = read_status(status)
        procs.stop(holder)
        again = measure_health(port, args)
    finally:
        procs.stop_all()
    result = {
        "setting": f"{workers}x{threads}",
        "idle": idle,
        "held": held,
        "again": again,
        "open": min(before["waiting"], after["waiting"]),
        "cpu_per_s": cpu_per_s,
        "poll_failed": after["failed"],
    }
    print(
        f"\n== gunicorn {workers} worker(s) x {threads} thread(s), {args.polls} long-polls, "
        f"{args.clients} /health clients"
    )
    print(_line("GET /health idle", idle))
    print(_line(f"GET /health, {result['open']} held open", held))
    print(_line("GET /health idle again", again))
    reference = statistics.median([idle["p95"], again["p95"]])
    ratio = held["p95"] / reference
    result["ratio"] = ratio
    print(
        f"web CPU while only they were open: {cpu_per_s * 100:.1f} % of a core; "
        f"long-polls or sockets failed: {after['failed']}"
    )
    print(
        f"ratio p95 held / idle (median of the two idle runs): {ratio:.2f}x "
        f"(target <= {TARGET_RATIO:.0f}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'})"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--network", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--status", help=argparse.SUPPRESS)
    parser.add_argument("--polls", type=int, default=50, help="long-polls held open")
    parser.add_argument("--sockets", type=int, default=0, help="realtime sockets held open too")
    parser.add_argument("--clients", type=int, default=4, help="/health clients")
    parser.add_argument("--requests", type=int, default=800, help="/health requests per run")
    parser.add_argument("--database", default="mira_bench_polls")
    add_settings_option(parser)
    args = parser.parse_args()
    if args.hold_child:
        _hold(args)
        return

    workdir = tempfile.TemporaryDirectory(prefix="mira-bench-polls-")
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": f"postgresql://postgres@{HOST}:5432/{args.database}",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "MIRA_RATE_LIMITS": "false",
        "MIRA_INSTANCE_PATH": str(Path(workdir.name) / "instance"),
        "MIRA_STORAGE_URL": str(Path(workdir.name) / "audio"),
        "MIRA_QUEUE": "inline",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("GUNICORN_ACCESSLOG", None)
    drop_database(args.database)
    create_database(args.database)
    results = []
    try:
        flask(env, "db", "upgrade")
        user = json.loads(
            flask(env, "mira", "create-user", "bench@example.com", "--password", uuid.uuid4().hex)
        )
        network = user["default_network_id"]
        key = json.loads(flask(env, "mira", "create-device-key", network))["key"]
        for workers, threads in parse_settings(args.settings):
            results.append(
                bench_setting(env, workers, threads, network, key, args, Path(workdir.name))
            )
    finally:
        drop_database(args.database)
        workdir.cleanup()
    print("\n== summary (GET /health p95, idle vs long-polls open)")
    for r in results:
        print(
            f"{r['setting']:<8} idle {r['idle']['p95']:6.1f} / {r['again']['p95']:6.1f} ms  "
            f"held {r['held']['p95']:6.1f} ms ({r['open']} open)  ratio {r['ratio']:.2f}x  "
            f"web CPU {r['cpu_per_s'] * 100:.1f} %"
        )


if __name__ == "__main__":
    main()
