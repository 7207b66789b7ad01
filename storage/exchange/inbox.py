"""The recipients' side of the exchange: an agency's inbox (its deliveries in state ``delivered``, oldest first),
what serving a package's bytes needs, a package's status history, and the transport acknowledgement's two
statements (lock the caller's delivery, move it to ``acked``).

The inbox is the most polled query of a busy node (every DMS lists it every few seconds), so it reads plain
columns from prebuilt statements, not ORM objects: one query for the page, one for the attachments of its
documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.db import autocommit, is_postgresql
from storage.models import ATTACHMENTS, DELIVERIES, EVENTS, OUTBOX, PACKAGES, StatusEntry

__all__ = [
    "RECALLED",
    "AckOutcome",
    "Acks",
    "attachments_of",
    "lock_for_ack",
    "mark_acked",
    "package_bytes",
    "page",
    "status_history",
]

#: Recall states (QĐ 28/2018, answer 15) whose copy is no longer in the inbox nor served to its recipient.
RECALLED = ("recalled", "replaced")

_P, _D, _A = PACKAGES.c, DELIVERIES.c, ATTACHMENTS.c
_PAGE = (
    sa.select(
        _D.id.label("delivery_id"),
        _D.delivered_at,
        _P.id,
        _P.kind,
        _P.from_code,
        _P.document_id,
        _P.subject,
        _P.business_type,
        _P.status_code,
        _P.response_for_id,
        _P.summary,
        _P.oddities,
    )
    .select_from(DELIVERIES.join(PACKAGES, _P.id == _D.package_id))
    .where(_D.to_code == sa.bindparam("code"), _D.state == "delivered")
    .where(sa.func.coalesce(_D.recall_state, "").not_in(RECALLED))  # taken back (answer 15): no longer waiting
    .order_by(_D.delivered_at, _D.id)
    .limit(sa.bindparam("limit"))
)
_PAGE_AFTER = _PAGE.where(
    sa.or_(
        _D.delivered_at > sa.bindparam("at"),
        sa.and_(_D.delivered_at == sa.bindparam("at"), _D.id > sa.bindparam("after_id")),
    )
)
_ATTACHMENTS = (
    sa.select(_A.package_id, _A.position, _A.name, _A.content_type, _A.size, _A.blob_sha256, _A.description,
              _A.verification)
    .where(_A.package_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_A.package_id, _A.position)
)


def page(session: Session, code: str, *, limit: int, after: tuple[datetime, str] | None = None) -> list[Any]:
    """Up to ``limit`` rows of agency ``code``'s inbox, after the (delivered_at, delivery id) cursor ``after``."""
    params: dict[str, Any] = {"code": code, "limit": limit}
    if after is None:
        return list(session.execute(_PAGE, params).all())
    params["at"], params["after_id"] = after
    return list(session.execute(_PAGE_AFTER, params).all())


def attachments_of(session: Session, package_ids: Sequence[str]) -> list[Any]:
    """The attachment rows of these packages, by package and position."""
    return list(session.execute(_ATTACHMENTS, {"ids": list(package_ids)}).all()) if package_ids else []


def status_history(session: Session, package_id: str) -> list[StatusEntry]:
    """The status entries about a package, oldest first."""
    query = sa.select(StatusEntry).where(StatusEntry.package_id == package_id).order_by(StatusEntry.id)
    return list(session.execute(query).scalars())


# Serving a package's bytes is every recipient's second request for every document: the package and its
# deliveries' addressees and recall states, one row per delivery (one row with NULLs for a package without any).
_BYTES = (
    sa.select(_P.id, _P.document_id, _P.from_code, _P.blob_sha256, _P.size, _D.to_code, _D.recall_state)
    .select_from(PACKAGES.outerjoin(DELIVERIES, _D.package_id == _P.id))
    .where(_P.id == sa.bindparam("package_id"))
)


def package_bytes(session: Session, package_id: str) -> list[tuple[Any, ...]]:
    """(id, document_id, from_code, blob_sha256, size, to_code, recall_state) per delivery; [] if no package."""
    return [tuple(row) for row in session.execute(_BYTES, {"package_id": package_id})]


# The caller's delivery of the package (one in the inbox first), locked until the transaction ends.
_ACK_ROW = (
    sa.select(_D.id, _D.to_code, _D.state, _D.business_status, _P.kind, _P.business_type, _P.document_id)
    .select_from(DELIVERIES.join(PACKAGES, _P.id == _D.package_id))
    .where(_D.package_id == sa.bindparam("package_id"), _D.to_code.in_(sa.bindparam("codes", expanding=True)))
    .order_by(_D.state != "delivered", _D.to_code)
    .limit(1)
    .with_for_update(of=DELIVERIES)
)
_ACK = (
    sa.update(DELIVERIES)
    .where(_D.id == sa.bindparam("delivery_id"))
    .values(state="acked", acked_at=sa.bindparam("now"), updated_at=sa.bindparam("now"))
)


def lock_for_ack(session: Session, package_id: str, codes: Sequence[str]) -> Any | None:
    """The delivery of ``package_id`` to one of ``codes`` (one still in the inbox first), row-locked; None if the
    package is addressed to none of them."""
    return session.execute(_ACK_ROW, {"package_id": package_id, "codes": list(codes)}).first()


def mark_acked(session: Session, delivery_id: str, now: datetime) -> None:
    session.execute(_ACK, {"delivery_id": delivery_id, "now": now})


@dataclass(frozen=True, slots=True)
class AckOutcome:
    """What an ack found: the delivery's addressee and state (``acked`` after a move, or the state that stopped
    it), and whether this call moved it; ``to_code`` None when the package is addressed to none of the codes."""

    to_code: str | None
    state: str | None
    moved: bool


class Acks:
    """The transport acknowledgement (ack of one of the caller's deliveries of a package), built once per database
    (service/wiring.py): the conditional move ``delivered`` → ``acked`` of one of ``codes``' deliveries, its
    ``acked`` log event and, for a new document no status was sent about yet, the bus message of its automatic 01
    (topic ``auto_status``), in one transaction.

    PostgreSQL first tries the whole ack as ONE statement in autocommit (data-modifying CTEs: a
    single statement is atomic; a concurrent ack of the same delivery re-checks the state under the row lock and
    moves nothing): one round trip instead of six on the second-busiest request of a node, which bought more than
    5 % end to end in a paired run (docs/performance.md, issue 19). What it did not move (acked before, not in the
    inbox, not addressed to the caller) goes the general way, which says why; SQLite always goes the general way.
    The message is written to the outbox table: the ``db://`` bus of this same database."""

    def __init__(self, engine: Engine, writes: sessionmaker[Session]) -> None:
        self._engine = engine
        self._writes = writes
        self._at_once = is_postgresql(engine)

    def ack(self, package_id: str, codes: Sequence[str], *, actor: str, now: datetime) -> AckOutcome:
        if self._at_once:
            params = {"package_id": package_id, "codes": list(codes), "now": now, "actor": actor}
            with autocommit(self._engine) as conn:
                moved = conn.exec_driver_sql(_ACK_IN_ONE_STATEMENT, params).all()
            if moved:
                return AckOutcome(moved[0][1], "acked", True)
        with self._writes() as session, session.begin():
            return _ack_in_transaction(session, package_id, codes, actor=actor, now=now)


def _ack_in_transaction(
    session: Session, package_id: str, codes: Sequence[str], *, actor: str, now: datetime
) -> AckOutcome:
    row = lock_for_ack(session, package_id, codes)
    if row is None or row.state != "delivered":
        return AckOutcome(row.to_code if row else None, row.state if row else None, False)
    mark_acked(session, row.id, now)
    session.execute(sa.insert(EVENTS), {"at": now, "kind": "acked", "package_id": package_id,
                                        "document_id": row.document_id, "agency_code": row.to_code, "actor": actor,
                                        "detail": {"kind": row.kind}})
    if row.kind == "edoc" and row.business_type == 0 and row.business_status is None:
        session.execute(sa.insert(OUTBOX), {"topic": "auto_status", "payload": {"delivery_id": row.id, "code": "01"}})
    return AckOutcome(row.to_code, "acked", True)


_ACK_IN_ONE_STATEMENT = (  # the driver's placeholders (exec_driver_sql)
    """
    WITH moved AS (
        UPDATE delivery AS d
        SET state = 'acked', acked_at = %(now)s, updated_at = %(now)s
        FROM package AS p
        WHERE d.id = (
            SELECT id FROM delivery
            WHERE package_id = %(package_id)s AND to_code = ANY(%(codes)s) AND state = 'delivered'
            ORDER BY to_code LIMIT 1
        )
        AND d.state = 'delivered' AND p.id = d.package_id
        RETURNING d.id, d.to_code, d.business_status, p.kind, p.business_type, p.document_id
    ), logged AS (
        INSERT INTO exchange_event (at, kind, package_id, document_id, agency_code, actor, detail)
        SELECT %(now)s, 'acked', %(package_id)s, document_id, to_code, %(actor)s, json_build_object('kind', kind)
        FROM moved
    ), automatic AS (
        INSERT INTO outbox (topic, payload, created_at, available_at, attempts)
        SELECT 'auto_status', json_build_object('delivery_id', id, 'code', '01'), %(now)s, %(now)s, 0
        FROM moved
        WHERE kind = 'edoc' AND business_type = 0 AND business_status IS NULL
    )
    SELECT id, to_code FROM moved
    """
)
