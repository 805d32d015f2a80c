"""Retention: delete what is older than a number of days, and audio nothing refers to.

What goes, per network:
- interactions whose `timestamp` is older than the cutoff, and their stored audio;
- conversations that started before the cutoff and hold no interaction any more;
- events older than the cutoff (they carry copies of the resources);
- memories made before the cutoff;
- finished jobs older than the cutoff (their payload points at audio);
- enrolment jobs and audio of persons who were deleted (voice data must not outlive them);
- stored audio no row refers to, older than `ORPHAN_GRACE` (an upload is stored a moment
  before its job row is committed), including everything of networks that no longer exist.

Each network is purged in its own transactions and audited (`data.purged`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from mira import audit
from mira.conversations.models import Conversation
from mira.events.models import Event
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs.models import Job
from mira.memories.models import Memory
from mira.networks.models import Network
from mira.ops.blobs import iter_blobs, top_level_folders
from mira.persons.models import Person, VoiceSample
from mira.storage import blob_store
from mira.types import utcnow

log = logging.getLogger("mira.ops")

BATCH = 500
ORPHAN_GRACE = timedelta(hours=1)
FINISHED = ("succeeded", "failed", "superseded")
Progress = Callable[[int, int], None]


# What a purge counts, per network and in total.
PURGED = (
    "interactions",
    "conversations",
    "events",
    "memories",
    "jobs",
    "voice_jobs_of_deleted_persons",
    "audio_deleted",
)


def purge_older_than(
    days: int, network_id: uuid.UUID | str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Purge every network (or one) of data older than `days`; returns what was deleted.

    `progress(done, total)` is called after each network (the CLI draws a bar with it).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    now = utcnow()
    cutoff = now - timedelta(days=days)
    if network_id is not None:
        networks = [uuid.UUID(str(network_id))]
    else:
        networks = list(db.session.scalars(db.select(Network.id).order_by(Network.created_at)))
    totals: dict[str, Any] = {
        "days": days,
        "cutoff": cutoff.isoformat(),
        "networks": len(networks),
        **dict.fromkeys(PURGED, 0),
    }
    for done, nid in enumerate(networks, start=1):
        counts = purge_network(nid, cutoff, now)
        for key, value in counts.items():
            totals[key] += value
        if progress is not None:
            progress(done, len(networks))
    if network_id is None:
        totals["audio_deleted"] += _purge_deleted_networks_audio(set(networks), now)
    log.info("purge done", extra={"event": "purge", **totals})
    return totals


def purge_network(network_id: uuid.UUID, cutoff: datetime, now: datetime) -> dict[str, int]:
    """One network's purge; each step commits, so an interrupted purge keeps what it did."""
    counts = dict.fromkeys(PURGED, 0)
    released: set[str] = set()
    while True:
        rows = db.session.execute(
            db.select(Interaction.id, Interaction.audio_key)
            .where(Interaction.network_id == network_id, Interaction.timestamp < cutoff)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        released.update(key for _id, key in rows if key)
        db.session.execute(db.delete(Interaction).where(Interaction.id.in_([r[0] for r in rows])))
        db.session.commit()
        counts["interactions"] += len(rows)
    has_interactions = db.exists().where(Interaction.conversation_id == Conversation.id)
    counts["conversations"] = db.session.execute(
        db.delete(Conversation).where(
            Conversation.network_id == network_id,
            Conversation.started_at < cutoff,
            ~has_interactions,
        )
    ).rowcount
    counts["events"] = db.session.execute(
        db.delete(Event).where(Event.network_id == network_id, Event.created_at < cutoff)
    ).rowcount
    counts["memories"] = db.session.execute(
        db.delete(Memory).where(Memory.network_id == network_id, Memory.created_at < cutoff)
    ).rowcount
    db.session.commit()
    old_jobs = db.session.execute(
        db.select(Job.id, Job.payload).where(
            Job.network_id == network_id, Job.status.in_(FINISHED), Job.created_at < cutoff
        )
    ).all()
    orphaned_voice_jobs = _voice_jobs_of_deleted_persons(network_id)
    doomed = dict([*old_jobs, *orphaned_voice_jobs])
    for chunk in _chunks(list(doomed), BATCH):
        db.session.execute(db.delete(Job).where(Job.id.in_(chunk)))
    released.update(_audio_key(p) for p in doomed.values() if _audio_key(p))
    counts["jobs"] = len(doomed)
    counts["voice_jobs_of_deleted_persons"] = len(orphaned_voice_jobs)
    db.session.commit()
    counts["audio_deleted"] = _delete_unreferenced(network_id, released, now)
    if any(counts.values()):
        audit.record(
            network_id, None, "data.purged", None, {"cutoff": cutoff.isoformat(), **counts}
        )
        db.session.commit()
    return counts


def _voice_jobs_of_deleted_persons(network_id: uuid.UUID) -> list[tuple[uuid.UUID, dict]]:
    living = set(db.session.scalars(db.select(Person.id).where(Person.network_id == network_id)))
    found = []
    for job_id, status, payload in db.session.execute(
        db.select(Job.id, Job.status, Job.payload).where(
            Job.network_id == network_id, Job.kind == "enroll"
        )
    ):
        person = (payload or {}).get("person_id")
        if status in FINISHED and person and _as_uuid(person) not in living:
            found.append((job_id, payload))
    return found


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _audio_key(payload: dict | None) -> str | None:
    key = (payload or {}).get("audio_key")
    return key if isinstance(key, str) and key else None


def referenced_audio(network_id: uuid.UUID) -> set[str]:
    """Every stored key a row of the network still points at."""
    keys = set(
        db.session.scalars(
            db.select(Interaction.audio_key).where(
                Interaction.network_id == network_id, Interaction.audio_key.is_not(None)
            )
        )
    )
    keys.update(
        db.session.scalars(
            db.select(VoiceSample.audio_key).where(
                VoiceSample.network_id == network_id, VoiceSample.audio_key.is_not(None)
            )
        )
    )
    for payload in db.session.scalars(
        db.select(Job.payload).where(Job.network_id == network_id).execution_options(yield_per=1000)
    ):
        key = _audio_key(payload)
        if key:
            keys.add(key)
    return keys


def _delete_unreferenced(network_id: uuid.UUID, released: set[str], now: datetime) -> int:
    """Delete released keys nothing uses now, and older stray blobs of the network."""
    store = blob_store()
    in_use = referenced_audio(network_id)
    doomed = released - in_use
    for blob in iter_blobs(store, f"{network_id}/"):
        if blob.key not in in_use and blob.modified < now - ORPHAN_GRACE:
            doomed.add(blob.key)
    return _delete_keys(store, doomed)


def _purge_deleted_networks_audio(existing: set[uuid.UUID], now: datetime) -> int:
    """Audio of networks that were deleted (rows cascade; blobs do not)."""
    store = blob_store()
    deleted = 0
    for folder in top_level_folders(store):
        nid = _as_uuid(folder)
        if nid is None or nid in existing:
            continue
        if db.session.get(Network, nid) is not None:  # created during the purge
            continue
        keys = {b.key for b in iter_blobs(store, f"{folder}/") if b.modified < now - ORPHAN_GRACE}
        count = _delete_keys(store, keys)
        if count:
            audit.record(nid, None, "data.purged", None, {"deleted_network_audio": count})
            db.session.commit()
        deleted += count
    return deleted


def _delete_keys(store, keys: Iterable[str]) -> int:
    deleted = 0
    for key in keys:
        try:
            store.delete(key)
            deleted += 1
        except Exception:  # a storage hiccup leaves an orphan the next purge removes
            log.warning("could not delete audio %s", key, exc_info=True)
    return deleted


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
