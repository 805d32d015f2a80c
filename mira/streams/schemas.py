from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

# The upload's query and form fields belong to the upload path (`interactions`); kept importable
# here for older imports.
from mira.interactions.schemas import MAX_EPOCH_MS, UploadQuerySchema, optional_int  # noqa: F401
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
