from marshmallow import Schema, fields

from mira.schemas import PageArgs, Timestamp, name_field


class PersonSchema(Schema):
    id = fields.UUID()
    network_id = fields.UUID()
    name = fields.String(allow_none=True)
    index = fields.Integer()
    is_enrolled = fields.Boolean()
    voice_sample_count = fields.Integer()
    interaction_count = fields.Integer()
    conversation_count = fields.Integer()
    last_heard_at = Timestamp(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    voice_embedding = fields.String(
        allow_none=True,  # null until the person has a voice profile
        metadata={"description": "base64 of float32[256]; only with include_embedding=true"},
    )


class PersonQuerySchema(Schema):
    include_embedding = fields.Boolean(load_default=False)


class PersonListQuerySchema(PageArgs, PersonQuerySchema):
    pass


class PersonCreateSchema(Schema):
    name = name_field(required=True)


class PersonPatchSchema(Schema):
    name = name_field(allow_none=True)


class MergeSchema(Schema):
    into = fields.UUID(required=True)


class VoiceSampleSchema(Schema):
    id = fields.UUID()
    person_id = fields.UUID()
    source = fields.String(metadata={"description": "enrolled, or learned from an interaction"})
    interaction_id = fields.UUID(allow_none=True)
    description = fields.String(allow_none=True)
    expected_text = fields.String(allow_none=True)
    transcript = fields.String(allow_none=True)
    speech_s = fields.Float(allow_none=True)
    created_at = Timestamp()
