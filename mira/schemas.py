"""Marshmallow pieces shared by every domain: timestamps, pagination, list responses."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

MAX_PAGE = 500


class Timestamp(fields.DateTime):
    """ISO-8601 UTC with a Z and whole seconds on output; any ISO-8601 with offset on input."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        # isoformat, not strftime: %Y does not zero-pad years before 1000 ("153-10-12…").
        return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+08:00 lies before year 1 in UTC
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


class MessageSchema(Schema):
    message = fields.String(required=True)


TOTAL_COUNT_HEADER = {
    "X-Total-Count": {
        "description": "Total number of items matching the filters",
        "schema": {"type": "integer"},
    }
}


def page_headers(total: int) -> dict[str, str]:
    return {"X-Total-Count": str(total)}


def short_text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


MAX_CLIENT_ID = 128  # the column's size: clients.client_id, jobs.client_id, interactions…


def client_id_field(**kwargs) -> fields.String:
    """A client's id (the app's name for its microphone), wherever a schema takes one."""
    return fields.String(validate=validate.Length(min=1, max=MAX_CLIENT_ID), **kwargs)


def check_client_id(client_id: str) -> str:
    """The same rule for a client id that arrives outside a schema (a path, a form field)."""
    if not 1 <= len(client_id) <= MAX_CLIENT_ID:
        from mira.errors import Invalid

        raise Invalid(
            f"client_id must be 1 to {MAX_CLIENT_ID} characters",
            errors={"client_id": [f"Length 1-{MAX_CLIENT_ID}."]},
        )
    return client_id


def name_field(**kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=128), **kwargs)
