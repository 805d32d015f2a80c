from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from mira.input_bounds import metadata_validator
from mira.schemas import PageArgs, Timestamp, client_id_field

MAX_TEXT = 10_000


class InteractionSchema(Schema):
    id = fields.UUID()
    network_id = fields.UUID()
    text = fields.String(allow_none=True)
    timestamp = Timestamp()
    person_id = fields.UUID(allow_none=True)
    speaker_id = fields.Method(
        "_speaker_id",
        metadata={
            "type": "string",
            "format": "uuid",
            "nullable": True,
            "description": "Same as person_id (older clients)",
        },
    )
    conversation_id = fields.UUID(allow_none=True)
    client_id = fields.String(allow_none=True)
    interaction_type = fields.String()
    duration_s = fields.Float(allow_none=True)
    language = fields.String(allow_none=True)
    confidence = fields.Float(allow_none=True)
    sentiment = fields.Float(allow_none=True)
    audio_quality = fields.Dict(allow_none=True)
    metadata = fields.Dict(attribute="meta")
    created_at = Timestamp()

    @staticmethod
    def _speaker_id(obj):
        person_id = obj["person_id"] if isinstance(obj, dict) else obj.person_id
        return str(person_id) if person_id else None


class InteractionQuerySchema(PageArgs):
    person_id = fields.UUID()
    conversation_id = fields.UUID()
    conversation_ids = fields.List(fields.UUID(), validate=validate.Length(max=200))
    orphans_only = fields.Boolean(load_default=False)
    since = Timestamp()
    until = Timestamp()
    q = fields.String(validate=validate.Length(min=1, max=200))


class InteractionCreateSchema(Schema):
    text = fields.String(validate=validate.Length(min=1, max=MAX_TEXT))
    content = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=MAX_TEXT),
        metadata={"description": "Alias of text"},
    )
    person_id = fields.UUID(allow_none=True)
    conversation_id = fields.UUID(allow_none=True)
    interaction_type = fields.String(
        load_default="text", validate=validate.OneOf(("audio", "text", "system"))
    )
    metadata = fields.Dict(load_default=dict, validate=metadata_validator)
    timestamp = Timestamp()

    @validates_schema
    def _text_given(self, data, **kwargs):
        if not data.get("text") and not data.get("content"):
            raise ValidationError("Missing data for required field.", "text")


class InteractionPatchSchema(Schema):
    text = fields.String(allow_none=True, validate=validate.Length(max=MAX_TEXT))
    person_id = fields.UUID(allow_none=True)
    conversation_id = fields.UUID(allow_none=True)
    metadata = fields.Dict(validate=metadata_validator)

    @pre_load
    def _speaker_alias(self, data, **kwargs):
        if isinstance(data, dict) and "speaker_id" in data and "person_id" not in data:
            data = dict(data)
            data["person_id"] = data.pop("speaker_id")
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
