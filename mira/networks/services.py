"""Networks (tenants) and their members."""

from __future__ import annotations

import uuid
from typing import Any

from mira import audit
from mira.auth.models import User
from mira.auth.scope import require_owner
from mira.errors import Conflict, NotFound, not_found
from mira.extensions import db
from mira.networks.models import Membership, Network
from mira.queries import page


def _as_dict(network: Network, role: str | None) -> dict[str, Any]:
    return {
        "id": network.id,
        "name": network.name,
        "service_enabled": network.service_enabled,
        "settings": network.settings or {},
        "created_at": network.created_at,
        "updated_at": network.updated_at,
        "role": role,
    }


def create_network(user: User | None, name: str, commit: bool = True) -> Network:
    network = Network(name=name, service_enabled=True, settings={})
    db.session.add(network)
    db.session.flush()
    if user is not None:
        db.session.add(Membership(network_id=network.id, user_id=user.id, role="owner"))
    if commit:
        db.session.commit()
    return network


def create_for_user(user: User, name: str) -> dict[str, Any]:
    return _as_dict(create_network(user, name), "owner")


def list_for_user(user: User, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    query = (
        db.select(Network, Membership.role)
        .join(Membership, Membership.network_id == Network.id)
        .where(Membership.user_id == user.id)
    )
    rows, total = page(
        query.order_by(Network.created_at.desc(), Network.id), limit, offset, rows=True
    )
    return [_as_dict(n, role) for n, role in rows], total


def membership(user: User, network_id: uuid.UUID) -> tuple[Network, str]:
    """The network and the caller's role in it; 404 when the caller is not a member."""
    row = db.session.execute(
        db.select(Network, Membership.role)
        .join(Membership, Membership.network_id == Network.id)
        .where(Network.id == network_id, Membership.user_id == user.id)
    ).first()
    if row is None:
        raise not_found("Network")
    return row[0], row[1]


def get_for_user(user: User, network_id: uuid.UUID) -> dict[str, Any]:
    network, role = membership(user, network_id)
    return _as_dict(network, role)


def update(user: User, network_id: uuid.UUID, changes: dict[str, Any]) -> dict[str, Any]:
    network, role = membership(user, network_id)
    if "name" in changes:
        network.name = changes["name"]
    if "settings" in changes:
        from mira.networks.settings import validate

        validate(changes["settings"])
        # Settings merge key by key; a null value removes a key.
        merged = dict(network.settings or {})
        for key, value in changes["settings"].items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        network.settings = merged
    db.session.commit()
    return _as_dict(network, role)


def delete_network_rows(network_id: uuid.UUID) -> None:
    """Delete a network; foreign keys cascade to everything it holds."""
    db.session.execute(
        db.update(User).where(User.default_network_id == network_id).values(default_network_id=None)
    )
    db.session.execute(db.delete(Network).where(Network.id == network_id))
    audit.record(network_id, None, "network.deleted", network_id)


def delete(user: User, network_id: uuid.UUID) -> None:
    """API.md: deletes are idempotent for the caller's own network (gone: 204), and another
    tenant's network answers 404 like any network out of reach."""
    if db.session.get(Network, network_id) is None:
        return  # already gone
    _network, role = membership(user, network_id)
    require_owner(role)
    delete_network_rows(network_id)
    db.session.commit()


def _member_dict(user: User, m: Membership) -> dict[str, Any]:
    return {"user_id": user.id, "email": user.email, "role": m.role, "joined_at": m.created_at}


def add_member(user: User, network_id: uuid.UUID, email: str, role: str) -> dict[str, Any]:
    """An owner adds an existing user (409 ALREADY_MEMBER when they are one)."""
    _network, caller_role = membership(user, network_id)
    require_owner(caller_role)
    return put_member(network_id, _user_by_email(email), role, user, change_role=False)


def put_member(
    network_id: uuid.UUID, member: User, role: str, actor: Any, change_role: bool = True
) -> dict[str, Any]:
    """Make `member` a member with `role` (the admin CLI may change an existing role)."""
    existing = db.session.get(Membership, (network_id, member.id))
    if existing is not None and not change_role:
        raise Conflict("This user is already a member", "ALREADY_MEMBER")
    if existing is not None:
        existing.role = role
        row = existing
    else:
        row = Membership(network_id=network_id, user_id=member.id, role=role)
        db.session.add(row)
        audit.record(
            network_id, actor, "member.added", member.id, {"email": member.email, "role": role}
        )
    if member.default_network_id is None:
        member.default_network_id = network_id
    db.session.commit()
    return _member_dict(member, row)


def _user_by_email(email: str) -> User:
    member = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    if member is None:
        raise NotFound("No user with this email", "USER_NOT_FOUND")
    return member


def get_network(network_id: uuid.UUID) -> Network:
    """Any network by id, for admin commands (requests go through `membership`)."""
    network = db.session.get(Network, network_id)
    if network is None:
        raise not_found("Network")
    return network


def overview() -> list[dict[str, Any]]:
    """Every network with its owners and member count (the admin's list)."""
    rows = []
    for network in db.session.scalars(db.select(Network).order_by(Network.created_at)):
        members = db.session.execute(
            db.select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.network_id == network.id)
        ).all()
        rows.append(
            {
                "id": network.id,
                "name": network.name,
                "service_enabled": network.service_enabled,
                "owners": sorted(email for email, role in members if role == "owner"),
                "members": len(members),
            }
        )
    return rows


def list_members(user: User, network_id: uuid.UUID, limit: int, offset: int):
    membership(user, network_id)
    query = (
        db.select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.network_id == network_id)
    )
    rows, total = page(query.order_by(Membership.created_at, User.email), limit, offset, rows=True)
    return [_member_dict(u, m) for u, m in rows], total


def remove_member(user: User, network_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """Owners remove anyone; a member may remove only themselves (leave)."""
    _network, role = membership(user, network_id)
    if member_id != user.id:
        require_owner(role)
    row = db.session.get(Membership, (network_id, member_id))
    if row is None:
        return
    if row.role == "owner":
        owners = db.session.scalar(
            db.select(db.func.count())
            .select_from(Membership)
            .where(Membership.network_id == network_id, Membership.role == "owner")
        )
        if owners <= 1:
            raise Conflict("A network keeps at least one owner", "LAST_OWNER")
    db.session.delete(row)
    audit.record(network_id, user, "member.removed", member_id, {"role": row.role})
    db.session.execute(
        db.update(User)
        .where(User.id == member_id, User.default_network_id == network_id)
        .values(default_network_id=None)
    )
    db.session.commit()
