"""Access tokens (JWT), refresh tokens and device keys: creation and verification, no HTTP."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEVICE_KEY_PREFIX = "mira_dk_"
JWT_ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The credential is missing, malformed, expired or revoked."""


class ExpiredToken(InvalidToken):
    """The credential was good but its time is up: a refreshed one will do."""


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    # The user's token generation when it was issued (tokens from before it existed: 0).
    generation: int


def issue_access_token(
    user_id: uuid.UUID, secret: str, minutes: int, generation: int = 0
) -> tuple[str, int]:
    import jwt  # imported on first use: it pulls in `cryptography`, a slow start-up import

    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "type": "access",
        "gen": generation,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), minutes * 60


def read_access_token(token: str, secret: str) -> AccessClaims:
    import jwt

    try:
        claims = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken("Access token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("Invalid access token") from exc
    if claims.get("type") != "access":
        raise InvalidToken("Invalid access token")
    generation = claims.get("gen", 0)
    if not isinstance(generation, int) or isinstance(generation, bool):
        raise InvalidToken("Invalid access token")
    try:
        return AccessClaims(uuid.UUID(claims["sub"]), generation)
    except (ValueError, TypeError) as exc:
        raise InvalidToken("Invalid access token") from exc


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)


def new_device_key() -> str:
    return DEVICE_KEY_PREFIX + secrets.token_urlsafe(32)
