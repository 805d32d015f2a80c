"""Legacy LAN mode: first-generation Mira clients, without accounts, on a trusted LAN.

The first-generation clients (terminal-client, desktop-client; see reference/mira-clients.md)
predate accounts and networks: they call unprefixed paths (`/service/enable`,
`/interactions/register`, …) with no credentials and poll `GET /` for the service state. With
`MIRA_LEGACY_LAN` on, `LegacyLan` serves exactly the calls listed in `GEN_A_ROUTES`, and only
from addresses in `MIRA_LEGACY_LAN_ALLOW`, as requests to the one network named by
`MIRA_LEGACY_LAN_NETWORK`: it rewrites the path to `/api/v1/{network_id}/…` (so the views and
their REST answers are the usual ones; an upload answers 202 with its job) and marks the
request, and `resolve_scope` gives a marked request `legacy_scope`: no user, no role, no device
key. Nothing else opens: every other path, prefixed or not, keeps its authentication, and
owner-only routes refuse a scope without the owner role.

Trust model: the peer address (`REMOTE_ADDR` as Flask sees it) is taken as it is. Behind a
reverse proxy on the same host every request comes from 127.0.0.1, so the mode must stay off
there unless the proxy's own access rules (or a ProxyFix set up for it) restore the real peer.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule

from mira.api import API_PREFIX
from mira.auth.scope import PRE_CREDENTIAL_SCOPE, Scope
from mira.clients.models import Client
from mira.clients.services import is_expired
from mira.errors import Forbidden, Unavailable
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.networks.models import Network
from mira.types import utcnow

# The one table of what first-generation clients may call: (method, unprefixed path). The
# argument names are those of the network routes the paths are served by.
GEN_A_ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/service/client/register/<client_id>"),
    ("DELETE", "/service/client/deregister/<client_id>"),
    ("PATCH", "/service/enable"),
    ("PATCH", "/service/disable"),
    ("POST", "/interactions/register"),
    ("GET", "/interactions/<interaction_id>"),
    ("DELETE", "/interactions/<interaction_id>"),
    ("POST", "/interactions/<interaction_id>/inference"),
    ("GET", "/persons/all"),
    ("GET", "/persons/<person_id>"),
    ("POST", "/persons/<person_id>/update"),
)

# terminal-client exits unless its register reply says `version`: the clients' routes add
# `clients.routes.LEGACY_PROTOCOL_VERSION` for a request this mode served.

# `GET /` lists this many of the network's latest interactions (desktop-client fetches new ids).
RECENT_INTERACTIONS = 20

# WSGI environ keys: no HTTP header can set them (headers arrive as HTTP_*).
SERVED = "mira.legacy_lan.network"
REFUSED = "mira.legacy_lan.refused"

_GEN_A_MAP = Map(
    [Rule(path, methods=[method], endpoint=path) for method, path in GEN_A_ROUTES],
    merge_slashes=False,
)
# The same routes as Flask's url rules see them after the rewrite.
_SERVED_RULES = frozenset(
    (method, f"{API_PREFIX}/<network_id>{path}") for method, path in GEN_A_ROUTES
)


def init_app(app: Flask) -> None:
    """Install the middleware and the refusal hook. Call after the app's own request hooks,
    so that a refusal carries the request id like every other error."""
    app.wsgi_app = LegacyLan(app, app.wsgi_app)
    app.before_request(_refuse_unlisted_peers)
    app.extensions[PRE_CREDENTIAL_SCOPE] = legacy_scope


def is_gen_a(method: str, path: str) -> bool:
    """Is this one of `GEN_A_ROUTES`? A CORS preflight (OPTIONS) counts for any listed path."""
    adapter = _GEN_A_MAP.bind("localhost")
    try:
        adapter.match(path, method=method)  # a GET rule also matches HEAD
    except MethodNotAllowed:
        return method == "OPTIONS"
    except HTTPException:  # not found, or a redirect to another spelling: not listed
        return False
    return True


def peer_allowed(remote_addr: str | None, allow: Iterable[Any]) -> bool:
    """Is the peer inside one of the allowed networks? Unreadable addresses never are."""
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:192.168.1.5 on a dual-stack socket
    return any(address in network for network in allow)


def serves(remote_addr: str | None) -> bool:
    """The mode is on and this peer may use it (read from the config on every request, so
    tests and a reloaded config take effect at once)."""
    config = current_app.config
    return bool(config.get("MIRA_LEGACY_LAN")) and peer_allowed(
        remote_addr, config.get("MIRA_LEGACY_LAN_ALLOW") or ()
    )


class LegacyLan:
    """WSGI middleware: a listed call from an allowed peer becomes a request to the configured
    network (`/api/v1/{network_id}/…`, marked `SERVED`); one from any other peer is marked
    `REFUSED` and answered 403 by `_refuse_unlisted_peers`. With the mode off, or for any path
    outside `GEN_A_ROUTES`, the request passes untouched."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        config = self.app.config
        if config.get("MIRA_LEGACY_LAN"):
            raw_path = environ.get("PATH_INFO", "")
            # PATH_INFO holds the request's bytes as latin-1; routes are matched on UTF-8 text.
            path = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
            if is_gen_a(environ.get("REQUEST_METHOD", "GET"), path):
                if peer_allowed(environ.get("REMOTE_ADDR"), config["MIRA_LEGACY_LAN_ALLOW"]):
                    network_id = config["MIRA_LEGACY_LAN_NETWORK"]
                    environ[SERVED] = network_id
                    environ["PATH_INFO"] = f"{API_PREFIX}/{network_id}{raw_path}"
                else:
                    environ[REFUSED] = True
        return self.wsgi_app(environ, start_response)


def _refuse_unlisted_peers() -> None:
    if request.environ.get(REFUSED):
        raise Forbidden(
            f"First-generation clients are served only from the addresses in "
            f"MIRA_LEGACY_LAN_ALLOW; {request.remote_addr or 'this address'} is not one of them",
            "LEGACY_LAN_ADDRESS_NOT_ALLOWED",
        )


def legacy_scope(network_id: uuid.UUID | None) -> Scope | None:
    """The Scope of a request `LegacyLan` served, or None for any other request.

    Called by `resolve_scope` before it looks for credentials (`init_app` registers it as the
    app's `auth.scope.PRE_CREDENTIAL_SCOPE`). The scope has no user, role
    or device key: it reaches the listed views of the configured network and nothing more.
    """
    served = request.environ.get(SERVED)
    if served is None:
        return None
    rule = request.url_rule.rule if request.url_rule is not None else None
    method = "GET" if request.method == "HEAD" else request.method
    if network_id != served or (method, rule) not in _SERVED_RULES:
        raise Forbidden("Not a route of first-generation clients", "FORBIDDEN")
    network = db.session.get(Network, served)
    if network is None:
        raise Unavailable(
            f"Legacy LAN mode is on, but its network {served} does not exist: set "
            "MIRA_LEGACY_LAN_NETWORK to the id of an existing network",
            "LEGACY_LAN_NETWORK_MISSING",
        )
    return Scope.of(network, legacy_lan=True)


def root_fields() -> dict[str, Any]:
    """What desktop-client and terminal-client read from `GET /`, for an allowed peer with the
    mode on: `enabled`, `connected_clients` (id → {connected_at, last_seen}; expired clients
    left out) and `recent_interactions` (ids, oldest first, newest last). Empty otherwise,
    including when the configured network does not exist (`GET /` stays a health probe)."""
    if not serves(request.remote_addr):
        return {}
    network = db.session.get(Network, current_app.config["MIRA_LEGACY_LAN_NETWORK"])
    if network is None:
        return {}
    now = utcnow()
    clients = db.session.scalars(
        db.select(Client).where(Client.network_id == network.id).order_by(Client.client_id)
    )
    latest = db.session.scalars(
        db.select(Interaction.id)
        .where(Interaction.network_id == network.id)
        .order_by(Interaction.timestamp.desc(), Interaction.id.desc())
        .limit(RECENT_INTERACTIONS)
    ).all()
    return {
        "enabled": network.service_enabled,
        "connected_clients": {
            c.client_id: {"connected_at": c.connected_at, "last_seen": c.last_seen}
            for c in clients
            if not is_expired(c, now)
        },
        "recent_interactions": [str(i) for i in reversed(latest)],
    }
