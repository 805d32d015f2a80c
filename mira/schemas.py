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


def name_field(**kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=128), **kwargs)
