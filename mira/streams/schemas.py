from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from mira.schemas import Timestamp, client_id_field


class BestStreamItemSchema(Schema):
    client_id = fields.String()
    score = fields.Float()
    timestamp = Timestamp(allow_none=True)


class BestStreamSchema(Schema):
    best_stream = fields.Nested(BestStreamItemSchema, allow_none=True)


class ScoresSchema(Schema):
    active_streams = fields.Integer()
    stream_scores = fields.Dict(keys=fields.String(), values=fields.Float())
    current_best = fields.Nested(BestStreamItemSchema, allow_none=True)


class QualityMetricsSchema(Schema):
    snr_db = fields.Float(allow_none=True)
    clarity = fields.Float(allow_none=True)
    rms = fields.Float(allow_none=True)
    location = fields.Dict(allow_none=True)
    rssi = fields.Float(allow_none=True)
    sample_count = fields.Integer()


class StreamInfoSchema(Schema):
    client_id = fields.String()
    quality_metrics = fields.Nested(QualityMetricsSchema)
    current_score = fields.Float()
    is_best_stream = fields.Boolean()
    last_update = Timestamp(allow_none=True)


class LocationSchema(Schema):
    latitude = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy = fields.Float(validate=validate.Range(min=0, max=100_000))


class PhoneLocationSchema(Schema):
    client_id = client_id_field(required=True)
    location = fields.Nested(LocationSchema, required=True)


class PhoneRssiSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone_client_id = client_id_field()
    target_client_id = client_id_field(required=True)
    rssi = fields.Float(required=True, validate=validate.Range(min=-150, max=0))

    @pre_load
    def _client_id_alias(self, data, **kwargs):
        if isinstance(data, dict) and "target_client_id" not in data and "client_id" in data:
            data = {**data, "target_client_id": data["client_id"]}
        return data


class UploadQuerySchema(Schema):
    client_id = client_id_field(metadata={"description": "For raw-body uploads"})
    wait = fields.Float(load_default=0, validate=validate.Range(min=0, max=30))
    session_token = fields.String(
        validate=validate.Length(max=2048), metadata={"description": "For raw-body uploads"}
    )


# The last millisecond of year 9999, the largest a datetime holds.
MAX_EPOCH_MS = 253_402_300_799_999


def optional_int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise ValidationError({name: ["Not a valid integer."]}) from exc
    # Epoch milliseconds: out of this range they would fail as dates or in the database (a 500
    # once the audio was stored), so they are refused first.
    if not 0 <= number <= MAX_EPOCH_MS:
        raise ValidationError({name: [f"Out of range (0 to {MAX_EPOCH_MS})."]})
    return number
