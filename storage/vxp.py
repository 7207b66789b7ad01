"""What the VXP facade (service/vxp/) stores and reads: the receiving systems' list, the transport ack, client
systems by ``systemid``, replay nonces, the acknowledgement of a forwarded copy.

Every statement is SQLAlchemy Core over plain columns (the SDK's hot calls load and flush no ORM objects). Three
differ by dialect, and both variants live here, picked once when the store is built (:meth:`NonceStore.for_engine`,
:meth:`ReceivedList.for_engine`, :meth:`TransportAcks.for_engine`):

- the replay nonce's ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (every VXP call makes one, before its
  operation): on PostgreSQL by the driver in autocommit, without waiting for the WAL flush (see
  :data:`INSERT_NONCE_WITHOUT_WAITING_FOR_THE_WAL`); on SQLite in a ``BEGIN IMMEDIATE`` transaction;
- the received list (every receiving system polls it): on PostgreSQL by the driver (storage.db.run_on_driver),
  on SQLite through a connection;
- the transport ack (``updateStatus(done|fail)``, every document a national-axis recipient takes ends with it): on
  PostgreSQL the move, its log events and the "is any copy yours at all" check as one statement by the driver
  (:data:`SETTLE_IN_ONE_STATEMENT`); on SQLite the same rows in a writer transaction. The one statement earned its
  place in paired runs of ``bench/vxp.py --base`` (docs/performance.md, "VXP transport ack").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.db import is_postgresql, run_on_driver, writer_session_factory
from storage.exchange.outbox import LOCAL_ROUTE as _LOCAL
from storage.models import (
    DELIVERIES,
    EVENTS,
    PACKAGES,
    ClientAgency,
    ClientSystem,
    ReplayNonce,
)

__all__ = [
    "RECALLED",
    "SETTLE_IN_ONE_STATEMENT",
    "NonceStore",
    "Received",
    "ReceivedList",
    "SystemRow",
    "TransportAcks",
    "count_waiting",
    "mark_forwarded_acknowledged",
    "system_rows",
    "waiting_query",
]

_D, _P = DELIVERIES.c, PACKAGES.c
#: Recall states of a copy its sender took back (answer 15 to a recall or replacement): no longer waiting.
RECALLED = ("recalled", "replaced")
_NOT_RECALLED = sa.func.coalesce(_D.recall_state, "").not_in(RECALLED)


# --- the received list -----------------------------------------------------------------------------------------


class Received(NamedTuple):
    id: str
    kind: str
    from_code: str
    created_at: datetime
    to_code: str
    state: str
    delivered_at: datetime | None
    updated_at: datetime


_RECEIVED = (
    sa.select(_P.id, _P.kind, _P.from_code, _P.created_at, _D.to_code, _D.state, _D.delivered_at, _D.updated_at)
    .select_from(DELIVERIES.join(PACKAGES, _P.id == _D.package_id))
    .where(_D.state == "delivered", _D.route == _LOCAL, _P.kind == sa.bindparam("kind"), _NOT_RECALLED)
    .where(_D.to_code.in_(sa.bindparam("agencies", expanding=True)))
    .order_by(_D.delivered_at, _D.id)
    .limit(sa.bindparam("limit"))
)
# The same for psycopg (its placeholders), run by the driver on PostgreSQL.
_RECEIVED_ON_DRIVER = """
    SELECT package.id, package.kind, package.from_code, package.created_at, delivery.to_code, delivery.state,
           delivery.delivered_at, delivery.updated_at
    FROM delivery JOIN package ON package.id = delivery.package_id
    WHERE delivery.state = 'delivered' AND delivery.route = 'local' AND package.kind = %(kind)s
      AND delivery.to_code = ANY(%(agencies)s) AND COALESCE(delivery.recall_state, '') NOT IN ('recalled', 'replaced')
    ORDER BY delivery.delivered_at, delivery.id
    LIMIT %(limit)s
"""


class ReceivedList:
    """The copies waiting for the agencies of a receiving system (delivered here, not acknowledged, not taken
    back), oldest first; build with :meth:`for_engine`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def for_engine(engine: Engine) -> ReceivedList:
        return _ReceivedOnDriver(engine) if is_postgresql(engine) else ReceivedList(engine)

    def waiting(self, kind: str, agencies: Iterable[str], *, limit: int) -> list[Received]:
        with self._engine.connect() as conn:
            rows = conn.execute(_RECEIVED, {"kind": kind, "agencies": sorted(agencies), "limit": limit})
            return [Received(*row) for row in rows]


class _ReceivedOnDriver(ReceivedList):
    def waiting(self, kind: str, agencies: Iterable[str], *, limit: int) -> list[Received]:
        params = {"kind": kind, "agencies": sorted(agencies), "limit": limit}
        return [Received(*row) for row in run_on_driver(self._engine, _RECEIVED_ON_DRIVER, params)]


def waiting_query(kind: str, agencies: Iterable[str]) -> sa.Select[Any]:
    """The ids of the copies :meth:`ReceivedList.waiting` lists, unlimited (for counting them)."""
    return (
        sa.select(_D.id)
        .select_from(DELIVERIES.join(PACKAGES, _P.id == _D.package_id))
        .where(_D.state == "delivered", _D.route == _LOCAL, _P.kind == kind, _NOT_RECALLED)
        .where(_D.to_code.in_(sorted(agencies)))
    )


def count_waiting(session: Session, kind: str, agencies: Iterable[str]) -> int:
    query = sa.select(sa.func.count()).select_from(waiting_query(kind, agencies).subquery())
    return int(session.execute(query).scalar_one())


# --- the transport ack -----------------------------------------------------------------------------------------

_YOURS = (
    _D.package_id == sa.bindparam("doc_id"),
    _D.to_code.in_(sa.bindparam("agencies", expanding=True)),
    _D.route == _LOCAL,
)
_SETTLE_ACKED = (
    sa.update(DELIVERIES)
    .where(*_YOURS, _D.state == "delivered")
    .values(state="acked", acked_at=sa.bindparam("at"), updated_at=sa.bindparam("at"))
    .returning(_D.to_code)
)
_SETTLE_FAILED = (
    sa.update(DELIVERIES)
    .where(*_YOURS, _D.state == "delivered")
    .values(state="failed", acked_at=sa.bindparam("at"), updated_at=sa.bindparam("at"),
            last_error=sa.bindparam("error"))
    .returning(_D.to_code)
)
_ADDRESSED = sa.select(_D.id).where(*_YOURS).limit(1)


_LOG = sa.insert(EVENTS)


class TransportAcks:
    """The transport ack of a receiving system: its delivered copies of a package move to ``acked`` (or ``failed``,
    keeping the error), each with its exchange-log event; build with :meth:`for_engine`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writes = writer_session_factory(engine)

    @staticmethod
    def for_engine(engine: Engine) -> TransportAcks:
        return _AcksInOneStatement(engine) if is_postgresql(engine) else TransportAcks(engine)

    def settle(self, doc_id: str, agencies: Iterable[str], *, failed: bool, at: datetime, error: str | None,
               actor: str, detail: Mapping[str, Any]) -> bool:
        """Settle the copies of ``doc_id`` delivered here to ``agencies`` (one conditional ``UPDATE … RETURNING``:
        a concurrent second ack waits for the row lock, then finds nothing delivered), logging ``acked`` or
        ``fetch_failed`` per copy by ``actor`` with ``detail``. False if no copy of ``doc_id`` is addressed to
        ``agencies`` at all (one already settled is: nothing to do)."""
        params = {"doc_id": doc_id, "agencies": sorted(agencies), "at": at, "error": error}
        with self._writes() as session, session.begin():
            settled = list(session.execute(_SETTLE_FAILED if failed else _SETTLE_ACKED, params).scalars())
            if not settled:
                return session.execute(_ADDRESSED, params).first() is not None
            kind = "fetch_failed" if failed else "acked"
            session.execute(_LOG, [{"at": at, "kind": kind, "package_id": doc_id, "document_id": None,
                                    "agency_code": to_code, "actor": actor, "detail": dict(detail)}
                                   for to_code in settled])
        return True


# PostgreSQL: TransportAcks.settle as one statement by the driver (the move, its events, and whether any copy is
# the caller's at all), instead of BEGIN, UPDATE, INSERT and COMMIT. The rows it answers are the copies it settled,
# or, when it settled none, one copy addressed to the caller (already settled); none at all means the package is
# not the caller's. The last SELECT reads the snapshot from before the UPDATE, as CTEs do.
SETTLE_IN_ONE_STATEMENT = """
    WITH settled AS (
        UPDATE delivery
        SET state = %(state)s, acked_at = %(at)s, updated_at = %(at)s, last_error = COALESCE(%(error)s, last_error)
        WHERE package_id = %(doc_id)s AND to_code = ANY(%(agencies)s) AND route = 'local' AND state = 'delivered'
        RETURNING to_code
    ), logged AS (
        INSERT INTO exchange_event (at, kind, package_id, document_id, agency_code, actor, detail)
        SELECT %(at)s, %(kind)s, %(doc_id)s, NULL, to_code, %(actor)s, CAST(%(detail)s AS JSON)
        FROM settled
    )
    SELECT to_code FROM settled
    UNION ALL
    (SELECT to_code FROM delivery
     WHERE package_id = %(doc_id)s AND to_code = ANY(%(agencies)s) AND route = 'local'
     LIMIT 1)
"""


class _AcksInOneStatement(TransportAcks):
    def settle(self, doc_id: str, agencies: Iterable[str], *, failed: bool, at: datetime, error: str | None,
               actor: str, detail: Mapping[str, Any]) -> bool:
        params = {
            "doc_id": doc_id, "agencies": sorted(agencies), "at": at, "error": error,
            "state": "failed" if failed else "acked", "kind": "fetch_failed" if failed else "acked",
            "actor": actor, "detail": json.dumps(dict(detail)),
        }
        return bool(run_on_driver(self._engine, SETTLE_IN_ONE_STATEMENT, params))


def mark_forwarded_acknowledged(session: Session, status_package_id: str, *, at: datetime) -> None:
    """A status package came back from the recipient behind an uplink: our forwarded copy of the document it
    answers reached that recipient (``delivered → acked``)."""
    status = session.execute(
        sa.select(_P.response_for_id, _P.from_code).where(_P.id == status_package_id)
    ).first()
    if status is None or status.response_for_id is None:
        return
    session.execute(
        sa.update(DELIVERIES)
        .where(_D.package_id == status.response_for_id, _D.to_code == status.from_code)
        .where(_D.state == "delivered", _D.route != _LOCAL)
        .values(state="acked", acked_at=at)
    )


# --- client systems ----------------------------------------------------------------------------------------------


class SystemRow(NamedTuple):
    id: str
    name: str
    role: str
    vxp_secret_sealed: str | None
    vxp_previous_secret_sealed: str | None
    vxp_previous_secret_expires_at: datetime | None
    agency_code: str | None


# One row per agency link (none: one row with a NULL code); plain columns, no ORM objects.
_SYSTEM = (
    sa.select(
        ClientSystem.id,
        ClientSystem.name,
        ClientSystem.role,
        ClientSystem.vxp_secret_sealed,
        ClientSystem.vxp_previous_secret_sealed,
        ClientSystem.vxp_previous_secret_expires_at,
        ClientAgency.agency_code,
    )
    .outerjoin(ClientAgency, ClientAgency.client_id == ClientSystem.id)
    .where(ClientSystem.vxp_systemid == sa.bindparam("systemid"), ClientSystem.active.is_(True))
)


def system_rows(session: Session, systemid: str) -> list[SystemRow]:
    """The active client system whose VXP ``systemid`` this is: one row per agency it is linked to (one row with
    ``agency_code`` None if none); [] if there is no such active system."""
    return [SystemRow(*row) for row in session.execute(_SYSTEM, {"systemid": systemid})]


# --- replay nonces -----------------------------------------------------------------------------------------------

_NONCES = cast(sa.Table, ReplayNonce.__table__)
_PURGE_NONCES = sa.delete(_NONCES).where(_NONCES.c.expires_at < sa.bindparam("now"))

# PostgreSQL: the nonce's INSERT is its own transaction (autocommit) and does not wait for its WAL record to reach
# the disk (``synchronous_commit`` off for this transaction only, set by the statement itself). Every VXP call makes
# one, and waiting for the flush was the largest part of a call's authentication time. The price: if the database
# server itself crashes, the nonces of the last fraction of a second (wal_writer_delay, 200 ms by default) may be
# lost, and a call captured then could be replayed once within its timestamp window. Whatever such a replay could
# repeat is idempotent anyway: a package is accepted once per DocumentId and sender, an ack or a status once per
# delivery, and the reads give nothing the captured answer did not. The operations' own writes stay synchronous.
INSERT_NONCE_WITHOUT_WAITING_FOR_THE_WAL = """
    WITH no_wait AS (SELECT set_config('synchronous_commit', 'off', true))
    INSERT INTO replay_nonce (systemid, signature, expires_at)
    SELECT %(systemid)s, %(signature)s, %(expires_at)s FROM no_wait
    ON CONFLICT DO NOTHING
    RETURNING systemid
"""  # run by the driver itself (psycopg's placeholders): storage.db.run_on_driver


class NonceStore:
    """The ``replay_nonce`` table (unique key ``(systemid, signature)``): an insert says whether the pair was new,
    atomically across processes; build with :meth:`for_engine`."""

    def __init__(self, engine: Engine) -> None:
        # SQLite: a write transaction taken up front, as every writer of the node does (storage/db.py).
        self._engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        # rowcount is not reliable for ON CONFLICT DO NOTHING (psycopg answers -1): RETURNING says it.
        self._insert: Any = sqlite.insert(_NONCES).on_conflict_do_nothing().returning(_NONCES.c.systemid)

    @staticmethod
    def for_engine(engine: Engine) -> NonceStore:
        return _PostgresNonces(engine) if is_postgresql(engine) else NonceStore(engine)

    def insert(self, systemid: str, signature: str, expires_at: datetime) -> bool:
        """Store the pair until ``expires_at``; whether it was new (False: seen before)."""
        with self._engine.begin() as conn:
            params = {"systemid": systemid, "signature": signature, "expires_at": expires_at}
            return conn.execute(self._insert, params).first() is not None

    def purge(self, now: datetime) -> None:
        """Delete the nonces expired before ``now``."""
        with self._engine.begin() as conn:
            conn.execute(_PURGE_NONCES, {"now": now})


class _PostgresNonces(NonceStore):
    def __init__(self, engine: Engine) -> None:
        self._pool_engine = engine
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")  # the purge: one statement

    def insert(self, systemid: str, signature: str, expires_at: datetime) -> bool:
        params = {"systemid": systemid, "signature": signature, "expires_at": expires_at}
        return bool(run_on_driver(self._pool_engine, INSERT_NONCE_WITHOUT_WAITING_FOR_THE_WAL, params))


