from marshmallow import EXCLUDE, Schema, fields, validate

from mira.schemas import Timestamp, client_id_field, name_field


class StreamStateSchema(Schema):
    score = fields.Float(allow_none=True)
    is_best = fields.Boolean()


class ClientSchema(Schema):
    client_id = fields.String()
    ip = fields.String(allow_none=True)
    connected_at = Timestamp()
    last_seen = Timestamp()
    metadata = fields.Dict(attribute="meta")
    stream = fields.Nested(StreamStateSchema)


class ClientRegisterSchema(Schema):
    """Older clients send their addresses at the top level; they are kept in metadata."""

    class Meta:
        unknown = EXCLUDE

    metadata = fields.Dict(load_default=None, allow_none=True)
    local_ip_address = fields.String(validate=validate.Length(max=64))
    external_ip_address = fields.String(validate=validate.Length(max=64))


class ClientCreateSchema(Schema):
    client_id = client_id_field()
    metadata = fields.Dict(load_default=dict)


class ClientRenameSchema(Schema):
    client_id = client_id_field(required=True)


class AppsClientRenameSchema(Schema):
    new_client_id = client_id_field(required=True)


# GET /service/clients answers Client objects with the network in the path, and the ids in
# use (an array of strings) on the apps' API: both shapes, documented on every mount.
CLIENT_LIST_DOC = {
    "200": {
        "description": "Client objects; on the apps' API (no network in the path) the ids in "
        "use, an array of strings",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"type": "array", "items": {"$ref": "#/components/schemas/Client"}},
                        {"type": "array", "items": {"type": "string"}},
                    ]
                }
            }
        },
    }
}


class RegisteredSchema(Schema):
    message = fields.String()
    client = fields.Nested(ClientSchema)
    version = fields.String(
        metadata={
            "description": "Only for first-generation LAN clients (legacy LAN mode): the API "
            "version they were written for"
        }
    )


class ConnectedClientSchema(Schema):
    ip = fields.String(allow_none=True)
    connected_at = Timestamp()
    last_seen = Timestamp()
    metadata = fields.Dict()


class QueueCountsSchema(Schema):
    queued = fields.Integer()
    running = fields.Integer()
    failed = fields.Integer()


class ServiceInfoSchema(Schema):
    network_id = fields.UUID()
    name = fields.String()
    service_enabled = fields.Boolean()
    connected_clients = fields.Dict(
        keys=fields.String(), values=fields.Nested(ConnectedClientSchema)
    )
    queue = fields.Nested(QueueCountsSchema)
    version = fields.String()


class ServiceStatusSchema(Schema):
    message = fields.String()
    service_enabled = fields.Boolean()


class DeviceKeyCreateSchema(Schema):
    name = name_field(required=True)


class DeviceKeySchema(Schema):
    id = fields.UUID()
    name = fields.String()
    prefix = fields.String()
    created_at = Timestamp()
    last_used_at = Timestamp(allow_none=True)


class NewDeviceKeySchema(DeviceKeySchema):
    key = fields.String(metadata={"description": "Shown only in this response"})
