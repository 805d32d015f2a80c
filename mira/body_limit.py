"""Request bodies without a Content-Length are held to the same limit as those with one.

Werkzeug answers 413 when `Content-Length` exceeds `MAX_CONTENT_LENGTH`, but a chunked
(`Transfer-Encoding: chunked`) or otherwise streamed body has no length up front: werkzeug
then reads it through a stream capped at the limit that simply stops there, so a 36 MB
upload came out as its first 25 MiB and was stored as if whole. Here such a body is read
through a stream that looks one byte past the limit: a body that goes on answers 413 (in
the error envelope, before anything is stored) instead of being cut.
"""

from __future__ import annotations

import typing as t

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class _StrictMaxStream(LimitedStream):
    """Reads at most `limit` bytes and raises 413 as soon as the body proves longer."""

    def __init__(self, stream: t.IO[bytes], limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self.max_bytes = limit

    def readinto(self, b) -> int | None:  # type: ignore[override]
        size = super().readinto(b)
        if self._pos > self.max_bytes:
            raise RequestEntityTooLarge()
        return size


class MiraRequest(Request):
    @cached_property
    def stream(self) -> t.IO[bytes]:
        limit = self.max_content_length
        if (
            limit is not None
            and not self.shallow
            and self.content_length is None
            and "wsgi.input_terminated" in self.environ
        ):
            # gunicorn and werkzeug's server set wsgi.input_terminated for chunked bodies:
            # the server ends the stream, so reading one byte past the limit is safe.
            return t.cast(t.IO[bytes], _StrictMaxStream(self.environ["wsgi.input"], limit))
        return super().stream
