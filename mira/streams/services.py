"""Stream quality per client, kept in the database so every worker (and Lambda) agrees,
and the choice of one stream when several clients heard the same utterance."""

from __future__ import annotations

import time
import uuid
from typing import Any

from mira.clients.models import Client
from mira.clients.services import get_client
from mira.extensions import db
from mira.jobs.models import Job
from mira.locks import network_lock
from mira.types import utcnow


def _score_of(client: Client) -> float:
    """A registered client that was never scored still has location/RSSI parts (older Mira)."""
    from mira.audio.quality import QualityMetrics, overall_score

    if client.stream_score is not None:
        return client.stream_score
    return overall_score(QualityMetrics(0.0, 0.0, 0.0), client.location, client.rssi)


def record_quality(network_id: uuid.UUID, client_id: str, metrics) -> float:
    """Store a client's latest quality and return its score (with its location and RSSI)."""
    from mira.audio.quality import overall_score

    client = get_client(network_id, client_id)
    score = overall_score(metrics, client.location, client.rssi)
    client.quality = {
        **metrics.as_dict(),
        "sample_count": (client.quality or {}).get("sample_count", 0) + 1,
    }
    client.stream_score = round(score, 3)
    client.stream_updated_at = utcnow()
    client.last_seen = client.stream_updated_at
    db.session.commit()
    return score


def _active_clients(network_id: uuid.UUID) -> list[Client]:
    """Clients with a stream score, best first. A client that stops speaking keeps its last
    score until it is deregistered or expires (`service.services.expire_clients`): no time
    window is applied."""
    return list(
        db.session.scalars(
            db.select(Client)
            .where(Client.network_id == network_id, Client.stream_score.is_not(None))
            .order_by(Client.stream_score.desc(), Client.client_id)
        )
    )


def best_stream(network_id: uuid.UUID) -> dict[str, Any]:
    clients = _active_clients(network_id)
    if not clients:
        return {"best_stream": None}
    best = clients[0]
    return {
        "best_stream": {
            "client_id": best.client_id,
            "score": best.stream_score,
            "timestamp": best.stream_updated_at,
        }
    }


def scores(network_id: uuid.UUID) -> dict[str, Any]:
    clients = _active_clients(network_id)
    return {
        "active_streams": len(clients),
        "stream_scores": {c.client_id: c.stream_score for c in clients},
        "current_best": best_stream(network_id)["best_stream"],
    }


def client_info(network_id: uuid.UUID, client_id: str) -> dict[str, Any]:
    client = get_client(network_id, client_id)
    quality = client.quality or {}
    best = best_stream(network_id)["best_stream"]
    return {
        "client_id": client.client_id,
        "quality_metrics": {
            "snr_db": quality.get("snr_db"),
            "clarity": quality.get("clarity"),
            "rms": quality.get("rms"),
            "location": client.location,
            "rssi": client.rssi,
            "sample_count": quality.get("sample_count", 0),
        },
        "current_score": round(_score_of(client), 3),
        "is_best_stream": bool(best and best["client_id"] == client.client_id),
        "last_update": client.stream_updated_at,
    }


def _rescore(client: Client) -> None:
    """Location and RSSI change the score without new audio."""
    from mira.audio.quality import QualityMetrics, overall_score

    if client.quality:
        metrics = QualityMetrics(
            client.quality.get("snr_db", 0.0),
            client.quality.get("clarity", 0.0),
            client.quality.get("rms", 0.0),
        )
        client.stream_score = round(overall_score(metrics, client.location, client.rssi), 3)


def set_location(network_id: uuid.UUID, client_id: str, location: dict[str, Any]):
    client = get_client(network_id, client_id)
    client.location = location
    client.last_seen = utcnow()
    _rescore(client)
    db.session.commit()
    return client_info(network_id, client_id)


def set_rssi(network_id: uuid.UUID, target_client_id: str, rssi: float):
    client = get_client(network_id, target_client_id)
    client.rssi = rssi
    client.last_seen = utcnow()
    _rescore(client)
    db.session.commit()
    return client_info(network_id, target_client_id)


# Choosing one stream among duplicates ---------------------------------------------------------


def _overlapping_peers(job: Job) -> list[Job]:
    return list(
        db.session.scalars(
            db.select(Job).where(
                Job.network_id == job.network_id,
                Job.kind == "analyze",
                Job.id != job.id,
                # Consecutive utterances of one microphone are never duplicates of each other.
                Job.client_id != job.client_id,
                Job.dedup_start_ms < job.dedup_end_ms,
                Job.dedup_end_ms > job.dedup_start_ms,
                Job.status.in_(("queued", "running", "succeeded")),
            )
        )
    )


def _score_peer(peer: Job) -> None:
    """Score a peer's stored audio now rather than wait for its own worker (which may be this
    very thread, later): the score is a pure function of the audio and the client's state."""
    from flask import current_app

    from mira.audio.decode import AudioError
    from mira.audio.quality import measure, overall_score
    from mira.audio.sandbox import decode_configured
    from mira.clients.services import find_client
    from mira.storage import BlobNotFound, blob_store

    try:
        data = blob_store().get(peer.payload["audio_key"])
        samples = decode_configured(data, current_app.config).samples
    except (AudioError, BlobNotFound, KeyError):
        score = -1.0  # it will fail in its own job; it never wins
    else:
        client = find_client(peer.network_id, peer.client_id)
        location, rssi = (client.location, client.rssi) if client else (None, None)
        score = round(overall_score(measure(samples), location, rssi), 3)
    db.session.execute(
        db.update(Job).where(Job.id == peer.id, Job.score.is_(None)).values(score=score)
    )
    db.session.commit()


def _other_microphones(job: Job) -> bool:
    from mira.clients.models import Client

    return bool(
        db.session.scalar(
            db.select(db.func.count())
            .select_from(Client)
            .where(Client.network_id == job.network_id, Client.client_id != job.client_id)
        )
    )


def wait_for_late_duplicates(job: Job, window_ms: int) -> None:
    """Uploads of the same utterance arrive within the dedup window: decide only after it.

    A network with one microphone has nothing to wait for."""
    arrived_ms = (job.payload or {}).get("arrived_ms")
    if arrived_ms is None or not _other_microphones(job):
        return
    remaining = (arrived_ms + window_ms) / 1000 - time.time()
    if remaining > 0:
        time.sleep(remaining)


def choose_stream(job: Job) -> uuid.UUID | None:
    """None when this job's stream is the one to keep, else the id of the job that wins.

    Overlapping uploads of one network compete on score (ties: the earlier upload), and every
    job computes the same winner, whatever order the workers run in. A peer that already made
    the utterance's interaction wins whatever the scores: the first decision stands.
    """
    if job.dedup_start_ms is None or job.dedup_end_ms is None:
        return None
    while True:
        for peer in _overlapping_peers(job):
            if peer.score is None and peer.status != "succeeded":
                _score_peer(peer)
        with network_lock(job.network_id):
            peers = _overlapping_peers(job)
            if any(p.score is None and p.status != "succeeded" for p in peers):
                continue  # a new peer arrived meanwhile: score it first
            decided = [
                p
                for p in peers
                if (p.result or {}).get("decided") == "kept"
                or (p.status == "succeeded" and (p.result or {}).get("interaction_ids"))
            ]
            if decided:
                return min(decided, key=lambda p: p.created_at).id
            contenders = [job, *[p for p in peers if p.status != "succeeded"]]
            # The same key in every job, so all of them agree on the winner.
            winner = max(
                contenders,
                key=lambda p: (p.score or 0.0, -p.created_at.timestamp(), str(p.id)),
            )
            if winner.id != job.id:
                return winner.id
            # Recorded inside the lock: a peer deciding later sees the utterance is taken.
            job.result = {**(job.result or {}), "decided": "kept"}
            return None
