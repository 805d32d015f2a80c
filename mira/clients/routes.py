from flask import request
from flask.views import MethodView

from mira import openapi_examples as examples
from mira.apps_api import for_apps, json_response
from mira.auth import services as auth_services
from mira.auth.scope import (
    device_route,
    network_blueprint,
    owner_only,
    parse_uuid,
    scope,
)
from mira.clients import services
from mira.clients.schemas import (
    CLIENT_LIST_DOC,
    AppsClientRenameSchema,
    ClientCreateSchema,
    ClientRegisterSchema,
    ClientRenameSchema,
    ClientSchema,
    DeviceKeyCreateSchema,
    DeviceKeySchema,
    NewDeviceKeySchema,
    RegisteredSchema,
    ServiceInfoSchema,
    ServiceStatusSchema,
)
from mira.schemas import (
    TOTAL_COUNT_HEADER,
    MessageSchema,
    PageArgs,
    check_client_id,
    page_headers,
)

blp = network_blueprint("service", __name__, "Clients, device keys and the listening switch")

# terminal-client exits unless its register reply says this: the version of the API the
# first-generation clients (legacy LAN mode, mira/legacy_lan.py) were written against, not
# Mira's own version (`mira_version`).
LEGACY_PROTOCOL_VERSION = "2.0.0"


@blp.route("/info")
class Info(MethodView):
    @device_route
    @blp.response(200, ServiceInfoSchema)
    def get(self):
        """The network's state, its connected clients and its queue."""
        return services.service_info(scope().network)


@blp.route("/client/register/<client_id>")
class Register(MethodView):
    @device_route
    @blp.arguments(ClientRegisterSchema(partial=True), required=False)
    @blp.response(200, RegisteredSchema, example=examples.CLIENT_REGISTERED)
    def post(self, body, client_id):
        """Register (or refresh) a client of the network. First-generation LAN clients also
        get `version`: terminal-client exits unless it is the one it was written for."""
        metadata = dict(body.get("metadata") or {})
        for key in ("local_ip_address", "external_ip_address"):
            if body.get(key):
                metadata[key] = body[key]
        registered = services.register_client(
            scope().network_id, check_client_id(client_id), metadata, request.remote_addr
        )
        if scope().legacy_lan:
            registered["version"] = LEGACY_PROTOCOL_VERSION
        return registered


@blp.route("/client/deregister/<client_id>")
class Deregister(MethodView):
    @device_route
    @blp.response(200, MessageSchema)
    def delete(self, client_id):
        """Remove a client; 404 when it is not registered."""
        return services.deregister_client(scope().network_id, client_id)


@blp.route("/clients")
class Clients(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(
        200, ClientSchema(many=True), headers=TOTAL_COUNT_HEADER, example=[examples.CLIENT]
    )
    @blp.doc(responses=CLIENT_LIST_DOC)
    def get(self, page):
        """The network's clients; on the apps' API, the ids in use (the apps' name check)."""
        if for_apps():
            ids = services.client_ids_in_use(scope().network_id)
            return json_response(ids, headers=page_headers(len(ids)))
        items, total = services.list_clients(scope().network_id, **page)
        return items, page_headers(total)

    @blp.arguments(ClientCreateSchema)
    @blp.response(201, ClientSchema)
    def post(self, body):
        """Add a client; the server picks an id when none is given. 409 when the id is taken."""
        return services.create_client(
            scope().network_id, body.get("client_id"), body["metadata"], request.remote_addr
        )


@blp.route("/clients/<client_id>")
class ClientItem(MethodView):
    @blp.arguments(ClientRenameSchema)
    @blp.response(200, ClientSchema)
    def patch(self, body, client_id):
        """Rename a client."""
        return services.rename_client(scope().network_id, client_id, body["client_id"])

    @blp.response(204)
    def delete(self, client_id):
        """Remove a client; idempotent (204 when it is already gone)."""
        services.delete_client(scope().network_id, client_id)


@blp.route("/clients/<client_id>/rename")
class ClientRename(MethodView):
    @blp.arguments(AppsClientRenameSchema)
    @blp.response(200, ClientSchema)
    def patch(self, body, client_id):
        """Rename a client (the apps' form of the rename: `{new_client_id}`); 409 when taken."""
        return services.rename_client(scope().network_id, client_id, body["new_client_id"])


@blp.route("/enable")
@blp.route("/network/enable", endpoint="NetworkEnable")
class Enable(MethodView):
    @blp.response(200, ServiceStatusSchema)
    def patch(self):
        """Start listening: audio uploads are accepted again. Every socket of the network gets
        `service_status`, even when nothing changed (the apps wait for it)."""
        return services.set_enabled(scope().network, True)


@blp.route("/disable")
@blp.route("/network/disable", endpoint="NetworkDisable")
class Disable(MethodView):
    @blp.response(200, ServiceStatusSchema)
    def patch(self):
        """Stop listening: audio uploads answer 503 until enabled; sockets get
        `service_status`."""
        return services.set_enabled(scope().network, False)


@blp.route("/keys")
class Keys(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, DeviceKeySchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, page):
        """The network's device keys (only their prefixes: keys are shown once)."""
        items, total = auth_services.list_device_keys(scope().network_id, **page)
        return items, page_headers(total)

    @owner_only
    @blp.arguments(DeviceKeyCreateSchema)
    @blp.response(201, NewDeviceKeySchema)
    def post(self, body):
        """Create a device key (owners only); the key is shown only in this answer."""
        return auth_services.create_device_key(scope().network_id, body["name"], scope().user)


@blp.route("/keys/<key_id>")
class KeyItem(MethodView):
    @blp.response(200, DeviceKeySchema)
    def get(self, key_id):
        """One device key (its prefix, name and last use)."""
        return auth_services.get_device_key(scope().network_id, parse_uuid(key_id, "key_id"))

    @owner_only
    @blp.response(204)
    def delete(self, key_id):
        """Revoke a device key (owners only)."""
        auth_services.delete_device_key(scope().network_id, parse_uuid(key_id, "key_id"))
