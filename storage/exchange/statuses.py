"""Automatic statuses (service/exchange/auto_status.py, QĐ 28/2018 status 01): which deliveries owe one, the
conditional move that lets exactly one writer record it, and the rows of a batch of status packages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.blobs import Blobs, PendingBlob
from storage.db import is_postgresql
from storage.models import DELIVERIES, EVENTS, OUTBOX, PACKAGES, STATUS_ENTRIES

__all__ = ["StatusBatch", "StatusRows", "owing", "take_owed"]

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


@dataclass
class StatusBatch:
    """The rows of a batch of status packages, one list per table, their bus messages (topic, payload), log
    events (as ``service.exchange.log.event`` builds them) and small blobs."""

    packages: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pending: list[PendingBlob | None] = field(default_factory=list)


class StatusRows:
    """Writes a batch of status packages in the caller's transaction; built once per database (service/context.py).

    PostgreSQL: the whole batch in ONE statement (data-modifying CTEs, each table's rows as one JSON array, so the
    client encodes a batch with a few ``json.dumps`` calls instead of adapting every value of every row, and the
    server gets one round trip; kept with the other one-statement writes, docs/performance.md, issue 19). SQLite:
    one executemany per table. The status entries and the events keep the batch's order in their ids either way.
    Bus messages are rows of the outbox table: the ``db://`` bus of this same database."""

    def __init__(self, engine: Engine, blobs: Blobs) -> None:
        self._blobs = blobs
        self._at_once = is_postgresql(engine)

    def insert(self, session: Session, batch: StatusBatch, now: datetime) -> None:
        if not batch.packages:
            return
        if self._at_once:
            session.execute(_RECORD_IN_ONE_STATEMENT, _one_statement_params(batch, now))
            return
        # The blobs and package rows before the rows that reference them; each list is one executemany.
        self._blobs.insert_pending(session, batch.pending)
        session.execute(sa.insert(PACKAGES), batch.packages)
        session.execute(sa.insert(DELIVERIES), batch.deliveries)
        session.execute(sa.insert(STATUS_ENTRIES), batch.entries)
        if batch.messages:
            session.execute(sa.insert(OUTBOX), [{"topic": t, "payload": p} for t, p in batch.messages])
        session.execute(sa.insert(EVENTS), batch.events)


def _one_statement_params(batch: StatusBatch, now: datetime) -> dict[str, Any]:
    dumps = json.dumps
    package_fields = [k for k in batch.packages[0] if k != "created_at"]  # every column set but the time
    delivery_fields = ("id", "package_id", "to_code", "route", "state", "attempts")
    entry_fields = ("package_id", "agency_code", "code", "description", "staff", "status_package_id")
    return {
        "now": now,
        "blobs": Blobs.rows_json(batch.pending),
        "packages": dumps([{k: p[k] for k in package_fields} for p in batch.packages]),
        "deliveries": dumps([{k: d[k] for k in delivery_fields} for d in batch.deliveries]),
        "entries": dumps([{k: e[k] for k in entry_fields} for e in batch.entries]),
        "messages": dumps([{"topic": topic, "payload": payload} for topic, payload in batch.messages]),
        "events": dumps(batch.events),
    }


# The text is the same for every batch (PostgreSQL plans it once per connection). A JSON null is an SQL NULL; small
# blobs travel base64-encoded.
_RECORD_IN_ONE_STATEMENT = sa.text(
    """
    WITH new_blobs AS (
        INSERT INTO small_blob (sha256, size, data, created_at)
        SELECT b.sha256, b.size, decode(b.data, 'base64'), :now
        FROM json_to_recordset(CAST(:blobs AS JSON)) AS b(sha256 TEXT, size INTEGER, data TEXT)
        ON CONFLICT DO NOTHING
    ), new_packages AS (
        INSERT INTO package (id, kind, document_id, from_code, business_type, subject, status_code, response_for_id,
                             blob_sha256, size, request_sha256, idempotency_key, submitted_by, channel, summary,
                             signature, oddities, created_at)
        SELECT p.id, p.kind, p.document_id, p.from_code, p.business_type, p.subject, p.status_code,
               p.response_for_id, p.blob_sha256, p.size, p.request_sha256, p.idempotency_key, p.submitted_by,
               p.channel, p.summary, p.signature, p.oddities, :now
        FROM json_to_recordset(CAST(:packages AS JSON))
             AS p(id TEXT, kind TEXT, document_id TEXT, from_code TEXT, business_type INTEGER, subject TEXT,
                  status_code TEXT, response_for_id TEXT, blob_sha256 TEXT, size BIGINT, request_sha256 TEXT,
                  idempotency_key TEXT, submitted_by TEXT, channel TEXT, summary JSON, signature JSON, oddities JSON)
    ), new_deliveries AS (
        INSERT INTO delivery (id, package_id, to_code, route, state, attempts, delivered_at, created_at,
                              updated_at)
        SELECT d.id, d.package_id, d.to_code, d.route, d.state, d.attempts,
               CASE WHEN d.state = 'delivered' THEN CAST(:now AS TIMESTAMP WITH TIME ZONE) END, :now, :now
        FROM json_to_recordset(CAST(:deliveries AS JSON))
             AS d(id TEXT, package_id TEXT, to_code TEXT, route TEXT, state TEXT, attempts INTEGER)
    ), new_entries AS (
        INSERT INTO status_entry (package_id, agency_code, code, description, staff, status_package_id, created_at)
        SELECT e.item ->> 'package_id', e.item ->> 'agency_code', e.item ->> 'code', e.item ->> 'description',
               e.item -> 'staff', e.item ->> 'status_package_id', :now
        FROM json_array_elements(CAST(:entries AS JSON)) WITH ORDINALITY AS e(item, n)
        ORDER BY e.n
    ), new_messages AS (
        INSERT INTO outbox (topic, payload, created_at, available_at, attempts)
        SELECT m.item ->> 'topic', m.item -> 'payload', :now, :now, 0
        FROM json_array_elements(CAST(:messages AS JSON)) WITH ORDINALITY AS m(item, n)
        ORDER BY m.n
    )
    INSERT INTO exchange_event (at, kind, package_id, document_id, agency_code, actor, detail)
    SELECT :now, v.item ->> 'kind', v.item ->> 'package_id', v.item ->> 'document_id', v.item ->> 'agency_code',
           v.item ->> 'actor', v.item -> 'detail'
    FROM json_array_elements(CAST(:events AS JSON)) WITH ORDINALITY AS v(item, n)
    ORDER BY v.n
    """
)
