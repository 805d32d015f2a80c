"""Users, sessions (refresh-token families) and device keys."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError

from mira import audit
from mira.auth.models import DeviceKey, RefreshToken, User
from mira.auth.passwords import hash_password, verify_password
from mira.auth.tokens import (
    issue_access_token,
    new_device_key,
    new_refresh_token,
    sha256_hex,
)
from mira.errors import Conflict, Forbidden, Invalid, MiraError, Unauthorized
from mira.extensions import db
from mira.networks import services as networks
from mira.networks.models import Membership, Network
from mira.queries import in_network, page
from mira.types import utcnow


def normalise_email(email: str) -> str:
    return email.strip().lower()


def token_response(user: User, family_id: uuid.UUID | None = None) -> dict[str, Any]:
    cfg = current_app.config
    access, expires_in = issue_access_token(
        user.id, cfg["SECRET_KEY"], cfg["MIRA_ACCESS_TOKEN_MINUTES"], user.token_generation or 0
    )
    refresh = new_refresh_token()
    db.session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=sha256_hex(refresh),
            expires_at=utcnow() + timedelta(days=cfg["MIRA_REFRESH_TOKEN_DAYS"]),
        )
    )
    db.session.commit()
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": expires_in,
        "user": user,
    }


def create_user(
    email: str, password: str | None, personal_network: bool = True, commit: bool = True
) -> User:
    """A user and, unless told otherwise, their personal network (their default)."""
    email = normalise_email(email)
    if db.session.scalar(db.select(User.id).where(User.email == email)):
        raise Conflict("An account with this email already exists", "EMAIL_TAKEN")
    method = current_app.config["MIRA_PASSWORD_HASH"]
    user = User(email=email, password_hash=hash_password(password, method) if password else None)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        db.session.rollback()
        raise Conflict("An account with this email already exists", "EMAIL_TAKEN") from exc
    if personal_network:
        network = networks.create_network(user, f"{email.split('@')[0]}'s network", commit=False)
        user.default_network_id = network.id
    if commit:
        db.session.commit()
    return user


def find_user(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


def signup_open() -> bool:
    return bool(current_app.config["MIRA_OPEN_SIGNUP"])


def register(email: str, password: str, invitation: str | None = None) -> dict[str, Any]:
    """A new account: its own network, or with an owner's invitation, the invited one."""
    if invitation is not None:
        from mira.networks import invitations

        pending = invitations.pending_for(email, invitation)
        user = create_user(email, password, personal_network=False, commit=False)
        invitations.accept(pending, user)
        db.session.commit()
        return token_response(user)
    if not signup_open():
        raise signup_closed()
    return token_response(create_user(email, password))


def signup_closed() -> MiraError:
    return Forbidden(
        "Sign-up is closed on this server: ask a network owner for an invitation",
        "SIGNUP_CLOSED",
    )


MIN_PASSWORD_LENGTH = 8


def set_password(user: User, new_password: str) -> None:
    """Set a password (an admin's reset, or the user's own change) and end every session."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters",
            "VALIDATION_ERROR",
            {"new_password": [f"Shorter than minimum length {MIN_PASSWORD_LENGTH}."]},
        )
    user.password_hash = hash_password(new_password, current_app.config["MIRA_PASSWORD_HASH"])
    db.session.execute(
        db.update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    _end_access_tokens(user.id)
    db.session.commit()
    db.session.refresh(user)  # the new generation, for the tokens issued next


def change_password(user: User, current_password: str | None, new_password: str):
    """The user's own change: the current password is required when there is one (an account
    made by Google or GitHub sign-in may add its first). Other sessions end; this one gets new
    tokens."""
    method = current_app.config["MIRA_PASSWORD_HASH"]
    if user.password_hash is not None and not verify_password(
        user.password_hash, current_password or "", method
    ):
        raise Forbidden("The current password is not correct", "INVALID_CREDENTIALS")
    set_password(user, new_password)
    return token_response(user)


def set_default_network(user: User, network_id: uuid.UUID) -> dict[str, Any]:
    """Which network the network-less routes (/api/v1/…, the apps) act on."""
    networks.membership(user, network_id)  # NotFound unless the user belongs to it
    user.default_network_id = network_id
    db.session.commit()
    return me(user)


def list_users(limit: int = 1000) -> list[dict[str, Any]]:
    rows = db.session.execute(
        db.select(User, db.func.count(Membership.network_id))
        .outerjoin(Membership, Membership.user_id == User.id)
        .group_by(User.id)
        .order_by(User.created_at)
        .limit(limit)
    ).all()
    return [
        {
            "id": user.id,
            "email": user.email,
            "is_active": user.is_active,
            "has_password": user.password_hash is not None,
            "default_network_id": user.default_network_id,
            "networks": networks_count,
            "created_at": user.created_at,
        }
        for user, networks_count in rows
    ]


def login(email: str, password: str) -> dict[str, Any]:
    user = db.session.scalar(db.select(User).where(User.email == normalise_email(email)))
    method = current_app.config["MIRA_PASSWORD_HASH"]
    if not verify_password(user.password_hash if user else None, password, method):
        raise Unauthorized("Incorrect email or password", "INVALID_CREDENTIALS")
    if not user.is_active:
        raise Unauthorized("This account is disabled", "INVALID_CREDENTIALS")
    return token_response(user)


def refresh(token: str) -> dict[str, Any]:
    """Rotate a refresh token. Presenting one already rotated revokes its whole family."""
    row = db.session.scalar(
        db.select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(token))
    )
    now = utcnow()
    if row is None:
        raise Unauthorized("Invalid refresh token", "INVALID_REFRESH_TOKEN")
    if row.revoked_at is not None:
        _revoke_family(row.family_id, now)
        db.session.commit()
        raise Unauthorized("Refresh token was already used or revoked", "INVALID_REFRESH_TOKEN")
    if row.expires_at <= now:
        raise Unauthorized("Refresh token expired", "INVALID_REFRESH_TOKEN")
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Invalid refresh token", "INVALID_REFRESH_TOKEN")
    # Conditional update: of two concurrent refreshes with the same token, only one rotates.
    rotated = db.session.execute(
        db.update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if rotated != 1:
        db.session.rollback()
        raise Unauthorized("Refresh token was already used or revoked", "INVALID_REFRESH_TOKEN")
    return token_response(user, family_id=row.family_id)


def _revoke_family(family_id: uuid.UUID, now) -> None:
    db.session.execute(
        db.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def logout(token: str) -> None:
    """Revoke the session the token belongs to; unknown tokens are ignored (idempotent)."""
    row = db.session.scalar(
        db.select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(token))
    )
    if row is not None:
        _revoke_family(row.family_id, utcnow())
        _end_access_tokens(row.user_id)
        db.session.commit()


def _end_access_tokens(user_id: uuid.UUID) -> None:
    """Access tokens issued so far stop working now. The user's other sessions get a 401 and
    refresh (their refresh tokens still work); a logged-out session has nothing to refresh."""
    db.session.execute(
        db.update(User)
        .where(User.id == user_id)
        .values(token_generation=db.func.coalesce(User.token_generation, 0) + 1)
    )


def me(user: User) -> dict[str, Any]:
    rows = db.session.execute(
        db.select(Network.id, Network.name, Membership.role)
        .join(Membership, Membership.network_id == Network.id)
        .where(Membership.user_id == user.id)
        .order_by(Network.created_at)
    ).all()
    return {
        "id": user.id,
        "email": user.email,
        "has_password": user.password_hash is not None,
        "is_active": user.is_active,
        "default_network_id": user.default_network_id,
        "created_at": user.created_at,
        "networks": [{"id": r.id, "name": r.name, "role": r.role} for r in rows],
    }


def delete_user(user: User) -> None:
    """Delete the user and every network in which they are the only owner."""
    owned = db.session.scalars(
        db.select(Membership.network_id).where(
            Membership.user_id == user.id, Membership.role == "owner"
        )
    ).all()
    for network_id in owned:
        other_owners = db.session.scalar(
            db.select(db.func.count())
            .select_from(Membership)
            .where(
                Membership.network_id == network_id,
                Membership.role == "owner",
                Membership.user_id != user.id,
            )
        )
        if not other_owners:
            networks.delete_network_rows(network_id)
    db.session.delete(user)
    db.session.commit()


# Device keys ---------------------------------------------------------------------------------


def create_device_key(network_id: uuid.UUID, name: str, user: User | None) -> dict[str, Any]:
    key = new_device_key()
    row = DeviceKey(
        network_id=network_id,
        name=name,
        key_hash=sha256_hex(key),
        prefix=key[:12],
        created_by=user.id if user else None,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        network_id, user, "device_key.created", row.id, {"name": name, "prefix": row.prefix}
    )
    db.session.commit()
    return {
        "id": row.id,
        "name": row.name,
        "key": key,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "last_used_at": None,
    }


def list_device_keys(network_id: uuid.UUID, limit: int, offset: int):
    query = db.select(DeviceKey).where(DeviceKey.network_id == network_id)
    return page(query.order_by(DeviceKey.created_at.desc()), limit, offset)


def delete_device_key(network_id: uuid.UUID, key_id: uuid.UUID) -> None:
    revoked = db.session.execute(
        db.delete(DeviceKey).where(DeviceKey.network_id == network_id, DeviceKey.id == key_id)
    ).rowcount
    if revoked:
        audit.record(network_id, None, "device_key.revoked", key_id)
    db.session.commit()


def get_device_key(network_id: uuid.UUID, key_id: uuid.UUID) -> DeviceKey:
    return in_network(DeviceKey, network_id, key_id, "Device key")
