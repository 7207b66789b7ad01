"""The exchange log: one append-only event per step of every exchange, queried by auditors.

Events are written in the same transaction as the change they describe, so the log never claims something that
was rolled back, and never misses something that was committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import EVENTS, ExchangeEvent

__all__ = ["EventFilter", "event", "query_events", "record", "record_many"]


def record(
    session: Session,
    kind: str,
    /,
    *,
    package_id: str | None = None,
    document_id: str | None = None,
    agency: str | None = None,
    actor: str | None = None,
    **detail: Any,
) -> None:
    """Append one event to the session's transaction.

    Inserted at once with a plain INSERT rather than through the unit of work: an event is never read back or
    changed in the transaction that writes it, nothing references it, and this is the hottest insert of the
    exchange (every submit, delivery and acknowledgement logs one). The row is the same either way."""
    session.execute(_INSERT, event(kind, package_id=package_id, document_id=document_id, agency=agency, actor=actor,
                                   **detail))


def event(
    kind: str,
    /,
    *,
    package_id: str | None = None,
    document_id: str | None = None,
    agency: str | None = None,
    actor: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """One event as the row :func:`record_many` inserts (``detail`` without its None values)."""
    return {
        "kind": kind,
        "package_id": package_id,
        "document_id": document_id,
        "agency_code": agency,
        "actor": actor,
        "detail": {k: v for k, v in detail.items() if v is not None},
    }


def record_many(session: Session, events: Sequence[dict[str, Any]]) -> None:
    """Append several events (built with :func:`event`) in one executemany: a batch's events cost one round trip.

    The rows get their ``at`` (and, on PostgreSQL, their ids) in list order, so the log keeps the batch's order."""
    if events:
        session.execute(_INSERT, list(events))


_INSERT = sa.insert(EVENTS)


@dataclass(frozen=True, slots=True)
class EventFilter:
    agency: str | None = None
    document_id: str | None = None
    package_id: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_id: int | None = None
    limit: int = 100


def query_events(session: Session, flt: EventFilter) -> Sequence[ExchangeEvent]:
    query = sa.select(ExchangeEvent).order_by(ExchangeEvent.id)
    conditions = [
        (flt.agency, lambda v: ExchangeEvent.agency_code == v),
        (flt.document_id, lambda v: ExchangeEvent.document_id == v),
        (flt.package_id, lambda v: ExchangeEvent.package_id == v),
        (flt.kind, lambda v: ExchangeEvent.kind == v),
        (flt.since, lambda v: ExchangeEvent.at >= v),
        (flt.until, lambda v: ExchangeEvent.at < v),
        (flt.after_id, lambda v: ExchangeEvent.id > v),
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition(value))
    return session.execute(query.limit(max(1, min(flt.limit, 1000)))).scalars().all()
