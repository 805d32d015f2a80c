"""Idempotency keys of uploads: a retried request answers with the job of the first one.

A client that lost the answer to an upload (a timeout, a 503, a dropped connection) cannot know
whether its job was made. Sent again with the same `Idempotency-Key`, the upload finds the job
the first request committed instead of making a second one. The key row commits in the same
transaction as the job, under a unique constraint: concurrent retries race on the database,
never on a read-then-write, so exactly one job exists per key whatever the timing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta

from flask import current_app, request
from sqlalchemy.exc import IntegrityError

from mira.errors import Invalid
from mira.extensions import db
from mira.jobs.models import IdempotencyKey, Job
from mira.types import utcnow

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
# Printable ASCII, 1–128 characters, no space at either end (HTTP strips it from a header):
# what fits a header and a unique index everywhere, and means the same in both places.
_VALID = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?")
PATTERN = "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$"
# The header as an OpenAPI parameter, for the routes that take it.
OPENAPI_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": PATTERN},
    "description": "Makes a retry safe: an upload that repeats a key its client sent within "
    "`MIRA_IDEMPOTENCY_HOURS` (24 h) answers with the first upload's job and stores nothing "
    "(also as the multipart field `idempotency_key`). The same key with different audio: 422 "
    "`IDEMPOTENCY_KEY_REUSED`; 1-128 printable ASCII characters, else 422.",
}


def from_request(form_value: str | None = None) -> str | None:
    """The request's key (header, or the multipart field); None when it sent none.

    422 for an empty, overlong or non-printable key, or a header and a field that disagree."""
    header = request.headers.get(HEADER)
    values = {v for v in (header, form_value) if v is not None}
    if not values:
        return None
    if len(values) > 1:
        raise Invalid(
            "The Idempotency-Key header and the idempotency_key field differ",
            errors={FORM_FIELD: ["Differs from the Idempotency-Key header."]},
        )
    (key,) = values
    if not _VALID.fullmatch(key):
        raise Invalid(
            "Idempotency-Key must be 1-128 printable ASCII characters, no space at either end",
            errors={FORM_FIELD: ["1-128 printable ASCII characters."]},
        )
    return key


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ttl() -> timedelta:
    return timedelta(hours=current_app.config["MIRA_IDEMPOTENCY_HOURS"])


def find(network_id: uuid.UUID, scope: str, key: str, body_digest: str) -> Job | None:
    """The job a live key made, or None. A key reused for a different body is refused (422):
    answering with another upload's job would tell the client its new audio was taken. An
    expired key is forgotten here, so the slot is free for this request."""
    row = db.session.scalar(
        db.select(IdempotencyKey).where(
            IdempotencyKey.network_id == network_id,
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
        )
    )
    if row is None:
        return None
    if row.created_at < utcnow() - _ttl():
        db.session.delete(row)
        db.session.commit()
        return None
    if row.digest != body_digest:
        raise Invalid(
            "This Idempotency-Key was used for a different upload",
            "IDEMPOTENCY_KEY_REUSED",
            errors={FORM_FIELD: ["Already used for a different upload."]},
        )
    return db.session.get(Job, row.job_id)


def row(network_id: uuid.UUID, scope: str, key: str, body_digest: str, job_id: uuid.UUID):
    return IdempotencyKey(
        network_id=network_id, scope=scope, key=key, digest=body_digest, job_id=job_id
    )


def is_clash(exc: BaseException) -> bool:
    """Whether an IntegrityError is another request's commit of the same key."""
    # PostgreSQL names the constraint (uq_idempotency_keys_…), SQLite the table's columns.
    return isinstance(exc, IntegrityError) and "idempotency_keys" in str(exc.orig)


def delete_expired() -> int:
    """Forget keys past their time (the sweeper; a lookup also forgets the one it meets)."""
    deleted = db.session.execute(
        db.delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - _ttl())
    ).rowcount
    db.session.commit()
    return deleted
