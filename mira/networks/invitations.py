"""Invitations: an owner asks someone without an account to join a network.

The token is the whole proof, handed over outside Mira (Mira sends no e-mail), so it is long,
stored only as a hash, bound to one address, single-use and short-lived. Redeeming it is how an
account is made when sign-up is closed; with sign-up open it also joins the household at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app

from mira import audit
from mira.auth.models import User
from mira.auth.scope import require_owner
from mira.errors import Conflict, Forbidden, MiraError, not_found
from mira.extensions import db
from mira.networks.models import Invitation, Membership, Network
from mira.networks.services import membership
from mira.queries import in_network, page
from mira.types import utcnow

TOKEN_PREFIX = "mira_inv_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _as_dict(invitation: Invitation, token: str | None = None) -> dict[str, Any]:
    body = {
        "id": invitation.id,
        "network_id": invitation.network_id,
        "email": invitation.email,
        "role": invitation.role,
        "expires_at": invitation.expires_at,
        "accepted_at": invitation.accepted_at,
        "created_at": invitation.created_at,
    }
    if token is not None:
        body["token"] = token
    return body


def invite(user: User | None, network_id: uuid.UUID, email: str, role: str) -> dict[str, Any]:
    """A new invitation and its token (shown this once). `user` None: an admin's CLI."""
    if user is not None:
        require_owner(membership(user, network_id)[1])
    elif db.session.get(Network, network_id) is None:
        raise not_found("Network")
    email = email.strip().lower()
    if db.session.scalar(db.select(User.id).where(User.email == email)):
        raise Conflict(
            "This address already has an account: add it with POST …/members instead",
            "ALREADY_REGISTERED",
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    invitation = Invitation(
        network_id=network_id,
        email=email,
        role=role,
        token_hash=_hash(token),
        invited_by=user.id if user is not None else None,
        expires_at=utcnow() + timedelta(days=current_app.config["MIRA_INVITATION_DAYS"]),
    )
    db.session.add(invitation)
    db.session.flush()
    actor = user if user is not None else "cli"
    audit.record(network_id, actor, "invitation.created", invitation.id, {"email": email})
    db.session.commit()
    return _as_dict(invitation, token)


def list_pending(user: User, network_id: uuid.UUID, limit: int, offset: int):
    require_owner(membership(user, network_id)[1])
    query = db.select(Invitation).where(
        Invitation.network_id == network_id,
        Invitation.accepted_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    rows, total = page(query.order_by(Invitation.created_at.desc()), limit, offset)
    return [_as_dict(row) for row in rows], total


def revoke(user: User, network_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
    require_owner(membership(user, network_id)[1])
    invitation = in_network(Invitation, network_id, invitation_id, "Invitation")
    audit.record(network_id, user, "invitation.revoked", invitation.id, {"email": invitation.email})
    db.session.delete(invitation)
    db.session.commit()


def _refused() -> MiraError:
    # One answer for unknown, used, expired and mismatched tokens: a guess learns nothing.
    return Forbidden("This invitation is not valid for this address", "INVITATION_INVALID")


def pending_for(email: str, token: str | None) -> Invitation:
    """The unspent, unexpired invitation this token (or, with None, this verified address)
    names; 403 INVITATION_INVALID otherwise. Locked until the transaction ends."""
    query = db.select(Invitation).where(
        Invitation.email == email.strip().lower(),
        Invitation.accepted_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    if token is not None:
        query = query.where(Invitation.token_hash == _hash(token))
    invitation = db.session.scalar(
        query.order_by(Invitation.created_at.desc()).limit(1).with_for_update()
    )
    if invitation is None:
        raise _refused()
    return invitation


def accept(invitation: Invitation, user: User) -> None:
    """Join the invited network (it becomes the user's default); commits with the caller."""
    invitation.accepted_at = utcnow()
    invitation.accepted_by = user.id
    db.session.add(
        Membership(network_id=invitation.network_id, user_id=user.id, role=invitation.role)
    )
    user.default_network_id = invitation.network_id
    audit.record(
        invitation.network_id,
        user,
        "member.added",
        user.id,
        {"email": user.email, "role": invitation.role},
    )
