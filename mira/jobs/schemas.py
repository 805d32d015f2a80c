from marshmallow import Schema, fields, validate

from mira.jobs.models import JOB_KINDS, JOB_STATUSES
from mira.schemas import PageArgs, Timestamp


class JobSchema(Schema):
    id = fields.UUID()
    kind = fields.String()
    status = fields.String(metadata={"enum": list(JOB_STATUSES)})
    stage = fields.String(allow_none=True)
    progress = fields.Float()
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True)
    client_id = fields.String(allow_none=True)
    superseded_by = fields.UUID(allow_none=True)
    timings = fields.Dict()
    created_at = Timestamp()
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)


class JobQuerySchema(PageArgs):
    status = fields.String(validate=validate.OneOf(JOB_STATUSES))
    kind = fields.String(validate=validate.OneOf(JOB_KINDS))


class JobAcceptedSchema(Schema):
    job_id = fields.UUID()
    status = fields.String()
    status_url = fields.String()
