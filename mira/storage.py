"""Blob storage behind one interface: a local folder (default) or S3 (`s3://bucket/prefix`)."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def health(self) -> dict[str, Any]: ...


def _safe_key(key: str) -> str:
    parts = [p for p in key.split("/") if p not in ("", ".", "..")]
    if not parts:
        raise ValueError(f"Invalid blob key: {key!r}")
    return "/".join(parts)


class LocalStore:
    """Files under a folder; writes go to a temporary file first, then an atomic rename."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def health(self) -> dict[str, Any]:
        """Write, read back and delete a probe: a full disk or a read-only mount fails here."""
        key = f".health/{uuid.uuid4().hex}"
        self.put(key, b"ok")
        try:
            if self.get(key) != b"ok":
                raise OSError("the storage probe read back different bytes")
        finally:
            self.delete(key)
        return {"backend": "local"}


class S3Store:
    def __init__(self, url: str, endpoint_url: str | None = None):
        import boto3

        bucket_and_prefix = url[len("s3://") :]
        self.bucket, _, prefix = bucket_and_prefix.partition("/")
        self.prefix = prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url)

    def _key(self, key: str) -> str:
        key = _safe_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise BlobNotFound(key) from exc

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError:
            return False

    def health(self) -> dict[str, Any]:
        """Ask S3 whether the bucket is there and reachable with these credentials."""
        self.client.head_bucket(Bucket=self.bucket)
        return {"backend": "s3"}


def local_folder(url: str) -> str | None:
    """The folder a storage URL names (`file:///folder` or a plain path), None for `s3://…`.
    Any other scheme is refused: `file:///x` must not become a folder named `file:`."""
    from urllib.parse import unquote, urlsplit

    if url.startswith("s3://"):
        return None
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError(f"MIRA_STORAGE_URL {url!r}: a file URL names a local folder")
        return unquote(parts.path)
    if "://" in url or (parts.scheme and len(parts.scheme) > 1):  # "C:/…" stays a path
        raise ValueError(
            f"MIRA_STORAGE_URL {url!r}: use a folder, file:///folder or s3://bucket/prefix"
        )
    return url


def store_for(url: str, endpoint_url: str | None = None) -> BlobStore:
    """`s3://bucket/prefix`, `file:///absolute/folder`, or a plain folder path."""
    folder = local_folder(url)
    return S3Store(url, endpoint_url) if folder is None else LocalStore(folder)


def blob_store(app: Flask | None = None) -> BlobStore:
    """The app's store, built once per app."""
    app = app or current_app
    store = app.extensions.get("mira_storage")
    if store is None:
        store = store_for(app.config["MIRA_STORAGE_URL"], app.config.get("MIRA_S3_ENDPOINT_URL"))
        app.extensions["mira_storage"] = store
    return store
