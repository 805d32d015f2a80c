"""The orphan sweep: stored audio that no row refers to, and idempotency keys past their time.

An upload writes its blob, then commits the job that points at it, and deletes the blob when
the commit fails. Only a process killed between the two (or a database that stayed away while
the upload found out whether its commit happened) leaves a blob with no row. Workers run this
sweep periodically (`MIRA_ORPHAN_SWEEP_EVERY_S`; `flask mira sweep-audio` by hand) so such
blobs do not pile up between retention purges. A blob younger than the age threshold is never
touched: its upload may still be committing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from mira.extensions import db
from mira.networks.models import Network
from mira.ops.blobs import iter_blobs
from mira.ops.purge import _as_uuid, referenced_audio
from mira.storage import blob_store
from mira.types import utcnow

log = logging.getLogger("mira.ops")


def sweep_orphan_audio(older_than_s: float) -> dict[str, Any]:
    """Delete each network's blobs older than `older_than_s` that no interaction, voice sample
    or job refers to. Audio of deleted networks is left to the retention purge."""
    from mira.jobs import idempotency

    cutoff = utcnow() - timedelta(seconds=older_than_s)
    store = blob_store()
    deleted: list[str] = []
    for network_id in db.session.scalars(db.select(Network.id)).all():
        old = [b.key for b in iter_blobs(store, f"{network_id}/") if b.modified < cutoff]
        if not old:
            continue
        in_use = referenced_audio(network_id)  # read after listing: a newer row still counts
        for key in old:
            if key in in_use or _as_uuid(key.split("/", 1)[0]) != network_id:
                continue
            try:
                store.delete(key)
                deleted.append(key)
            except Exception:  # a storage hiccup: the next sweep tries again
                log.warning("could not delete orphan audio %s", key, exc_info=True)
        db.session.rollback()  # end the read transaction between networks
    if deleted:
        log.info("orphan audio deleted: %d", len(deleted), extra={"event": "orphan_sweep"})
    return {
        "orphan_audio_deleted": len(deleted),
        "idempotency_keys_expired": idempotency.delete_expired(),
    }
