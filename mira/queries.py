"""Two look-ups every domain needs, written once: a row of the caller's network, and a page.

`in_network` answers "not found" for a row of another network exactly as for a missing one, so
an id from another tenant tells nothing. `page` counts the filtered rows the same way for
every list (over a subquery: right with joins, grouping and DISTINCT) before taking one page.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from mira.errors import not_found
from mira.extensions import db

Row = TypeVar("Row")


def in_network(model: type[Row], network_id: uuid.UUID, row_id: Any, what: str) -> Row:
    """The `model` row with this id in this network; NotFound(`what`) otherwise."""
    row = db.session.scalar(
        db.select(model).where(model.network_id == network_id, model.id == row_id)
    )
    if row is None:
        raise not_found(what)
    return row


def page(query, limit: int, offset: int, *, rows: bool = False) -> tuple[list, int]:
    """(one page of `query`, the total it matches). `query` carries its own order; `rows`
    gives whole result rows (for selects of several entities) instead of scalars."""
    total = db.session.scalar(
        db.select(db.func.count()).select_from(query.order_by(None).subquery())
    )
    limited = query.limit(limit).offset(offset)
    found = db.session.execute(limited).all() if rows else db.session.scalars(limited).all()
    return list(found), total
