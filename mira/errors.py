"""Domain errors: what services raise for an expected failure, in a request or in a job.

They carry a kind (not found, conflict, invalid, …), a stable code and a message for people,
and no HTTP: the web edge (`mira.envelope`) answers each kind with its status, the job runner
stores `CODE: message` and retries only the kinds that are `transient` (the same call may
succeed later); every other failure of a job is permanent.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "UPSTREAM_UNAVAILABLE",
    503: "SERVICE_UNAVAILABLE",
}


class MiraError(Exception):
    """An expected failure. Subclasses name its kind; `status` is how the API answers it."""

    status = 400
    transient = False

    def __init__(
        self,
        detail: str,
        error_code: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.error_code = error_code or DEFAULT_CODES.get(self.status, "ERROR")
        self.errors = errors
        self.headers = headers or {}


class BadRequest(MiraError):
    """The request cannot be used as sent (empty audio, a missing part)."""


class Unauthorized(MiraError):
    """No valid credentials."""

    status = 401


class Forbidden(MiraError):
    """Valid credentials that may not do this."""

    status = 403


class NotFound(MiraError):
    """The thing does not exist, or not within the caller's reach."""

    status = 404


class Conflict(MiraError):
    """The state of things forbids it (already a member, the last owner, a duplicate)."""

    status = 409


class TooLarge(MiraError):
    status = 413


class Unsupported(MiraError):
    """A format Mira does not read."""

    status = 415


class Invalid(MiraError):
    """A value that breaks a rule (with `errors` per field when there are fields)."""

    status = 422


class UpstreamUnavailable(MiraError):
    """A provider Mira depends on (Google, GitHub) could not be reached."""

    status = 502
    transient = True


class Unavailable(MiraError):
    """Mira itself cannot take it now (the service is switched off, a dependency is down)."""

    status = 503
    transient = True


def not_found(what: str) -> NotFound:
    return NotFound(f"{what} not found", "NOT_FOUND")
