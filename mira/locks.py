"""Serialising decisions that concern one network (which stream to keep, who is speaking)."""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager

from mira.extensions import db

_local_locks: dict[uuid.UUID, threading.Lock] = {}
_local_locks_guard = threading.Lock()


@contextmanager
def network_lock(network_id: uuid.UUID):
    """Hold the network for the current transaction.

    On PostgreSQL a row lock on the network (across processes and machines), released by the
    transaction's commit or rollback; on SQLite (one process, embedded mode) a process lock.
    The block must commit before it ends.
    """
    from mira.networks.models import Network

    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.select(Network.id).where(Network.id == network_id).with_for_update())
        with _transaction():
            yield
        return
    with _local_locks_guard:
        lock = _local_locks.setdefault(network_id, threading.Lock())
    with lock, _transaction():
        yield


@contextmanager
def _transaction():
    """Commit what the block staged; on an error roll it back (a failed transaction cannot
    commit, and the session must stay usable for the next job)."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
