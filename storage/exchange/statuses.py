"""Automatic statuses (service/exchange/auto_status.py, QĐ 28/2018 status 01): which deliveries owe one, the
conditional move that lets exactly one writer record it, and the rows of a batch of status packages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import DELIVERIES, PACKAGES, STATUS_ENTRIES

__all__ = ["insert_statuses", "owing", "take_owed"]

_P, _D = PACKAGES.c, DELIVERIES.c
_OWING = (  # each delivery, with what a status package says about its original document
    sa.select(_D.id.label("delivery_id"), _D.to_code, _D.business_status, _D.recall_state, _P.id, _P.from_code,
              _P.document_id, _P.summary)
    .select_from(DELIVERIES.join(PACKAGES, _P.id == _D.package_id))
    .where(_D.id.in_(sa.bindparam("ids", expanding=True)))
)
_OWED = (  # the deliveries that still owe their automatic status take it; RETURNING says which did
    sa.update(DELIVERIES)
    .where(
        _D.id.in_(sa.bindparam("ids", expanding=True)),
        _D.business_status.is_(None),
        _D.state.in_(("delivered", "acked")),
    )
    .values(business_status=sa.bindparam("code"), updated_at=sa.bindparam("now"))
    .returning(_D.id)
)


def owing(session: Session, delivery_ids: Sequence[str]) -> list[Any]:
    """These deliveries with their business status, recall state and original document (id, from_code,
    document_id, summary)."""
    return list(session.execute(_OWING, {"ids": list(delivery_ids)}).all()) if delivery_ids else []


def take_owed(session: Session, delivery_ids: Sequence[str], code: str, now: datetime) -> set[str]:
    """Set ``code`` as the business status of those deliveries that have none yet and are in the inbox or acked;
    the ids of those it moved (a row lock each: a concurrent writer moves none of them again)."""
    params = {"ids": list(delivery_ids), "code": code, "now": now}
    return set(session.execute(_OWED, params).scalars()) if delivery_ids else set()


def insert_statuses(
    session: Session,
    *,
    packages: Sequence[dict[str, Any]],
    deliveries: Sequence[dict[str, Any]],
    entries: Sequence[dict[str, Any]],
) -> None:
    """The status packages, their deliveries and the status-history entries; one executemany per table, the
    package rows before the rows that reference them."""
    if packages:
        session.execute(sa.insert(PACKAGES), list(packages))
    if deliveries:
        session.execute(sa.insert(DELIVERIES), list(deliveries))
    if entries:
        session.execute(sa.insert(STATUS_ENTRIES), list(entries))
