"""Listing the blob store, which the request path never needs (so the stores do not offer it).

Stored keys start with the network id (`{network_id}/…`), so a network's audio is one prefix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mira.storage import BlobStore, LocalStore, S3Store


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    modified: datetime


def iter_blobs(store: BlobStore, prefix: str = "") -> Iterator[StoredBlob]:
    """Every blob whose key starts with `prefix` (a folder such as `"{network_id}/"`)."""
    if isinstance(store, LocalStore):
        yield from _local_blobs(store.root, prefix)
    elif isinstance(store, S3Store):
        yield from _s3_blobs(store, prefix)
    else:
        raise TypeError(f"Cannot list a {type(store).__name__}")


def _local_blobs(root: Path, prefix: str) -> Iterator[StoredBlob]:
    base = root / prefix if prefix else root
    if not base.is_dir():
        return
    for folder, _dirs, files in os.walk(base):
        for name in files:
            if name.startswith(".upload-"):  # a write in progress
                continue
            path = Path(folder) / name
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            key = path.relative_to(root).as_posix()
            if key.startswith(".health/"):
                continue
            yield StoredBlob(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))


def _s3_blobs(store: S3Store, prefix: str) -> Iterator[StoredBlob]:
    base = f"{store.prefix}/" if store.prefix else ""
    paginator = store.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=store.bucket, Prefix=base + prefix):
        for item in page.get("Contents", []):
            key = item["Key"][len(base) :]
            if key.startswith(".health/"):
                continue
            yield StoredBlob(key, int(item["Size"]), item["LastModified"].astimezone(UTC))


def top_level_folders(store: BlobStore) -> set[str]:
    """The first segment of every key: network ids (and whatever else was stored)."""
    if isinstance(store, LocalStore):
        if not store.root.is_dir():
            return set()
        return {p.name for p in store.root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return {blob.key.split("/", 1)[0] for blob in iter_blobs(store) if "/" in blob.key}
