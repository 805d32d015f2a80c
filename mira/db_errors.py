"""Which database failures are transient: shared by the web edge (503) and the job runner
(retry). Kept out of `mira.errors`, whose domain errors import nothing."""

from __future__ import annotations


def transient_database_error(exc: BaseException | None) -> bool:
    """A database failure another attempt may not meet: the server went away or refused a
    connection (OperationalError: disconnects, `pg_terminate_backend`, too many clients), a
    connection found dead (`connection_invalidated`), the pool had none free in time, or a
    session left needing a rollback by such a failure. An error raised while handling one
    counts as the failure that caused it. (The web edge answers these 503, the job runner
    retries them.)"""
    from sqlalchemy.exc import (
        DBAPIError,
        InterfaceError,
        OperationalError,
        PendingRollbackError,
    )
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    kinds = (OperationalError, InterfaceError, PoolTimeout, PendingRollbackError)
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, kinds):
            return True
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        exc = exc.__cause__ or exc.__context__
    return False
