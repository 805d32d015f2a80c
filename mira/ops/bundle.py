"""Moving a household between servers: a network as one zip of JSON lines and audio.

Layout of a bundle:
- `manifest.json`: format version, the network id, when and from which version, row counts;
- `members.json`: `[{email, role}]` (users are matched by email on import; passwords and
  sessions never leave the server);
- `tables/<table>.jsonl`: one row per line, every column (ids preserved; bytes in base64,
  times in ISO-8601);
- `audio/<key>`: every stored file an interaction or voice sample points at.

Rows are written column by column from the models, so a column added by a later migration
travels without a change here; an import fills columns the bundle lacks with their defaults.
Jobs, events, device keys and stream scores stay behind: they describe the old server.
"""

from __future__ import annotations

import base64
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import JSON, DateTime, LargeBinary, Table, Uuid
from sqlalchemy.types import TypeDecorator

from mira import __version__, audit
from mira.actions.models import Action
from mira.auth.models import User
from mira.clients.models import Client
from mira.conversations.models import Conversation, conversation_participants
from mira.errors import BadRequest, Conflict, NotFound
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.memories.models import Memory
from mira.networks.models import Membership, Network
from mira.persons.models import Person, VoiceSample
from mira.storage import BlobNotFound, blob_store

FORMAT = "mira-network-bundle"
FORMAT_VERSION = 1
BATCH = 500
# In insertion order: every row's references come earlier.
TABLES: tuple[tuple[str, Table], ...] = (
    ("networks", Network.__table__),
    ("clients", Client.__table__),
    ("persons", Person.__table__),
    ("conversations", Conversation.__table__),
    ("conversation_participants", conversation_participants),
    ("interactions", Interaction.__table__),
    ("voice_samples", VoiceSample.__table__),
    ("actions", Action.__table__),
    ("memories", Memory.__table__),
)
# Columns that point at rows a bundle does not carry.
DROPPED = {("interactions", "job_id"), ("memories", "superseded_by_id")}
Progress = Callable[[int, int], None]


class BundleError(BadRequest):
    """A file that is no bundle Mira can read."""

    def __init__(self, detail: str):
        super().__init__(detail, "BAD_BUNDLE")


def _type_of(column) -> Any:
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl
    return kind


def _dump_value(column, value: Any) -> Any:
    if value is None:
        return None
    kind = _type_of(column)
    if isinstance(kind, Uuid):
        return str(value)
    if isinstance(kind, DateTime):
        return value.isoformat()
    if isinstance(kind, LargeBinary):
        return base64.b64encode(value).decode("ascii")
    return value


def _load_value(column, value: Any) -> Any:
    if value is None:
        return None
    kind = _type_of(column)
    if isinstance(kind, Uuid):
        return uuid.UUID(value)
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    if isinstance(kind, JSON):
        return value
    return value


def _network_filter(name: str, table: Table, network_id: uuid.UUID):
    if name == "networks":
        return table.c.id == network_id
    if name == "conversation_participants":
        return table.c.conversation_id.in_(
            db.select(Conversation.id).where(Conversation.network_id == network_id)
        )
    return table.c.network_id == network_id


def _rows(name: str, table: Table, network_id: uuid.UUID) -> Iterator[dict[str, Any]]:
    query = db.select(table).where(_network_filter(name, table, network_id))
    primary = list(table.primary_key.columns)
    result = db.session.execute(query.order_by(*primary).execution_options(yield_per=BATCH))
    for row in result.mappings():
        yield {
            column.name: (
                None if (name, column.name) in DROPPED else _dump_value(column, row[column])
            )
            for column in table.columns
        }


def export_network(
    network_id: uuid.UUID | str, out: str | Path | IO[bytes], progress: Progress | None = None
) -> dict[str, Any]:
    """Write the network's bundle to `out` (a path or a binary file); returns its manifest."""
    network_id = uuid.UUID(str(network_id))
    if db.session.get(Network, network_id) is None:
        raise NotFound(f"No network {network_id}", "NOT_FOUND")
    store = blob_store()
    counts: dict[str, int] = {}
    audio_keys: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, table in TABLES:
            counts[name] = 0
            with bundle.open(f"tables/{name}.jsonl", "w") as handle:
                for row in _rows(name, table, network_id):
                    handle.write(json.dumps(row, separators=(",", ":")).encode() + b"\n")
                    counts[name] += 1
                    if row.get("audio_key"):
                        audio_keys.add(row["audio_key"])
        members = [
            {"email": email, "role": role, "default": default_id == network_id}
            for email, role, default_id in db.session.execute(
                db.select(User.email, Membership.role, User.default_network_id)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.network_id == network_id)
                .order_by(User.email)
            )
        ]
        bundle.writestr("members.json", json.dumps(members, indent=1))
        missing = []
        keys = sorted(audio_keys)
        for done, key in enumerate(keys, start=1):
            try:
                data = store.get(key)
            except BlobNotFound:
                missing.append(key)
            else:
                bundle.writestr(zipfile.ZipInfo(f"audio/{key}"), data, zipfile.ZIP_STORED)
            if progress is not None:
                progress(done, len(keys))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "network_id": str(network_id),
            "exported_at": datetime.now().astimezone().isoformat(),
            "mira_version": __version__,
            "counts": counts,
            "members": len(members),
            "audio_files": len(keys) - len(missing),
            "missing_audio": missing,
        }
        bundle.writestr("manifest.json", json.dumps(manifest, indent=1))
    audit.record(network_id, None, "network.exported", network_id, {**counts, "audio": len(keys)})
    db.session.commit()
    return manifest


def _read_manifest(bundle: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(bundle.read("manifest.json"))
    except (KeyError, ValueError) as exc:
        raise BundleError("Not a Mira bundle: manifest.json is missing or unreadable") from exc
    if manifest.get("format") != FORMAT:
        raise BundleError("Not a Mira network bundle")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise BundleError(
            f"The bundle has format {manifest['format_version']}; this Mira reads up to "
            f"{FORMAT_VERSION}"
        )
    return manifest


def _bundle_rows(bundle: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    try:
        handle = bundle.open(f"tables/{name}.jsonl")
    except KeyError:
        return
    with handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def import_network(
    path: str | Path | IO[bytes],
    progress: Progress | None = None,
    owner: User | None = None,
) -> dict[str, Any]:
    """Load a bundle into this server, ids preserved, in one transaction (all or nothing).

    Members are matched by email: users missing here are listed in `missing_members` (create
    them, then `flask mira add-member`). Members whose default network it was get it as their
    default again when they have none. `owner` (a laptop → server move) becomes an owner and
    gets it as their default network. The audio is written before the rows are committed, so
    no committed row points at missing audio.
    """
    try:
        return _import(path, progress, owner)
    except BaseException:
        db.session.rollback()
        raise


def _import(
    path: str | Path | IO[bytes], progress: Progress | None, owner: User | None
) -> dict[str, Any]:
    store = blob_store()
    try:
        opened = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BundleError("Not a Mira bundle: not a zip file") from exc
    with opened as bundle:
        manifest = _read_manifest(bundle)
        network_id = uuid.UUID(manifest["network_id"])
        if db.session.get(Network, network_id) is not None:
            raise Conflict(f"Network {network_id} already exists on this server", "NETWORK_EXISTS")
        counts: dict[str, int] = {}
        for name, table in TABLES:
            columns = {c.name: c for c in table.columns}
            batch: list[dict[str, Any]] = []
            counts[name] = 0
            for row in _bundle_rows(bundle, name):
                values = {k: _load_value(columns[k], v) for k, v in row.items() if k in columns}
                if name != "networks" and values.get("network_id", network_id) != network_id:
                    raise BundleError(f"A row of {name} belongs to another network")
                batch.append(values)
                if len(batch) >= BATCH:
                    db.session.execute(table.insert(), batch)
                    counts[name] += len(batch)
                    batch = []
            if batch:
                db.session.execute(table.insert(), batch)
                counts[name] += len(batch)
        if counts.get("networks") != 1:
            raise BundleError("The bundle must hold exactly one network")
        added, missing_members = _add_members(bundle, network_id, owner)
        audio = [i for i in bundle.infolist() if i.filename.startswith("audio/") and not i.is_dir()]
        prefix = f"{network_id}/"
        for done, info in enumerate(audio, start=1):
            key = info.filename[len("audio/") :]
            if not key.startswith(prefix):  # a bundle only writes under its own network
                raise BundleError(f"Audio outside the network's folder: {key}")
            store.put(key, bundle.read(info))
            if progress is not None:
                progress(done, len(audio))
    audit.record(
        network_id,
        None,
        "network.imported",
        network_id,
        {**counts, "audio": len(audio), "exported_at": manifest.get("exported_at")},
    )
    db.session.commit()
    return {
        "network_id": str(network_id),
        "counts": counts,
        "audio_files": len(audio),
        "members": added,
        "missing_members": missing_members,
    }


def _add_members(
    bundle: zipfile.ZipFile, network_id: uuid.UUID, owner: User | None
) -> tuple[list, list]:
    try:
        members = json.loads(bundle.read("members.json"))
    except KeyError:
        members = []
    if owner is not None:
        members = [m for m in members if str(m.get("email", "")).strip().lower() != owner.email]
        members.insert(0, {"email": owner.email, "role": "owner", "default": True})
    added, missing = [], []
    for member in members:
        email = str(member.get("email", "")).strip().lower()
        role = member.get("role") if member.get("role") in ("owner", "member") else "member"
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is None:
            missing.append({"email": email, "role": role})
            continue
        db.session.add(Membership(network_id=network_id, user_id=user.id, role=role))
        if user.default_network_id is None or user is owner:
            user.default_network_id = network_id
        added.append({"email": email, "role": role})
    return added, missing
