from flask import request
from flask.views import MethodView

from mira import openapi_examples as examples
from mira.auth.scope import network_blueprint, parse_uuid, scope
from mira.errors import Invalid
from mira.jobs import idempotency
from mira.jobs import services as jobs
from mira.jobs.schemas import JobAcceptedSchema
from mira.persons import enrollment, services
from mira.persons.schemas import (
    MergeSchema,
    PersonCreateSchema,
    PersonListQuerySchema,
    PersonPatchSchema,
    PersonQuerySchema,
    PersonSchema,
    VoiceSampleSchema,
)
from mira.schemas import TOTAL_COUNT_HEADER, PageArgs, page_headers

blp = network_blueprint("persons", __name__, "People Mira knows by voice")


@blp.route("")
class Persons(MethodView):
    @blp.arguments(PersonListQuerySchema, location="query")
    @blp.response(
        200, PersonSchema(many=True), headers=TOTAL_COUNT_HEADER, example=[examples.PERSON]
    )
    def get(self, query):
        """Persons of the network, by index."""
        items, total = services.list_persons(scope().network_id, **query)
        return items, page_headers(total)

    @blp.arguments(PersonCreateSchema, example=examples.PERSON_CREATE)
    @blp.response(201, PersonSchema, example=examples.PERSON)
    def post(self, body):
        """Create a named person, e.g. to enrol their voice before they first speak."""
        return services.as_dict(services.create(scope().network_id, body["name"]))


@blp.route("/all")
class AllPersons(MethodView):
    @blp.response(200, PersonSchema(many=True))
    def get(self):
        """Every person of the network, by index, unpaginated (first-generation clients)."""
        return services.all_persons(scope().network_id)


@blp.route("/<person_id>")
class PersonItem(MethodView):
    @blp.arguments(PersonQuerySchema, location="query")
    @blp.response(200, PersonSchema, example=examples.PERSON)
    def get(self, query, person_id):
        """One person; `include_embedding=true` adds their voice profile."""
        person = services.get(scope().network_id, parse_uuid(person_id, "person_id"))
        return services.as_dict(person, query["include_embedding"])

    @blp.arguments(PersonPatchSchema, location="json_or_form")
    @blp.response(200, PersonSchema)
    def patch(self, body, person_id):
        """Rename a person (JSON or form body)."""
        person = services.update(scope().network_id, parse_uuid(person_id, "person_id"), body)
        return services.as_dict(person)

    @blp.response(204)
    def delete(self, person_id):
        """Delete a person and their voice data; their interactions are kept, unattributed."""
        services.delete(scope().network_id, parse_uuid(person_id, "person_id"))


@blp.route("/<person_id>/merge")
class Merge(MethodView):
    @blp.arguments(MergeSchema)
    @blp.response(200, PersonSchema)
    def post(self, body, person_id):
        """Merge this person into another (interactions, samples and conversations move)."""
        person = services.merge(
            scope().network_id, parse_uuid(person_id, "person_id"), body["into"]
        )
        return services.as_dict(person)


@blp.route("/<person_id>/voice-samples")
class VoiceSamples(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VoiceSampleSchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, page, person_id):
        """The voice samples a person's profile is built from."""
        items, total = services.list_samples(
            scope().network_id, parse_uuid(person_id, "person_id"), **page
        )
        return items, page_headers(total)


@blp.route("/<person_id>/voice-samples/<sample_id>")
class VoiceSampleItem(MethodView):
    @blp.response(204)
    def delete(self, person_id, sample_id):
        """Delete one voice sample (its embedding and audio go with it)."""
        services.delete_sample(
            scope().network_id,
            parse_uuid(person_id, "person_id"),
            parse_uuid(sample_id, "sample_id"),
        )


VOICE_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "audio_file": {"type": "string", "format": "binary"},
                        "audio": {"type": "string", "format": "binary"},
                        "description": {"type": "string", "maxLength": 500},
                        "expected_text": {"type": "string", "maxLength": 2000},
                    },
                }
            }
        },
    }
}
UPDATE_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "maxLength": 128},
                        "audio": {"type": "string", "format": "binary"},
                        "expected_text": {"type": "string", "maxLength": 2000},
                    },
                }
            }
        },
    }
}


def _form_text(name: str, max_length: int) -> str | None:
    value = request.form.get(name)
    if value is not None and len(value) > max_length:
        raise Invalid(f"{name} is too long", errors={name: [f"Max {max_length}."]})
    return value or None


def _uploaded_audio() -> bytes | None:
    upload = request.files.get("audio_file") or request.files.get("audio")
    return upload.read() if upload is not None else None


@blp.route("/<person_id>/voice", parameters=[idempotency.OPENAPI_HEADER])
class Voice(MethodView):
    @blp.doc(**VOICE_DOC)
    @blp.response(202, JobAcceptedSchema)
    def post(self, person_id):
        """Add a voice sample to the person's profile (an `enroll` job; ≥ 2 s of speech)."""
        job = enrollment.accept(
            scope().network,
            parse_uuid(person_id, "person_id"),
            _uploaded_audio(),
            description=_form_text("description", 500),
            expected_text=_form_text("expected_text", 2000),
            idempotency_key=idempotency.from_request(request.form.get(idempotency.FORM_FIELD)),
        )
        return jobs.accepted(job)


@blp.route("/<person_id>/update")
class LegacyUpdate(MethodView):
    @blp.doc(**UPDATE_DOC)
    @blp.response(200, PersonSchema)
    def post(self, person_id):
        """Rename and/or enrol in one call (older clients): answers the person; the voice
        sample, when given, is analysed by an `enroll` job."""
        network_id, pid = scope().network_id, parse_uuid(person_id, "person_id")
        person = services.get(network_id, pid)
        name = _form_text("name", 128)
        audio = _uploaded_audio()
        if audio is not None:
            enrollment.accept(
                scope().network, pid, audio, expected_text=_form_text("expected_text", 2000)
            )
        if name:
            person = services.update(network_id, pid, {"name": name})
        return services.as_dict(services.get(network_id, person.id))
