"""Who is calling and which network they act on, resolved once per request.

Every resource blueprint runs `resolve_scope` before its views: it reads the credentials, takes
`network_id` out of the URL (or the caller's default network) and checks access, so views and
services receive a network they may use and never see another tenant's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, wraps

from flask import current_app, g, request
from sqlalchemy import bindparam, select, update

from mira.auth.models import DeviceKey, User
from mira.auth.tokens import (
    DEVICE_KEY_PREFIX,
    AccessClaims,
    InvalidToken,
    read_access_token,
    sha256_hex,
)
from mira.errors import Forbidden, Invalid, MiraError, NotFound, Unauthorized
from mira.extensions import db
from mira.networks.models import Membership, Network
from mira.types import utcnow

# `app.extensions` key of a function (network_id -> Scope | None) that `resolve_scope` asks
# before it looks for credentials; `mira.legacy_lan.init_app` sets it.
PRE_CREDENTIAL_SCOPE = "mira.pre_credential_scope"


@dataclass(frozen=True)
class DeviceKeyRef:
    """The device key a request came with: what the request needs of it (the audit log names
    it), read without loading the key's row as an ORM object."""

    id: uuid.UUID
    name: str


@dataclass
class Scope:
    network_id: uuid.UUID
    user: User | None = None
    role: str | None = None
    device_key: DeviceKeyRef | None = None
    # False on the network-less paths (/api/v1/…): the Mira apps' API, whose answers follow the
    # apps' contract where it differs from API.md (see mira/apps_api.py).
    network_in_path: bool = True
    # A first-generation client without credentials, on the legacy LAN network (no user, no
    # role: only the routes of mira/legacy_lan.py's table reach a view with it).
    legacy_lan: bool = False
    loaded_network: Network | None = field(default=None, repr=False)

    @classmethod
    def of(cls, network: Network, **fields) -> Scope:
        return cls(network_id=network.id, loaded_network=network, **fields)

    @property
    def network(self) -> Network:
        """The network's row, loaded on first use: a device's upload never needs it (the
        upload's own statement checks the network's switch), its settings routes do."""
        if self.loaded_network is None:
            network = db.session.get(Network, self.network_id)
            if network is None:  # deleted since the credentials were checked
                raise NotFound("Network not found", "NOT_FOUND")
            self.loaded_network = network
        return self.loaded_network

    @property
    def is_device(self) -> bool:
        return self.device_key is not None


def unauthorized(detail: str = "Missing or invalid credentials") -> MiraError:
    return Unauthorized(detail, "UNAUTHORIZED", headers={"WWW-Authenticate": "Bearer"})


def parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise Invalid(
            f"Invalid {what}: not a UUID", "VALIDATION_ERROR", errors={what: ["Not a UUID."]}
        ) from exc


def _credential() -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Authorization header must be 'Bearer <token>'")
        return token.strip()
    return request.headers.get("X-API-Key") or None


def _device_key(token: str) -> tuple[DeviceKeyRef, uuid.UUID]:
    """The key and its network's id, in one indexed read (every device request, every upload):
    plain columns, no ORM objects to build."""
    row = db.session.connection().execute(_key_statement(), {"hash": sha256_hex(token)}).first()
    if row is None:
        raise unauthorized("Unknown device key")
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        # A bounded write rate: at most once a minute per key.
        keys = DeviceKey.__table__
        db.session.connection().execute(
            update(keys).where(keys.c.id == row.id).values(last_used_at=now)
        )
        db.session.commit()
    return DeviceKeyRef(id=row.id, name=row.name), row.network_id


@cache
def _key_statement():
    """Built once: composing it cost more CPU than running it."""
    keys = DeviceKey.__table__
    return select(keys.c.id, keys.c.name, keys.c.network_id, keys.c.last_used_at).where(
        keys.c.key_hash == bindparam("hash", type_=keys.c.key_hash.type)
    )


def current_user() -> User:
    """The user behind a user access token (401 otherwise); for routes outside networks."""
    if "user" in g:
        return g.user
    token = _credential()
    if not token:
        raise unauthorized()
    if token.startswith(DEVICE_KEY_PREFIX):
        raise Forbidden("Device keys cannot use this route", "DEVICE_KEY_NOT_ALLOWED")
    claims = _claims(token)
    user = db.session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise unauthorized("User no longer exists")
    _check_generation(user, claims)
    g.user = user
    return user


def _claims(token: str) -> AccessClaims:
    try:
        return read_access_token(token, current_app.config["SECRET_KEY"])
    except InvalidToken as exc:
        raise unauthorized(str(exc)) from exc


def _check_generation(user: User, claims: AccessClaims) -> None:
    if claims.generation != (user.token_generation or 0):
        raise unauthorized("Access token revoked (signed out or password changed)")


def _current_view():
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, request.method.lower(), None)
    return view


def _view_allows_devices() -> bool:
    return bool(getattr(_current_view(), "device_route", False))


def _view_is_public() -> bool:
    """Documented with `security: []` (flask-smorest's `@blp.doc(security=[])`)."""
    doc = getattr(_current_view(), "_apidoc", None) or {}
    return doc.get("manual_doc", {}).get("security") == []


def require_user_first() -> None:
    """before_request hook of the user blueprints outside networks (auth, networks).

    Their views call `current_user()` only after webargs has parsed the body, so a bad body
    without a token answered 422 and told an anonymous caller about the route's schema before
    it was asked who it is. Authentication comes first, as `resolve_scope` does for the network
    resources: 401/403 before 422. Public routes (sign-up, login, refresh, sign-in) pass.
    """
    if request.method == "OPTIONS" or request.endpoint is None or _view_is_public():
        return
    current_user()


def resolve_scope() -> None:
    """before_request hook of every network-scoped blueprint."""
    if request.method == "OPTIONS" or request.endpoint is None:
        return
    raw_network_id = (request.view_args or {}).pop("network_id", None)
    network_id = parse_uuid(raw_network_id, "network_id") if raw_network_id else None
    # A scope granted before any credential: the legacy LAN mode's (mira/legacy_lan.py, which
    # builds on this module, registers it).
    granted = current_app.extensions.get(PRE_CREDENTIAL_SCOPE)
    legacy = granted(network_id) if granted is not None else None
    if legacy is not None:
        g.scope = legacy
        return
    token = _credential()
    if not token:
        raise unauthorized()
    g.scope = scope_for_token(token, network_id, devices_allowed=_view_allows_devices)
    if g.scope.user is not None:
        g.user = g.scope.user


def scope_for_token(
    token: str, network_id: uuid.UUID | None, devices_allowed: Callable[[], bool] = lambda: True
) -> Scope:
    """The caller behind a token and the network it acts on (from the path, else the caller's
    default). Raises MiraError: 401 for bad credentials, 403/404 for a network out of reach."""
    if token.startswith(DEVICE_KEY_PREFIX):
        key, key_network_id = _device_key(token)
        if not devices_allowed():
            raise Forbidden("Device keys cannot use this route", "DEVICE_KEY_NOT_ALLOWED")
        if network_id is not None and network_id != key_network_id:
            raise NotFound("Network not found", "NOT_FOUND")
        return Scope(
            network_id=key_network_id, device_key=key, network_in_path=network_id is not None
        )
    claims = _claims(token)
    user_id = claims.user_id
    # One round trip for the user, the network and the caller's role in it (a hot path).
    row = db.session.execute(
        db.select(User, Network, Membership.role)
        .select_from(User)
        .join(Membership, Membership.user_id == User.id)
        .join(Network, Network.id == Membership.network_id)
        .where(
            User.id == user_id,
            User.is_active.is_(True),
            Network.id == (network_id if network_id is not None else User.default_network_id),
        )
    ).first()
    if row is None:
        user = db.session.get(User, user_id)
        if user is None or not user.is_active:
            raise unauthorized("User no longer exists")
        _check_generation(user, claims)
        if network_id is None and user.default_network_id is None:
            raise NotFound("You have no default network; use /api/v1/{network_id}/…")
        raise NotFound("Network not found", "NOT_FOUND")
    _check_generation(row[0], claims)
    return Scope.of(row[1], user=row[0], role=row[2], network_in_path=network_id is not None)


def scope() -> Scope:
    return g.scope


def device_route(view):
    """Mark a view as reachable with a device key of the network (API.md's [device] routes)."""
    view.device_route = True
    return view


def require_owner(role: str | None) -> None:
    """The one owner check: routes (through `owner_only`) and services call it with the
    caller's role in the network."""
    if role != "owner":
        raise Forbidden("Only an owner of this network may do that", "FORBIDDEN")


def owner_only(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        require_owner(scope().role)
        return view(*args, **kwargs)

    return wrapper


def network_blueprint(name: str, import_name: str, description: str):
    """A blueprint of network resources: every request is scoped before its view runs."""
    from mira.api import Blueprint

    blp = Blueprint(name, import_name, description=description)
    blp.before_request(resolve_scope)
    return blp
