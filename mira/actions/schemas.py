from marshmallow import Schema, fields, validate

from mira.actions.models import ACTION_STATUSES, ACTION_TYPES, SETTABLE_STATUSES
from mira.schemas import PageArgs, Timestamp


class ActionSchema(Schema):
    id = fields.UUID()
    network_id = fields.UUID()
    action_type = fields.String(metadata={"enum": list(ACTION_TYPES)})
    status = fields.String(metadata={"enum": list(ACTION_STATUSES)})
    details = fields.Raw(
        metadata={
            "oneOf": [{"type": "object"}, {"type": "string"}],
            "description": "An object (by type: see API.md); on the apps' API (no network in "
            "the path) that object as a JSON string with `canonical_text`.",
        }
    )
    scheduled_time = Timestamp(allow_none=True)
    completed_time = Timestamp(allow_none=True)
    fired_at = Timestamp(
        allow_none=True, metadata={"description": "When the scheduled time was announced"}
    )
    late = fields.Method(
        "_late", metadata={"description": "Announced late (Mira was down when it was due)"}
    )
    person_id = fields.UUID(allow_none=True)
    interaction_id = fields.UUID(allow_none=True)
    conversation_id = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()

    def _late(self, action) -> bool:
        from flask import current_app

        fired, due = action.fired_at, action.scheduled_time
        if fired is None or due is None:
            return False
        return (fired - due).total_seconds() > current_app.config["MIRA_REMINDER_LATE_S"]


class AppsActionSchema(ActionSchema):
    """The apps read `details` as a string: a JSON object string with `canonical_text`."""

    details = fields.Method("_details_text")

    def _details_text(self, action) -> str:
        from mira.realtime.messages import action_for_apps

        return action_for_apps({"action_type": action.action_type, "details": action.details})[
            "details"
        ]


class ActionQuerySchema(PageArgs):
    status = fields.String(validate=validate.OneOf(ACTION_STATUSES))
    action_type = fields.String(validate=validate.OneOf(ACTION_TYPES))


class ActionPatchSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(SETTABLE_STATUSES))
