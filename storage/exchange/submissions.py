"""Accepted submissions: the rows one accepted package adds (its package row, attachments and one delivery per
recipient), and the lookups a submit makes before it writes them (a replay of an accepted package, the document
a recall/update/replace refers to).

:class:`Submissions` records them, with the package's bus messages and its log event, in one transaction; the
status effects of a package that answers another (``service.exchange.status_effects``) run in that transaction
through a callback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.blobs import Blobs, PendingBlob
from storage.db import autocommit, is_postgresql
from storage.models import ATTACHMENTS, DELIVERIES, EVENTS, OUTBOX, PACKAGES, Package, utcnow

__all__ = [
    "SubmissionRows",
    "Submissions",
    "find_accepted",
    "find_original",
    "find_original_by_identity",
    "insert_submission",
    "is_accepted",
]

_P = PACKAGES.c

# Every submit asks this once before the expensive work (and again if its INSERT loses a race), and almost always
# finds nothing: plain columns from a prebuilt statement. It matches the idempotency key or, for a new document,
# the DocumentId (both unique per sender; a NULL document_key matches nothing).
_ACCEPTED = sa.select(_P.id, _P.request_sha256, _P.content_sha256, _P.idempotency_key, _P.document_key).where(
    _P.from_code == sa.bindparam("from_code"),
    sa.or_(_P.idempotency_key == sa.bindparam("key"), _P.document_key == sa.bindparam("document_key")),
)


def find_accepted(
    session: Session, *, from_code: str, key: str, document_key: str | None
) -> list[tuple[Any, ...]]:
    """(id, request_sha256, content_sha256, idempotency_key, document_key) of the packages ``from_code`` had
    accepted under ``key`` or as ``document_key``."""
    params = {"from_code": from_code, "key": key, "document_key": document_key}
    return [tuple(row) for row in session.execute(_ACCEPTED, params)]


def is_accepted(session: Session, *, from_code: str, key: str) -> bool:
    """Whether ``from_code`` had a package accepted under the idempotency key ``key``."""
    return bool(find_accepted(session, from_code=from_code, key=key, document_key=None))


def find_original(session: Session, *, from_code: str, document_id: str) -> Package | None:
    """The new document (business type 0) ``from_code`` sent as ``document_id``."""
    query = sa.select(Package).where(
        Package.kind == "edoc", Package.business_type == 0, Package.from_code == from_code,
        Package.document_id == document_id,
    )
    return session.execute(query).scalar_one_or_none()


def find_original_by_identity(session: Session, *, from_code: str, date: str, code: str) -> Package | None:
    """The latest new document ``from_code`` sent with this promulgation date and số/ký hiệu (its header's
    identity, kept in ``summary`` when it was accepted)."""
    identity = Package.summary["identity"]
    query = sa.select(Package).where(
        Package.kind == "edoc", Package.business_type == 0, Package.from_code == from_code,
        identity["date"].as_string() == date, identity["code"].as_string() == code,
    ).order_by(Package.created_at.desc())
    return session.execute(query).scalars().first()


def insert_submission(
    session: Session,
    *,
    package: Mapping[str, Any],
    attachments: Sequence[Mapping[str, Any]],
    deliveries: Sequence[Mapping[str, Any]],
) -> None:
    """The rows of an accepted package, in dependency order (the package row first). Plain INSERTs, not the unit
    of work: the rows are new and this is the hot path of every submit. A package accepted meanwhile under the same
    idempotency key or DocumentId makes it fail with ``IntegrityError``."""
    session.execute(sa.insert(PACKAGES), dict(package))
    if attachments:
        session.execute(sa.insert(ATTACHMENTS), [dict(row) for row in attachments])
    if deliveries:
        session.execute(sa.insert(DELIVERIES), [dict(row) for row in deliveries])


@dataclass(frozen=True, slots=True)
class SubmissionRows:
    """What one accepted package adds: its package row, attachment and delivery rows, bus messages (topic,
    payload), its log event (as ``service.exchange.log.event`` builds it) and its small blobs."""

    package: dict[str, Any]
    attachments: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    messages: list[tuple[str, dict[str, Any]]]
    event: dict[str, Any]
    pending: Sequence[PendingBlob | None] = field(default_factory=tuple)


class Submissions:
    """Records accepted packages; built once per database (service/context.py).

    A package that answers nothing (no ``effects``: no status history or recall state to change) is recorded on
    PostgreSQL in ONE statement in autocommit (data-modifying CTEs; a single statement is atomic
    and its foreign keys are checked at its end): one round trip instead of eight on the busiest request of a
    node, which bought more than 5 % end to end in a paired run (docs/performance.md, issue 19). Everything else,
    and everything on SQLite, is one transaction of plain INSERTs, with ``effects(session)`` run last. Either way a
    package accepted meanwhile under the same idempotency key or DocumentId makes it fail with ``IntegrityError``.
    Bus messages are rows of the outbox table: the ``db://`` bus of this same database."""

    def __init__(self, engine: Engine, writes: sessionmaker[Session], blobs: Blobs) -> None:
        self._engine = engine
        self._writes = writes
        self._blobs = blobs
        self._at_once = is_postgresql(engine)

    def record(self, rows: SubmissionRows, *, effects: Callable[[Session], None] | None = None) -> None:
        if effects is None and self._at_once:
            with autocommit(self._engine) as conn:
                conn.exec_driver_sql(_SUBMIT_IN_ONE_STATEMENT, _one_statement_params(rows))
            return
        with self._writes() as session, session.begin():
            self._blobs.insert_pending(session, rows.pending)
            insert_submission(session, package=rows.package, attachments=rows.attachments,
                              deliveries=rows.deliveries)
            if rows.messages:
                session.execute(sa.insert(OUTBOX), [{"topic": t, "payload": p} for t, p in rows.messages])
            session.execute(sa.insert(EVENTS), rows.event)
            if effects is not None:
                effects(session)


def _one_statement_params(rows: SubmissionRows) -> dict[str, Any]:
    dumps, package, event = json.dumps, rows.package, rows.event
    return {
        **{f"p_{key}": value for key, value in package.items() if key not in ("summary", "signature", "oddities")},
        "p_summary": dumps(package["summary"]),
        "p_signature": dumps(package["signature"]),
        "p_oddities": dumps(package["oddities"]),
        "now": utcnow(),
        "attachments": dumps([{k: a[k] for k in _ATTACHMENT_FIELDS} for a in rows.attachments]),
        "deliveries": dumps([{"id": d["id"], "to_code": d["to_code"], "route": d["route"]} for d in rows.deliveries]),
        "messages": dumps([{"topic": topic, "payload": payload} for topic, payload in rows.messages]),
        "e_kind": event["kind"],
        "e_document_id": event["document_id"],
        "e_agency": event["agency_code"],
        "e_actor": event["actor"],
        "e_detail": dumps(event["detail"]),
        "blobs": Blobs.rows_json(rows.pending),
    }


# The variable-length parts travel as JSON arrays of records, so the text is the same for every submit (prepared
# once). JSON rather than one array parameter per column: psycopg adapts a Python list element by element to choose
# its type, and the sixteen arrays cost 0.35 ms of client CPU per submit against 0.01 ms for four JSON strings.
# Small blobs travel base64-encoded (decode() in SQL); a JSON null is an SQL NULL.
_ATTACHMENT_FIELDS = (
    "position", "content_id", "name", "content_type", "description", "blob_sha256", "size", "verification"
)
_SUBMIT_IN_ONE_STATEMENT = (  # the driver's placeholders (exec_driver_sql)
    """
    WITH new_blobs AS (
        INSERT INTO small_blob (sha256, size, data, created_at)
        SELECT b.sha256, b.size, decode(b.data, 'base64'), %(now)s
        FROM json_to_recordset(CAST(%(blobs)s AS JSON)) AS b(sha256 TEXT, size INTEGER, data TEXT)
        ON CONFLICT DO NOTHING
    ), new_package AS (
        INSERT INTO package (id, kind, document_id, from_code, business_type, subject, status_code, response_for_id,
                             blob_sha256, size, request_sha256, idempotency_key, document_key, content_sha256,
                             submitted_by, channel, summary, signature, oddities, created_at)
        VALUES (%(p_id)s, %(p_kind)s, %(p_document_id)s, %(p_from_code)s, %(p_business_type)s, %(p_subject)s,
                %(p_status_code)s, %(p_response_for_id)s, %(p_blob_sha256)s, %(p_size)s, %(p_request_sha256)s,
                %(p_idempotency_key)s, %(p_document_key)s, %(p_content_sha256)s, %(p_submitted_by)s, %(p_channel)s,
                CAST(%(p_summary)s AS JSON),
                CAST(%(p_signature)s AS JSON), CAST(%(p_oddities)s AS JSON), %(now)s)
    ), new_attachments AS (
        INSERT INTO attachment (package_id, position, content_id, name, content_type, description, blob_sha256,
                                size, verification)
        SELECT %(p_id)s, a.position, a.content_id, a.name, a.content_type, a.description, a.blob_sha256, a.size,
               a.verification
        FROM json_to_recordset(CAST(%(attachments)s AS JSON))
             AS a(position INTEGER, content_id TEXT, name TEXT, content_type TEXT, description TEXT,
                  blob_sha256 TEXT, size BIGINT, verification JSON)
    ), new_deliveries AS (
        INSERT INTO delivery (id, package_id, to_code, route, state, attempts, created_at, updated_at)
        SELECT d.id, %(p_id)s, d.to_code, d.route, 'pending', 0, %(now)s, %(now)s
        FROM json_to_recordset(CAST(%(deliveries)s AS JSON)) AS d(id TEXT, to_code TEXT, route TEXT)
    ), new_messages AS (
        INSERT INTO outbox (topic, payload, created_at, available_at, attempts)
        SELECT m.item ->> 'topic', m.item -> 'payload', %(now)s, %(now)s, 0
        FROM json_array_elements(CAST(%(messages)s AS JSON)) WITH ORDINALITY AS m(item, n)
        ORDER BY m.n
    )
    INSERT INTO exchange_event (at, kind, package_id, document_id, agency_code, actor, detail)
    VALUES (%(now)s, %(e_kind)s, %(p_id)s, %(e_document_id)s, %(e_agency)s, %(e_actor)s, CAST(%(e_detail)s AS JSON))
    """
)
