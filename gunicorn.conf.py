"""gunicorn settings; every value can be overridden with GUNICORN_* variables or flags."""

import os

# `--bind` on the command line (make run, tests) wins; containers listen on every interface.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Behind a reverse proxy, let it end idle connections first.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Workers signal liveness through a file; on a container's overlay filesystem those writes can
# stall, so they go to memory when the system has it.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def post_worker_init(worker):
    """Embedded mode (jobs on threads of the web process): load the models right away."""
    from mira.queue import warm_up_inline

    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "config"):
        warm_up_inline(app)
