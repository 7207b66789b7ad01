"""Checks of attachments' PDF signatures (service/signatures.py, the ``verify_attachment`` topic): which
attachments a batch of checks is about, and their summaries written back with one event each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.blobs import Blobs, PendingBlob
from storage.db import autocommit, is_postgresql
from storage.models import ATTACHMENTS, EVENTS, PACKAGES, utcnow

__all__ = ["CheckDone", "Checks", "attachments_to_check", "owners_of", "record_summaries"]

_A, _P = ATTACHMENTS.c, PACKAGES.c
_SUMMARY = (
    sa.update(ATTACHMENTS)
    .where(_A.package_id == sa.bindparam("k_package"), _A.position == sa.bindparam("k_position"))
    .values(verification=sa.bindparam("k_summary"))
)


def attachments_to_check(session: Session, package_ids: Iterable[str]) -> dict[tuple[str, int], Any]:
    """(package id, position) -> row with ``verification``, ``blob_sha256`` and ``size``, for these packages."""
    ids = list(set(package_ids))
    if not ids:
        return {}
    query = sa.select(_A.package_id, _A.position, _A.verification, _A.blob_sha256, _A.size).where(
        _A.package_id.in_(ids)
    )
    return {(row.package_id, row.position): row for row in session.execute(query)}


def owners_of(session: Session, package_ids: Iterable[str]) -> dict[tuple[str, int], Any]:
    """(package id, position) -> row with the package's ``document_id`` and ``from_code``, for the attachments of
    these packages (what an ``attachment_verified`` event names)."""
    ids = list(set(package_ids))
    if not ids:
        return {}
    query = (
        sa.select(_A.package_id, _A.position, _P.document_id, _P.from_code)
        .select_from(ATTACHMENTS.join(PACKAGES, _P.id == _A.package_id))
        .where(_A.package_id.in_(ids))
    )
    return {(row.package_id, row.position): row for row in session.execute(query)}


def record_summaries(session: Session, summaries: Sequence[tuple[tuple[str, int], dict[str, Any]]]) -> None:
    """Write each attachment's verification summary: ``((package id, position), summary)`` pairs."""
    if summaries:
        session.execute(
            _SUMMARY, [{"k_package": key[0], "k_position": key[1], "k_summary": summary} for key, summary in summaries]
        )


@dataclass(frozen=True, slots=True)
class CheckDone:
    """One finished check: its bus message, its attachment, and (when verified) the summary, the report blob to
    store and the detail of its ``attachment_verified`` event."""

    message_id: int
    package_id: str
    position: int
    summary: dict[str, Any] | None = None
    pending: PendingBlob | None = None
    detail: dict[str, Any] | None = None


class Checks:
    """Finishes a batch of attachment checks; built once per database (service/context.py): the messages are
    completed if still leased by the worker, and for each verified attachment whose message that was (and which
    still exists) its summary and report are stored and ``attachment_verified`` is logged, in one transaction.

    PostgreSQL: all of it in ONE statement in autocommit (data-modifying CTEs over JSON arrays;
    the conditions the general way checks in Python are its joins; kept with the other one-statement writes,
    docs/performance.md, issue 19); it completes the messages in the outbox table, the ``db://`` bus of this same
    database. SQLite: one transaction, the messages completed by ``ack(session, message_ids)`` (the bus port's)."""

    def __init__(self, engine: Engine, writes: sessionmaker[Session], blobs: Blobs) -> None:
        self._engine = engine
        self._writes = writes
        self._blobs = blobs
        self._at_once = is_postgresql(engine)

    def finish(
        self, worker: str, done: Sequence[CheckDone], *, ack: Callable[[Session, list[int]], set[int]]
    ) -> None:
        if self._at_once:
            with autocommit(self._engine) as conn:
                conn.exec_driver_sql(_FINISH_IN_ONE_STATEMENT, _one_statement_params(worker, done))
            return
        with self._writes() as session, session.begin():
            ours = ack(session, [check.message_id for check in done])
            # a message not acknowledged is not ours any more: another worker has it
            verified = [check for check in done if check.summary is not None and check.message_id in ours]
            owners = owners_of(session, (check.package_id for check in verified))
            verified = [check for check in verified if (check.package_id, check.position) in owners]
            if not verified:
                return
            self._blobs.insert_pending(session, [check.pending for check in verified])
            record_summaries(session, [((c.package_id, c.position), c.summary or {}) for c in verified])
            events = [_event(worker, c, owners[(c.package_id, c.position)]) for c in verified]
            session.execute(sa.insert(EVENTS), events)


def _event(worker: str, check: CheckDone, owner: Any) -> dict[str, Any]:
    return {"kind": "attachment_verified", "package_id": check.package_id, "document_id": owner.document_id,
            "agency_code": owner.from_code, "actor": f"worker:{worker}", "detail": check.detail or {}}


def _one_statement_params(worker: str, done: Sequence[CheckDone]) -> dict[str, Any]:
    verified = [check for check in done if check.summary is not None]
    rows = [
        {"n": n, "message_id": c.message_id, "package_id": c.package_id, "position": c.position,
         "summary": c.summary, "detail": c.detail or {}}
        for n, c in enumerate(verified)
    ]
    return {
        "now": utcnow(),
        "worker": worker,
        "actor": f"worker:{worker}",
        "ids": json.dumps([check.message_id for check in done]),
        "jobs": json.dumps(rows),
        "blobs": Blobs.rows_json(check.pending for check in verified),
    }


# ``done`` is the conditional UPDATE of the messages, ``verified`` the checks whose message it returned and whose
# attachment row exists; the report blobs, summaries and events are written for those only, events in batch order.
_FINISH_IN_ONE_STATEMENT = (  # the driver's placeholders (exec_driver_sql)
    """
    WITH done AS (
        UPDATE outbox SET done_at = %(now)s
        WHERE id IN (SELECT CAST(i AS BIGINT) FROM json_array_elements_text(CAST(%(ids)s AS JSON)) AS i)
          AND locked_by = %(worker)s AND done_at IS NULL
        RETURNING id
    ), verified AS (
        SELECT j.n, j.package_id, j.position, j.summary, j.detail, p.document_id, p.from_code
        FROM json_to_recordset(CAST(%(jobs)s AS JSON))
             AS j(n INTEGER, message_id BIGINT, package_id TEXT, position INTEGER, summary JSON, detail JSON)
        JOIN done ON done.id = j.message_id
        JOIN attachment a ON a.package_id = j.package_id AND a.position = j.position
        JOIN package p ON p.id = j.package_id
    ), new_blobs AS (
        INSERT INTO small_blob (sha256, size, data, created_at)
        SELECT b.sha256, b.size, decode(b.data, 'base64'), %(now)s
        FROM json_to_recordset(CAST(%(blobs)s AS JSON)) AS b(sha256 TEXT, size INTEGER, data TEXT)
        WHERE b.sha256 IN (SELECT v.summary ->> 'report_sha256' FROM verified v)
        ON CONFLICT DO NOTHING
    ), summaries AS (
        UPDATE attachment a SET verification = v.summary
        FROM verified v
        WHERE a.package_id = v.package_id AND a.position = v.position
    )
    INSERT INTO exchange_event (at, kind, package_id, document_id, agency_code, actor, detail)
    SELECT %(now)s, 'attachment_verified', v.package_id, v.document_id, v.from_code, %(actor)s, v.detail
    FROM verified v
    ORDER BY v.n
    """
)
