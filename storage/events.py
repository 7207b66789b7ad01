"""Auditor search over the exchange log (issue 21 item 6): filtered, sorted, keyset-paginated pages and an
export iterator that streams any result set with bounded memory.

What the rows hold, and where each filter looks:

- ``exchange_event`` holds the event itself (time, kind, package id, DocumentId, the acting agency, actor, and a
  JSON ``detail`` where status events carry ``status_code``). The status-code filter reads
  ``detail.status_code`` through an *expression index* (migration 0007), so the writers of the log stay as they are.
- The subject (trích yếu), số/ký hiệu, sender and recipients are on the document's ``package`` (and ``delivery``)
  rows, not on the event. They are **not copied** onto every event (a document has 5-15 events; copying would
  multiply the hot insert of every exchange step and duplicate what an update, BussinessDocType 2, may change):
  these filters select the matching documents first and keep the events of those DocumentIds (a semi-join), and a
  page's rows are joined to their package (by primary key) for the subject shown. Every event of a document,
  including its status packages' events, carries the original's DocumentId, so a document's whole history matches.
- Free text: case-insensitive substring (``ILIKE`` on PostgreSQL, backed by ``pg_trgm`` GIN indexes on the subject
  and on "số/ký hiệu" when the extension could be created; ``LIKE`` on SQLite, case-insensitive for ASCII only).

Sort: time ascending or descending with the event id as tiebreak, so the order is total and stable; pages are cut
by keyset (the last row's ``(at, id)``), never by OFFSET, so page 10,000 costs what page 1 costs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.models import Delivery, ExchangeEvent, Package, UTCDateTime

__all__ = [
    "MAX_PAGE",
    "EventRow",
    "EventSearch",
    "Keyset",
    "iter_events",
    "search_events",
    "status_code_expression",
]

MAX_PAGE = 1000

Sort = Literal["asc", "desc"]


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where the previous page ended: its last row's time and id."""

    at: datetime
    id: int


@dataclass(frozen=True, slots=True)
class EventSearch:
    """The filters of one search; None means "any". ``text`` matches the subject or "số/ký hiệu"."""

    agency: str | None = None
    sender: str | None = None
    recipient: str | None = None
    document_id: str | None = None
    package_id: str | None = None
    kind: str | None = None
    status_code: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_id: int | None = None
    sort: Sort = "asc"
    after: Keyset | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    at: datetime
    kind: str
    package_id: str | None
    document_id: str | None
    agency: str | None
    actor: str | None
    detail: dict[str, Any]
    subject: str | None

    @property
    def status_code(self) -> str | None:
        code = self.detail.get("status_code")
        return None if code is None else str(code)


def status_code_expression(dialect: str) -> sa.ColumnElement[str]:
    """``detail.status_code`` written exactly as migration 0007's expression index is, so the planner uses it."""
    if dialect == "postgresql":
        return sa.literal_column("(exchange_event.detail ->> 'status_code')", sa.String)
    return sa.literal_column("json_extract(exchange_event.detail, '$.status_code')", sa.String)


def _code_expression(dialect: str) -> sa.ColumnElement[str]:
    """"số/ký hiệu" of a package (e.g. ``12/STTTT-VP``), as migration 0007's trigram index has it."""
    if dialect == "postgresql":
        return sa.literal_column(
            "(coalesce(package.summary ->> 'code_number', '') || '/' || "
            "coalesce(package.summary ->> 'code_notation', ''))",
            sa.String,
        )
    return sa.literal_column(
        "(coalesce(json_extract(package.summary, '$.code_number'), '') || '/' || "
        "coalesce(json_extract(package.summary, '$.code_notation'), ''))",
        sa.String,
    )


def _like(dialect: str, column: Any, text: str) -> sa.ColumnElement[bool]:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect == "postgresql":
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")


def _documents(dialect: str, flt: EventSearch) -> sa.Select[Any] | None:
    """The DocumentIds the document-level filters (sender, recipient, text) select, or None without them."""
    if flt.sender is None and flt.recipient is None and not flt.text:
        return None
    query = sa.select(Package.document_id).where(Package.kind == "edoc")
    if flt.sender is not None:
        query = query.where(Package.from_code == flt.sender)
    if flt.recipient is not None:
        delivered = sa.select(Delivery.package_id).where(Delivery.to_code == flt.recipient)
        query = query.where(Package.id.in_(delivered))
    if flt.text:
        query = query.where(
            sa.or_(_like(dialect, Package.subject, flt.text), _like(dialect, _code_expression(dialect), flt.text))
        )
    return query


def _where(dialect: str, flt: EventSearch) -> list[sa.ColumnElement[bool]]:
    E = ExchangeEvent
    simple: list[tuple[Any, Any]] = [
        (flt.agency, lambda v: E.agency_code == v),
        (flt.document_id, lambda v: E.document_id == v),
        (flt.package_id, lambda v: E.package_id == v),
        (flt.kind, lambda v: E.kind == v),
        (flt.status_code, lambda v: status_code_expression(dialect) == v),
        (flt.since, lambda v: E.at >= v),
        (flt.until, lambda v: E.at < v),
        (flt.after_id, lambda v: E.id > v),
    ]
    conditions = [condition(value) for value, condition in simple if value is not None]
    documents = _documents(dialect, flt)
    if documents is not None:
        conditions.append(E.document_id.in_(documents))
    if flt.after is not None:
        at = sa.bindparam("after_at", flt.after.at, type_=UTCDateTime())
        key, last = sa.tuple_(E.at, E.id), sa.tuple_(at, sa.bindparam("after_id_key", flt.after.id))
        conditions.append(key > last if flt.sort == "asc" else key < last)
    return conditions


def _select(dialect: str, flt: EventSearch) -> sa.Select[Any]:
    E = ExchangeEvent
    order = (E.at.asc(), E.id.asc()) if flt.sort == "asc" else (E.at.desc(), E.id.desc())
    return (
        sa.select(E.id, E.at, E.kind, E.package_id, E.document_id, E.agency_code, E.actor, E.detail, Package.subject)
        .outerjoin(Package, Package.id == E.package_id)
        .where(*_where(dialect, flt))
        .order_by(*order)
    )


def _row(r: Any) -> EventRow:
    return EventRow(r.id, r.at, r.kind, r.package_id, r.document_id, r.agency_code, r.actor, r.detail or {},
                    r.subject)


def search_events(session: Session, flt: EventSearch, *, limit: int = 100) -> Sequence[EventRow]:
    """One page of at most ``limit`` (1..1000) events in ``flt.sort`` order, after ``flt.after``.

    On PostgreSQL without parallel workers: a page reads a few thousand index entries at most, and starting
    workers costs more than that, most of all on a busy server (bench/endpoints.py --events-search, 2 M events,
    recipient + status 01 on the 2-core machine under load: p50 70 → 15 ms, p95 127 → 29 ms). The read sessions are
    autocommit, so the setting is put back right after the query rather than scoped to a transaction."""
    dialect = session.get_bind().dialect.name
    query = _select(dialect, flt).limit(max(1, min(limit, MAX_PAGE)))
    if dialect != "postgresql":
        return [_row(r) for r in session.execute(query)]
    session.execute(_NO_PARALLEL)
    try:
        return [_row(r) for r in session.execute(query)]
    finally:
        session.execute(_PARALLEL_DEFAULT)


_NO_PARALLEL = sa.text("SET max_parallel_workers_per_gather = 0")
_PARALLEL_DEFAULT = sa.text("RESET max_parallel_workers_per_gather")


def iter_events(engine: Engine, flt: EventSearch, *, chunk: int = 1000) -> Iterator[EventRow]:
    """Every event matching ``flt``, streamed from a server-side cursor (PostgreSQL; SQLite steps its cursor),
    ``chunk`` rows at a time, so memory stays bounded whatever the size of the result. Its own connection in a
    read transaction (a PostgreSQL cursor lives in one; the read sessions are autocommit), held until the
    iterator is exhausted or closed."""
    with engine.connect() as conn, conn.begin():
        query = _select(conn.dialect.name, flt)
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(query)
        for partition in result.partitions(chunk):
            for r in partition:
                yield _row(r)
