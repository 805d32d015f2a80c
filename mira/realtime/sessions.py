"""Session tokens: a socket's proof, attached to later uploads, that they come from its client.

The dadei apps register their client only by opening the socket and send the token it gave
them with every upload; Mira signs it, so no table holds sessions.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mira.auth.tokens import JWT_ALGORITHM, ExpiredToken, InvalidToken

SESSION_TOKEN_TYPE = "ws_session"
# A token is still taken this long after it expired: an upload may leave the app just before a
# fresh `session_ready` reached it.
EXPIRY_LEEWAY_S = 60


@dataclass(frozen=True)
class Session:
    network_id: uuid.UUID
    client_id: str
    session_id: str


def new_session_id() -> str:
    return secrets.token_hex(12)


def issue(session: Session, secret: str, seconds: int) -> str:
    import jwt

    now = datetime.now(UTC)
    claims = {
        "type": SESSION_TOKEN_TYPE,
        "net": str(session.network_id),
        "cid": session.client_id,
        "sid": session.session_id,
        "iat": now,
        "exp": now + timedelta(seconds=seconds),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def read(token: str, secret: str) -> Session:
    import jwt

    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            leeway=EXPIRY_LEEWAY_S,
            options={"require": ["exp", "net", "cid", "sid"]},
        )
        if claims.get("type") != SESSION_TOKEN_TYPE:
            raise InvalidToken("Invalid session token")
        return Session(uuid.UUID(claims["net"]), str(claims["cid"]), str(claims["sid"]))
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken("Session token expired") from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken("Invalid session token") from exc
