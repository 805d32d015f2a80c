"""Counts per network for operators: what each household holds and what its jobs are doing."""

from __future__ import annotations

import uuid
from typing import Any

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs.models import JOB_STATUSES, Job
from mira.networks.models import Network
from mira.ops.blobs import iter_blobs
from mira.persons.models import Person, VoiceSample
from mira.storage import blob_store


def _counts_by_network(model) -> dict[uuid.UUID, int]:
    return dict(
        db.session.execute(
            db.select(model.network_id, db.func.count()).group_by(model.network_id)
        ).all()
    )


def network_stats(network_id: uuid.UUID | str | None = None) -> list[dict[str, Any]]:
    """One dict per network: interactions, persons, voice samples, jobs by status, bytes stored.

    Storage is measured by listing the network's folder in the blob store (so it includes
    audio no row points at any more, which `flask mira purge` removes).
    """
    query = db.select(Network).order_by(Network.created_at)
    if network_id is not None:
        query = query.where(Network.id == uuid.UUID(str(network_id)))
    networks = db.session.scalars(query).all()
    interactions = _counts_by_network(Interaction)
    persons = _counts_by_network(Person)
    samples = _counts_by_network(VoiceSample)
    jobs: dict[uuid.UUID, dict[str, int]] = {}
    for nid, status, count in db.session.execute(
        db.select(Job.network_id, Job.status, db.func.count()).group_by(Job.network_id, Job.status)
    ):
        jobs.setdefault(nid, {})[status] = count
    store = blob_store()
    out = []
    for network in networks:
        files, size = 0, 0
        for blob in iter_blobs(store, f"{network.id}/"):
            files += 1
            size += blob.size
        by_status = {status: jobs.get(network.id, {}).get(status, 0) for status in JOB_STATUSES}
        out.append(
            {
                "network_id": network.id,
                "name": network.name,
                "interactions": interactions.get(network.id, 0),
                "persons": persons.get(network.id, 0),
                "voice_samples": samples.get(network.id, 0),
                "jobs": by_status,
                "storage_files": files,
                "storage_bytes": size,
            }
        )
    return out
