"""Settings from the environment, with an embedded default that needs nothing running."""

from __future__ import annotations

import ipaddress
import os
import secrets
import uuid
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot work (e.g. production without a secret)."""


def _env(name: str, default: Any = None) -> Any:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _env_int(name: str, default: int) -> int:
    return int(_env(name, default))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, default))


def _engine_options(database_url: str) -> dict[str, Any]:
    """Pool pre-ping (a connection PostgreSQL dropped while idle is replaced, not failed on),
    and on PostgreSQL a pool as large as the requests a process serves at once: SQLAlchemy's
    default keeps 5, so from the 6th concurrent request on every request opened a new
    connection (a PostgreSQL backend) and closed it after (measured with 16 upload clients).
    """
    options: dict[str, Any] = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        options["pool_size"] = _env_int("MIRA_DB_POOL_SIZE", 16)
        options["max_overflow"] = _env_int("MIRA_DB_MAX_OVERFLOW", 16)
    return options


def as_bool(value: Any, default: bool) -> bool:
    """A setting as a flag: a bool as it is, text "1"/"true"/"yes"/"on" (any case) as true,
    other text as false, `default` when unset or empty."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _env_bool(name: str, default: bool) -> bool:
    return as_bool(_env(name), default)


# Placeholders from .env.example and tutorials: a production key must be none of them.
WEAK_SECRET_KEYS = {"change-me", "changeme", "secret", "dev", "development", "test"}
MIN_PRODUCTION_SECRET_LENGTH = 32


def _secret_key(env: str, instance_path: Path) -> str:
    """Production must bring its own key; elsewhere one is made once and kept under instance/."""
    key = _env("SECRET_KEY")
    if (
        key
        and env == "production"
        and (key.strip().lower() in WEAK_SECRET_KEYS or len(key) < MIN_PRODUCTION_SECRET_LENGTH)
    ):
        raise ConfigError(
            "SECRET_KEY is a placeholder or shorter than "
            f"{MIN_PRODUCTION_SECRET_LENGTH} characters. In production (MIRA_ENV=production) "
            "Mira refuses to start with it: set SECRET_KEY to a long random string."
        )
    if key:
        return key
    if env == "production":
        raise ConfigError(
            "SECRET_KEY is not set. In production (MIRA_ENV=production) Mira refuses to start "
            "without it: set SECRET_KEY to a long random string."
        )
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _origins(value: str) -> list[str]:
    """Comma-separated origins (scheme://host[:port]); '*' is refused: tokens go to named sites."""
    origins = [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
    for origin in origins:
        if "://" not in origin or origin.count("/") != 2:
            raise ConfigError(
                f"MIRA_OAUTH_WEB_ORIGINS holds {origin!r}: give origins like https://app.example.com"
            )
    return origins


def _storage_url(url: str) -> str:
    """Refused at start-up rather than at the first upload (mira.storage.local_folder)."""
    from mira.storage import local_folder

    try:
        local_folder(url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return url


def _log_format(env: str) -> str:
    value = str(_env("MIRA_LOG_FORMAT", "json" if env == "production" else "text")).lower()
    if value not in ("json", "text"):
        raise ConfigError(f"MIRA_LOG_FORMAT must be json or text, not {value!r}")
    return value


def normalise_db_url(url: str) -> str:
    """Accept postgres:// (Heroku style) and a bare postgresql://; Mira's driver is psycopg2."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg2://" + url[len(plain) :]
    return url


def load_secrets(arn: str) -> dict[str, str]:
    """Fill settings missing from the environment from one JSON secret in AWS Secrets Manager.

    Values already in the environment win, so a deployment can still override one setting.
    boto3 is imported only when `MIRA_SECRETS_ARN` is set (it is a heavy import).
    """
    import json

    import boto3

    region = _env("AWS_REGION") or _env("AWS_DEFAULT_REGION")
    client = boto3.client("secretsmanager", region_name=region or _region_of(arn))
    try:
        secret = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    except Exception as exc:  # never echo the secret, only what went wrong
        raise ConfigError(f"Cannot read MIRA_SECRETS_ARN ({type(exc).__name__})") from exc
    if not isinstance(secret, dict):
        raise ConfigError("The secret named by MIRA_SECRETS_ARN must be a JSON object")
    filled = {}
    for name, value in secret.items():
        if (
            isinstance(value, str | int | float)
            and not isinstance(value, bool)
            and _env(name) is None
        ):
            os.environ[name] = str(value)
            filled[name] = str(value)
    return filled


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[0] == "arn" and parts[3] else None


# Loopback and private ranges: the first-generation clients' own LAN, nothing routed from outside.
LEGACY_LAN_DEFAULT_ALLOW = (
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7,fe80::/10"
)


def _cidrs(name: str, value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs (a bare address is one host); host bits set is a typo, refused."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise ConfigError(f"{name} holds {item!r}, which is not a CIDR ({exc})") from exc
    if not networks:
        raise ConfigError(f"{name} is empty: name at least one CIDR, e.g. 192.168.0.0/16")
    return tuple(networks)


def _legacy_lan() -> dict[str, Any]:
    """First-generation clients without accounts (mira/legacy_lan.py): off unless asked for.

    The network and the allow-list are read and checked only when the mode is on, so a typo
    stops the server at start-up instead of opening (or silently closing) the LAN paths.
    """
    enabled = _env_bool("MIRA_LEGACY_LAN", False)
    settings = {
        "MIRA_LEGACY_LAN": enabled,
        "MIRA_LEGACY_LAN_NETWORK": None,
        "MIRA_LEGACY_LAN_ALLOW": _cidrs("MIRA_LEGACY_LAN_ALLOW", LEGACY_LAN_DEFAULT_ALLOW),
    }
    if not enabled:
        return settings
    raw = _env("MIRA_LEGACY_LAN_NETWORK")
    if raw is None:
        raise ConfigError(
            "MIRA_LEGACY_LAN is on but MIRA_LEGACY_LAN_NETWORK is not set: give the id (a UUID) "
            "of the network the first-generation clients act on"
        )
    try:
        settings["MIRA_LEGACY_LAN_NETWORK"] = uuid.UUID(str(raw).strip())
    except ValueError as exc:
        raise ConfigError(
            f"MIRA_LEGACY_LAN_NETWORK must be a network id (a UUID), not {raw!r}"
        ) from exc
    settings["MIRA_LEGACY_LAN_ALLOW"] = _cidrs(
        "MIRA_LEGACY_LAN_ALLOW", _env("MIRA_LEGACY_LAN_ALLOW", LEGACY_LAN_DEFAULT_ALLOW)
    )
    return settings


def load_config(instance_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read every setting Mira knows from the environment."""
    instance = Path(instance_path)
    secrets_arn = _env("MIRA_SECRETS_ARN")
    if secrets_arn:
        load_secrets(secrets_arn)
    env = _env("MIRA_ENV", "development")
    redis_url = _env("REDIS_URL")
    database_url = normalise_db_url(_env("DATABASE_URL", f"sqlite:///{instance / 'mira.db'}"))
    cors = _env("CORS_ORIGINS", "*")
    return {
        "MIRA_ENV": env,
        "SECRET_KEY": _secret_key(env, instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        # `flask db …` needs Flask-Migrate; web and worker processes skip loading it.
        "MIRA_MIGRATE_COMMANDS": os.environ.get("FLASK_RUN_FROM_CLI") == "true",
        "REDIS_URL": redis_url,
        "MIRA_QUEUE": _env("MIRA_QUEUE", "rq" if redis_url else "inline"),
        "MIRA_QUEUE_NAME": _env("MIRA_QUEUE_NAME", "mira"),
        "MIRA_INLINE_WORKERS": _env_int("MIRA_INLINE_WORKERS", 1),
        "MIRA_STORAGE_URL": _storage_url(_env("MIRA_STORAGE_URL", str(instance / "audio"))),
        "CORS_ORIGINS": [o.strip() for o in cors.split(",") if o.strip()],
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO").upper(),
        # json: one object per line (log shippers); text: readable in a terminal.
        "MIRA_LOG_FORMAT": _log_format(env),
        # Bearer token of /metrics; unset: open in development, 404 in production.
        "MIRA_METRICS_TOKEN": _env("MIRA_METRICS_TOKEN"),
        # Where processes of one host add up their metrics (gunicorn sets it for its workers).
        "MIRA_METRICS_DIR": _env("MIRA_METRICS_DIR"),
        # Audio uploads per network (interactions/register, streams/{id}/audio).
        "MIRA_UPLOAD_RATE_LIMIT": _env("MIRA_UPLOAD_RATE_LIMIT", "600 per minute"),
        "MIRA_ACCESS_TOKEN_MINUTES": _env_int("MIRA_ACCESS_TOKEN_MINUTES", 15),
        "MIRA_REFRESH_TOKEN_DAYS": _env_int("MIRA_REFRESH_TOKEN_DAYS", 30),
        "MIRA_PASSWORD_HASH": _env("MIRA_PASSWORD_HASH", "scrypt"),
        "MIRA_AUTH_RATE_LIMIT": _env("MIRA_AUTH_RATE_LIMIT", "20 per minute"),
        # Logins per account (normalised e-mail), whichever IPs they come from.
        "MIRA_LOGIN_ACCOUNT_RATE_LIMIT": _env("MIRA_LOGIN_ACCOUNT_RATE_LIMIT", "10 per minute"),
        # Reverse-proxy hops in front of Mira whose X-Forwarded-For/-Proto/-Host are believed
        # (werkzeug's ProxyFix); 0: the socket's peer is the client.
        "MIRA_TRUSTED_PROXIES": _env_int("MIRA_TRUSTED_PROXIES", 0),
        # Input bounds (mira/input_bounds.py).
        "MIRA_MAX_JSON_DEPTH": _env_int("MIRA_MAX_JSON_DEPTH", 64),
        "MIRA_MAX_URL_BYTES": _env_int("MIRA_MAX_URL_BYTES", 16384),
        "MIRA_MAX_METADATA_BYTES": _env_int("MIRA_MAX_METADATA_BYTES", 16384),
        "MIRA_MAX_SETTINGS_KEYS": _env_int("MIRA_MAX_SETTINGS_KEYS", 100),
        "MIRA_MAX_SETTINGS_BYTES": _env_int("MIRA_MAX_SETTINGS_BYTES", 16384),
        # Interaction metadata beyond this is left out of events, largest keys first
        # (`metadata_omitted`).
        "MIRA_EVENT_METADATA_BYTES": _env_int("MIRA_EVENT_METADATA_BYTES", 4096),
        # false: POST /auth/register and first sign-ins with Google/GitHub are refused; accounts
        # come from `flask mira create-user` and from network owners' invitations.
        "MIRA_OPEN_SIGNUP": _env_bool("MIRA_OPEN_SIGNUP", True),
        "MIRA_INVITATION_DAYS": _env_int("MIRA_INVITATION_DAYS", 7),
        # Sign-in with Google and GitHub (mira/auth/sign_in.py): off until credentials are set.
        "GOOGLE_CLIENT_ID": _env("GOOGLE_CLIENT_ID"),
        "GOOGLE_CLIENT_SECRET": _env("GOOGLE_CLIENT_SECRET"),
        "GITHUB_CLIENT_ID": _env("GITHUB_CLIENT_ID"),
        "GITHUB_CLIENT_SECRET": _env("GITHUB_CLIENT_SECRET"),
        # Websites that may receive tokens from the web sign-in (exact origins).
        "MIRA_OAUTH_WEB_ORIGINS": _origins(_env("MIRA_OAUTH_WEB_ORIGINS", "")),
        # Mira's address as browsers see it (the web sign-in's callback); default: the request's.
        "MIRA_PUBLIC_URL": _env("MIRA_PUBLIC_URL"),
        "MIRA_OAUTH_FLOW_S": _env_int("MIRA_OAUTH_FLOW_S", 600),
        "MIRA_OAUTH_TIMEOUT_S": _env_float("MIRA_OAUTH_TIMEOUT_S", 10.0),
        # Tests mount a fake provider here (a requests adapter); never set in production.
        "MIRA_OAUTH_TRANSPORT": None,
        "RATELIMIT_ENABLED": _env_bool("MIRA_RATE_LIMITS", True),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # A Redis outage must not take the API down: limits fall back to process memory.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "MAX_CONTENT_LENGTH": _env_int("MIRA_MAX_UPLOAD_MB", 25) * 1024 * 1024,
        "MIRA_MAX_AUDIO_SECONDS": _env_float("MIRA_MAX_AUDIO_SECONDS", 600.0),
        # Address-space cap of the helper process that decodes uploads (mira/audio/sandbox.py);
        # 0: decode in the job's own process (the default on Lambda, one invocation per job).
        "MIRA_DECODE_MEMORY_MB": _env_int(
            "MIRA_DECODE_MEMORY_MB", 0 if _env("MIRA_QUEUE") == "zappa" else 1024
        ),
        "MIRA_CONVERSATION_GAP_S": _env_float("MIRA_CONVERSATION_GAP_S", 300.0),
        "MIRA_SPEAKER_CHANGE_GAP_S": _env_float("MIRA_SPEAKER_CHANGE_GAP_S", 150.0),
        "MIRA_EVENTS_MAX_WAIT_S": _env_float("MIRA_EVENTS_MAX_WAIT_S", 25.0),
        "MIRA_EVENTS_POLL_S": _env_float("MIRA_EVENTS_POLL_S", 2.0),
        "MIRA_MAX_TEXT_LENGTH": _env_int("MIRA_MAX_TEXT_LENGTH", 10_000),
        # Audio pipeline
        "MIRA_DEDUP_WINDOW_MS": _env_int("MIRA_DEDUP_WINDOW_MS", 1500),
        # Retention: deleting an interaction, conversation or voice sample deletes its audio.
        "MIRA_DELETE_AUDIO": _env_bool("MIRA_DELETE_AUDIO", True),
        "MIRA_DENOISE": _env("MIRA_DENOISE", "highpass"),
        "MIRA_VAD_AGGRESSIVENESS": _env_int("MIRA_VAD_AGGRESSIVENESS", 2),
        "MIRA_UPLOAD_WAIT_MAX_S": _env_float("MIRA_UPLOAD_WAIT_MAX_S", 30.0),
        "MIRA_SWEEP_QUEUED_S": _env_float("MIRA_SWEEP_QUEUED_S", 120.0),
        "MIRA_SWEEP_HEARTBEAT_S": _env_float("MIRA_SWEEP_HEARTBEAT_S", 180.0),
        "MIRA_SWEEP_EVERY_S": _env_float("MIRA_SWEEP_EVERY_S", 60.0),
        # Stored audio that no row refers to, older than this, is deleted by the workers'
        # orphan sweep (every MIRA_ORPHAN_SWEEP_EVERY_S; `flask mira sweep-audio`): an upload
        # whose process died between writing the blob and committing its job.
        "MIRA_ORPHAN_AUDIO_AGE_S": _env_float("MIRA_ORPHAN_AUDIO_AGE_S", 3600.0),
        "MIRA_ORPHAN_SWEEP_EVERY_S": _env_float("MIRA_ORPHAN_SWEEP_EVERY_S", 900.0),
        # How long an upload's Idempotency-Key answers with its first job.
        "MIRA_IDEMPOTENCY_HOURS": _env_float("MIRA_IDEMPOTENCY_HOURS", 24.0),
        # Retry-After (seconds) of the 503 answered when the database fails during a request.
        "MIRA_DB_RETRY_AFTER_S": _env_int("MIRA_DB_RETRY_AFTER_S", 2),
        # Clients and realtime sockets (mira/clients/services.py, mira/realtime/)
        "MIRA_CLIENT_TTL_S": _env_float("MIRA_CLIENT_TTL_S", 7 * 86400.0),
        "MIRA_CLIENT_GRACE_S": _env_float("MIRA_CLIENT_GRACE_S", 30.0),
        "MIRA_SOCKET_LEASE_S": _env_float("MIRA_SOCKET_LEASE_S", 90.0),
        "MIRA_SESSION_TOKEN_S": _env_int("MIRA_SESSION_TOKEN_S", 900),
        "MIRA_REALTIME_POLL_S": _env_float("MIRA_REALTIME_POLL_S", 5.0),
        # Events a request caused go out this long after its response (see realtime/outbox.py).
        "MIRA_EVENTS_AFTER_RESPONSE_MS": _env_float("MIRA_EVENTS_AFTER_RESPONSE_MS", 100.0),
        "MIRA_REALTIME_MAX_SOCKETS": _env_int("MIRA_REALTIME_MAX_SOCKETS", 500),
        # Unprefixed, account-less paths of first-generation LAN clients (mira/legacy_lan.py).
        **_legacy_lan(),
        # flask-sock: WebSocket pings find dead peers; the apps only ever send tiny frames.
        "SOCK_SERVER_OPTIONS": {"ping_interval": 25, "max_message_size": 4096},
        # Voice commands: how long an answer may keep silent before the stream gives up.
        "MIRA_VOICE_TIMEOUT_S": _env_float("MIRA_VOICE_TIMEOUT_S", 30.0),
        # Reminders: how often due actions are looked for, and when a firing counts as late.
        "MIRA_REMINDER_POLL_S": _env_float("MIRA_REMINDER_POLL_S", 2.0),
        "MIRA_REMINDER_LATE_S": _env_float("MIRA_REMINDER_LATE_S", 60.0),
        "MIRA_S3_ENDPOINT_URL": _env("MIRA_S3_ENDPOINT_URL"),
        # AWS Lambda (MIRA_QUEUE=zappa): longest retry delay slept inside an async task, and
        # the function to invoke from outside Lambda.
        "MIRA_ZAPPA_MAX_SLEEP_S": _env_float("MIRA_ZAPPA_MAX_SLEEP_S", 15.0),
        "MIRA_ZAPPA_FUNCTION": _env("MIRA_ZAPPA_FUNCTION"),
        # Speech and assistant
        "MIRA_TRANSCRIBER": _env("MIRA_TRANSCRIBER", "auto"),
        "MIRA_WHISPER_MODEL": _env("MIRA_WHISPER_MODEL", "tiny.en"),
        "MIRA_WHISPER_THREADS": _env_int("MIRA_WHISPER_THREADS", 2),
        "MIRA_WHISPER_BEAM": _env_int("MIRA_WHISPER_BEAM", 5),
        # short (default): encode only the speech of short utterances, ~2x faster than full at
        # the same or lower WER (docs/performance.md); full: Whisper's 30 s window for every
        # clip (mira/speech/whisper.py).
        "MIRA_WHISPER_CONTEXT": _env("MIRA_WHISPER_CONTEXT", "short"),
        # The short context's shortest encoder window (s): speech + 0.3 s lead + 3 s tail below it
        # is padded up to it.
        "MIRA_WHISPER_MIN_WINDOW_S": _env_float("MIRA_WHISPER_MIN_WINDOW_S", 8.0),
        # true: the short context's decode places words in time and drops those after the speech
        # (the setting before 2026-12-03; 1.3 points more WER on the commands).
        "MIRA_WHISPER_SHORT_TIMESTAMPS": _env_bool("MIRA_WHISPER_SHORT_TIMESTAMPS", False),
        "MIRA_WHISPER_SECOND_LOOK": _env("MIRA_WHISPER_SECOND_LOOK", "base"),
        "GEMINI_API_KEY": _env("GEMINI_API_KEY"),
        "MIRA_GEMINI_MODEL": _env("MIRA_GEMINI_MODEL"),
        "MIRA_GEMINI_TIMEOUT_S": _env_float("MIRA_GEMINI_TIMEOUT_S", 10.0),
        "MIRA_ASSISTANT": _env("MIRA_ASSISTANT", "auto"),
        "MIRA_WAKE_WORDS": _env("MIRA_WAKE_WORDS", "mira"),
        "MIRA_TIMEZONE": _env("MIRA_TIMEZONE", "UTC"),
        # flask-smorest / OpenAPI
        "API_TITLE": "Mira",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Served by Mira from pinned packages (mira/docs_assets.py): the docs work offline.
        "OPENAPI_SWAGGER_UI_URL": _env("MIRA_SWAGGER_UI_URL", "/docs-assets/swagger-ui/"),
        "OPENAPI_REDOC_PATH": "/redoc",
        "OPENAPI_REDOC_URL": _env("MIRA_REDOC_URL", "/docs-assets/redoc/redoc.standalone.js"),
        "JSON_SORT_KEYS": False,
    }
