"""gunicorn settings; every value can be overridden with GUNICORN_* variables or flags."""

import os
import tempfile

# `--bind` on the command line (make run, tests) wins; containers listen on every interface.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "1"))
# Each open realtime socket holds one thread for as long as it is open (threads are started
# only as needed): room for MIRA_REALTIME_MAX_SOCKETS sockets plus 8 requests at a time.
threads = int(
    os.environ.get("GUNICORN_THREADS")
    or 8 + int(os.environ.get("MIRA_REALTIME_MAX_SOCKETS") or "500")
)
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Request lines: gunicorn's default (4 KB, at most 8 KB) is below the documented 200
# `conversation_ids` (~11 KB) and answers longer ones with an HTML 414. 0 lifts gunicorn's cap
# to 1 MB; Mira bounds URLs itself at MIRA_MAX_URL_BYTES (16 KB) with a 414 in its envelope.
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "0"))
# Behind a reverse proxy, let it end idle connections first.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Workers signal liveness through a file; on a container's overlay filesystem those writes can
# stall, so they go to memory when the system has it.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
# Metrics add up across workers (prometheus_client's multiprocess mode, mira/metrics.py): one
# folder for this server's workers, emptied when it starts.
metrics_dir = os.environ.get("MIRA_METRICS_DIR") or os.path.join(
    tempfile.gettempdir(), f"mira-metrics-{os.getpid()}"
)
os.environ["MIRA_METRICS_DIR"] = metrics_dir
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def on_starting(server):
    """Counts left by an earlier run of this server would be added to the new one's."""
    os.makedirs(metrics_dir, exist_ok=True)
    for name in os.listdir(metrics_dir):
        if name.endswith(".db"):
            os.remove(os.path.join(metrics_dir, name))


def child_exit(server, worker):
    """A dead worker's gauges (open sockets) stop counting; its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)


def post_worker_init(worker):
    """Embedded mode (jobs on threads of the web process): load the models right away, and
    keep time for reminders and client expiry (workers do that in server mode)."""
    from mira.queue import warm_up_inline

    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "config"):
        _close_sockets_on_stop(app)
        warm_up_inline(app)
        if app.config["MIRA_QUEUE"] == "inline":
            from mira import background

            background.start(app)


def _close_sockets_on_stop(app):
    """On SIGTERM (a deploy, a restart) a worker closes its realtime sockets at once with 1012,
    so the apps reconnect to the next worker instead of waiting out the graceful timeout."""
    import signal

    stop = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        from mira.realtime.hub import hub_for

        hub_for(app).close_all()
        if callable(stop):
            stop(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
