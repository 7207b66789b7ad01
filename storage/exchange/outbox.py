"""The outbox table: the node's queue of work, as storage (the transactional outbox).

Producers insert messages in the transaction that makes the work necessary (:func:`insert_messages`), so a
message exists if and only if its cause committed. What drains the table depends on the bus (``EDOC_BUS_URL``):
the ``db://`` bus claims it directly (:meth:`OutboxStore.claim`, :meth:`OutboxStore.ack`, :func:`retry`,
:func:`dead_letter`); a broker backend's relay would drain it to the broker (docs/architecture.md, "The bus and
the outbox"). Completed messages are deleted after their retention (:func:`purge`).

The claim is the one statement that differs by dialect, so it lives here in both variants, and the variant is
chosen once, when the store is built (:meth:`OutboxStore.for_engine`), never per call:

- **PostgreSQL** (:class:`PostgresOutbox`): one data-modifying statement in autocommit, one round trip per round
  (a worker claims all day on a busy node): ready messages taken ``FOR UPDATE SKIP LOCKED`` (claimers in other
  processes skip each other's rows), pending local deliveries settled with their log events, the rest leased.
- **SQLite** (:class:`SqliteOutbox`): the same rows in one transaction under the database's single write lock
  (``BEGIN IMMEDIATE``): read the ready messages, settle the local deliveries, lease the rest.

The shortcut both take: a ``deliver`` message whose delivery is local needs nothing outside the database, so the
claim completes it (the delivery row is the inbox entry: ``pending → delivered``, plus its ``delivered`` event)
and counts it as settled instead of handing it out. A message whose delivery is no longer pending (redelivered
after a crash) or gone is simply marked done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.db import autocommit, is_postgresql
from storage.models import DELIVERIES, EVENTS, OUTBOX, PACKAGES, utcnow

__all__ = [
    "CLAIM_IN_ONE_STATEMENT",
    "LOCAL_ROUTE",
    "READY",
    "Claim",
    "DeadLetter",
    "Failure",
    "OutboxStore",
    "Outgoing",
    "PostgresOutbox",
    "RowState",
    "SqliteOutbox",
    "StoredMessage",
    "claim_parameters",
    "count_dead_letters",
    "dead_letter",
    "dead_letters",
    "insert_messages",
    "lease",
    "mark_published",
    "publishable",
    "purge",
    "requeue",
    "retry",
    "row_states",
]

#: The route of a delivery to this node's own inbox (``delivery.route``; service/routing.py ``LOCAL``).
LOCAL_ROUTE = "local"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    topic: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim: the messages leased to the claimer (id order), and how many it completed itself."""

    leased: tuple[StoredMessage, ...]
    settled: int = 0


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt as recorded: ``dead`` when the message will never be handed out again."""

    message: StoredMessage
    attempts: int
    dead: bool
    error: str


_O, _D, _P = OUTBOX.c, DELIVERIES.c, PACKAGES.c

# --- writes any producer makes, in its own transaction --------------------------------------------------------

_INSERT = sa.insert(OUTBOX)


def insert_messages(session: Session, messages: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Queue ``(topic, payload)`` messages, in this order, in ``session``'s transaction (one executemany)."""
    if messages:
        session.execute(_INSERT, [{"topic": topic, "payload": dict(payload)} for topic, payload in messages])


def retry(session: Session, message_id: int, error: str, *, schedule: Sequence[float]) -> Failure | None:
    """Count a failed attempt: the message comes back after ``schedule[attempts - 1]`` seconds, or is dead (done,
    its last error kept) once the schedule is exhausted; None if the message is gone."""
    return _fail(session, message_id, error, schedule=schedule, permanent=False)


def dead_letter(session: Session, message_id: int, error: str) -> Failure | None:
    """Count a failed attempt that no retry can cure: the message is dead at once; None if it is gone."""
    return _fail(session, message_id, error, schedule=(), permanent=True)


_ROW = sa.select(_O.id, _O.topic, _O.payload, _O.attempts).where(_O.id == sa.bindparam("id")).with_for_update()


def _fail(session: Session, message_id: int, error: str, *, schedule: Sequence[float],
          permanent: bool) -> Failure | None:
    row = session.execute(_ROW, {"id": message_id}).first()
    if row is None:
        return None
    now, attempts = utcnow(), row.attempts + 1
    dead = permanent or attempts > len(schedule)
    # published_at NULL: a broker bus's relay publishes the message again once it is due (nothing with db://).
    values: dict[str, Any] = {"attempts": attempts, "last_error": error, "locked_until": None, "published_at": None}
    if dead:
        values["done_at"] = values["dead_at"] = now
    else:
        values["available_at"] = now + timedelta(seconds=schedule[attempts - 1])
    session.execute(sa.update(OUTBOX).where(_O.id == message_id).values(values))
    return Failure(StoredMessage(row.id, row.topic, dict(row.payload)), attempts, dead, error)


def purge(writes: sessionmaker[Session], cutoff: datetime, *, batch: int) -> int:
    """Delete the messages completed before ``cutoff``, ``batch`` per transaction of ``writes`` (no transaction
    grows with the backlog); how many. Messages not completed are never touched, whatever their age. Several
    purges may run at once: a row one of them deleted is skipped by the others."""
    total = 0
    while True:
        with writes() as session, session.begin():
            result: Any = session.execute(_PURGE, {"cutoff": cutoff, "limit": batch})
            deleted = int(result.rowcount or 0)
        total += deleted
        if deleted < batch:
            return total


_PURGEABLE = sa.select(_O.id).where(_O.done_at < sa.bindparam("cutoff")).limit(sa.bindparam("limit"))
_PURGE = sa.delete(OUTBOX).where(_O.id.in_(_PURGEABLE.scalar_subquery()))


# --- the store: claim (per dialect) and ack -------------------------------------------------------------

#: The ready messages in id order (the partial index ``ix_outbox_pending``, migration 0004, serves it).
READY = (
    sa.select(_O.id, _O.topic, _O.payload)
    .where(_O.done_at.is_(None), _O.available_at <= sa.bindparam("now"))
    .where(sa.or_(_O.locked_until.is_(None), _O.locked_until < sa.bindparam("now")))
    .order_by(_O.id)
    .limit(sa.bindparam("limit"))
)
_ACK = (
    sa.update(OUTBOX)
    .where(_O.id.in_(sa.bindparam("ids", expanding=True)), _O.locked_by == sa.bindparam("worker"),
           _O.done_at.is_(None))
    .values(done_at=sa.bindparam("now"))
    .returning(_O.id)
)


class OutboxStore:
    """The outbox of one database; build it with :meth:`for_engine`, which picks the dialect's claim."""

    def __init__(self, engine: Engine, writes: sessionmaker[Session]) -> None:
        self._engine = engine
        self._writes = writes

    @staticmethod
    def for_engine(engine: Engine, writes: sessionmaker[Session]) -> OutboxStore:
        """The store for ``engine``'s dialect; ``writes`` makes writer sessions (storage.db.writer_session_factory)."""
        cls = PostgresOutbox if is_postgresql(engine) else SqliteOutbox
        return cls(engine, writes)

    def claim(self, limit: int, *, worker: str, lease: timedelta) -> Claim:
        """Lease up to ``limit`` ready messages to ``worker`` until ``lease`` from now, settling local deliveries
        on the way (module docstring)."""
        raise NotImplementedError

    def ack(self, ids: Sequence[int], *, worker: str, session: Session | None = None) -> set[int]:
        """Mark done the messages of ``ids`` still leased by ``worker`` and not done; their ids. In ``session``'s
        transaction when given (the handler's effect and the ack commit together), else in one of its own."""
        if not ids:
            return set()
        params = {"ids": list(ids), "worker": worker, "now": utcnow()}
        if session is not None:
            return set(session.execute(_ACK, params).scalars())
        with self._writes() as own, own.begin():
            return set(own.execute(_ACK, params).scalars())


# PostgreSQL: the claiming transaction as ONE statement in autocommit (a statement is atomic): take ready messages
# (SKIP LOCKED: workers of other processes skip them), deliver the pending local deliveries with their log events,
# mark done the deliver messages that need nothing more (delivered here or before, or their delivery is gone), and
# lease the rest; the same rows as SqliteOutbox.claim. Answers the leased messages (id, topic, payload) and the
# completed ones (topic NULL).
CLAIM_IN_ONE_STATEMENT = sa.text(
    """
    WITH ready AS (
        SELECT id, topic, payload, payload->>'delivery_id' AS delivery_id
        FROM outbox
        WHERE done_at IS NULL AND available_at <= :now AND (locked_until IS NULL OR locked_until < :now)
        ORDER BY id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), targets AS (
        SELECT r.id AS message_id, d.id AS delivery_id, d.route, d.state
        FROM ready AS r JOIN delivery AS d ON d.id = r.delivery_id
        WHERE r.topic = 'deliver'
        FOR UPDATE OF d
    ), delivered AS (
        UPDATE delivery
        SET state = 'delivered', delivered_at = :now, attempts = delivery.attempts + 1, updated_at = :now
        FROM targets AS t
        WHERE delivery.id = t.delivery_id AND t.route = 'local' AND t.state = 'pending'
        RETURNING delivery.package_id, delivery.to_code
    ), logged AS (
        INSERT INTO exchange_event (at, kind, package_id, document_id, agency_code, actor, detail)
        SELECT :now, 'delivered', dl.package_id, p.document_id, dl.to_code, :actor,
               json_strip_nulls(json_build_object('route', 'local', 'kind', p.kind, 'status_code', p.status_code))
        FROM delivered AS dl JOIN package AS p ON p.id = dl.package_id
    ), completed AS (
        UPDATE outbox SET done_at = :now
        FROM ready AS r LEFT JOIN targets AS t ON t.message_id = r.id
        WHERE outbox.id = r.id AND r.topic = 'deliver'
          AND (t.delivery_id IS NULL OR t.route = 'local' OR t.state <> 'pending')
        RETURNING outbox.id
    ), leased AS (
        UPDATE outbox SET locked_until = :lease_until, locked_by = :worker
        FROM ready AS r LEFT JOIN targets AS t ON t.message_id = r.id
        WHERE outbox.id = r.id
          AND NOT (r.topic = 'deliver' AND (t.delivery_id IS NULL OR t.route = 'local' OR t.state <> 'pending'))
        RETURNING outbox.id, outbox.topic, outbox.payload
    )
    SELECT id, topic, payload FROM leased
    UNION ALL
    SELECT id, NULL, NULL FROM completed
    """
)


def claim_parameters(limit: int, *, worker: str, lease: timedelta, now: datetime) -> dict[str, Any]:
    """The parameters of :data:`CLAIM_IN_ONE_STATEMENT` (also for tests that EXPLAIN it)."""
    return {"now": now, "limit": limit, "lease_until": now + lease, "worker": worker, "actor": f"worker:{worker}"}


class PostgresOutbox(OutboxStore):
    """PostgreSQL: the claim is :data:`CLAIM_IN_ONE_STATEMENT` in autocommit."""

    def claim(self, limit: int, *, worker: str, lease: timedelta) -> Claim:
        params = claim_parameters(limit, worker=worker, lease=lease, now=utcnow())
        with autocommit(self._engine) as conn:
            rows = conn.execute(CLAIM_IN_ONE_STATEMENT, params).all()
        leased = sorted((r for r in rows if r.topic is not None), key=lambda r: r.id)
        return Claim(tuple(StoredMessage(r.id, r.topic, r.payload) for r in leased), len(rows) - len(leased))


_LEASE = (
    sa.update(OUTBOX)
    .where(_O.id.in_(sa.bindparam("ids", expanding=True)))
    .values(locked_until=sa.bindparam("locked_until"), locked_by=sa.bindparam("locked_by"))
)
_DONE = sa.update(OUTBOX).where(_O.id.in_(sa.bindparam("ids", expanding=True))).values(done_at=sa.bindparam("now"))
_DELIVERIES_OF = (
    sa.select(_D.id, _D.state, _D.route, _D.to_code, _D.package_id, _P.document_id, _P.kind, _P.status_code)
    .select_from(DELIVERIES.join(PACKAGES, _P.id == _D.package_id))
    .where(_D.id.in_(sa.bindparam("ids", expanding=True)))
    .with_for_update(of=DELIVERIES)
)
_DELIVERED = (
    sa.update(DELIVERIES)
    .where(_D.id.in_(sa.bindparam("ids", expanding=True)), _D.state == "pending")
    .values(state="delivered", delivered_at=sa.bindparam("now"), attempts=_D.attempts + 1,
            updated_at=sa.bindparam("now"))
)
_LOG = sa.insert(EVENTS)


class SqliteOutbox(OutboxStore):
    """SQLite (one writer at a time): the claim is one ``BEGIN IMMEDIATE`` transaction of a few statements."""

    def claim(self, limit: int, *, worker: str, lease: timedelta) -> Claim:
        now = utcnow()
        with self._writes() as session, session.begin():
            ready = session.execute(READY, {"now": now, "limit": limit}).all()
            if not ready:
                return Claim(())
            settled = _settle_local_deliveries(session, [m for m in ready if m.topic == "deliver"], now, worker)
            leased = [m for m in ready if m.id not in settled]
            if leased:
                session.execute(_LEASE, {"ids": [m.id for m in leased], "locked_until": now + lease,
                                         "locked_by": worker})
        return Claim(tuple(StoredMessage(m.id, m.topic, m.payload) for m in leased), len(settled))


def _settle_local_deliveries(session: Session, messages: list[Any], now: datetime, worker: str) -> set[int]:
    """Mark pending local deliveries delivered (with their ``delivered`` events) and their messages done; the ids
    of the messages completed, including those whose delivery is no longer pending or is gone."""
    by_delivery = {m.payload.get("delivery_id"): m.id for m in messages}
    if not by_delivery:
        return set()
    rows = session.execute(_DELIVERIES_OF, {"ids": list(by_delivery)}).all()
    local = [r for r in rows if r.route == LOCAL_ROUTE and r.state == "pending"]
    finished = {by_delivery[r.id] for r in rows if r.route == LOCAL_ROUTE or r.state != "pending"}
    finished |= {mid for did, mid in by_delivery.items() if did not in {r.id for r in rows}}
    if local:
        session.execute(_DELIVERED, {"ids": [r.id for r in local], "now": now})
        session.execute(_LOG, [_delivered_event(r, now, worker) for r in local])
    if finished:
        session.execute(_DONE, {"ids": list(finished), "now": now})
    return finished


def _delivered_event(row: Any, now: datetime, worker: str) -> dict[str, Any]:
    """The ``delivered`` event of a local delivery, as service/exchange/log.py writes it."""
    detail = {"route": LOCAL_ROUTE, "kind": row.kind, "status_code": row.status_code}
    return {"at": now, "kind": "delivered", "package_id": row.package_id, "document_id": row.document_id,
            "agency_code": row.to_code, "actor": f"worker:{worker}",
            "detail": {k: v for k, v in detail.items() if v is not None}}


# --- a broker bus's relay and consumers (service/bus/amqp.py) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message the relay has to publish; ``key`` orders it (a ``deliver`` message: its recipient's code)."""

    id: int
    topic: str
    payload: Mapping[str, Any]
    key: str


_PUBLISHABLE = (
    sa.select(_O.id, _O.topic, _O.payload)
    .where(_O.done_at.is_(None), _O.published_at.is_(None), _O.available_at <= sa.bindparam("now"))
    .order_by(_O.id)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_RECIPIENTS = sa.select(_D.id, _D.to_code).where(_D.id.in_(sa.bindparam("ids", expanding=True)))
_PUBLISHED = (
    sa.update(OUTBOX).where(_O.id.in_(sa.bindparam("ids", expanding=True)), _O.published_at.is_(None))
    .values(published_at=sa.bindparam("now"))
)


def publishable(session: Session, limit: int) -> list[Outgoing]:
    """The due messages not yet published, in id order, locked in ``session``'s transaction (PostgreSQL: ``SKIP
    LOCKED``, so relays of several processes take different rows); keyed by recipient where they deliver."""
    rows = session.execute(_PUBLISHABLE, {"now": utcnow(), "limit": limit}).all()
    wanted = {r.payload.get("delivery_id") for r in rows if r.topic == "deliver"} - {None}
    to = {r.id: r.to_code for r in session.execute(_RECIPIENTS, {"ids": list(wanted)})} if wanted else {}
    return [Outgoing(r.id, r.topic, r.payload, to.get(r.payload.get("delivery_id")) or str(r.id)) for r in rows]


def mark_published(session: Session, ids: Sequence[int]) -> None:
    """The broker confirmed these messages (a retry that comes due makes a message publishable again)."""
    if ids:
        session.execute(_PUBLISHED, {"ids": list(ids), "now": utcnow()})


@dataclass(frozen=True, slots=True)
class RowState:
    """Where a message handed out by a broker stands in the database (the outbox row is the truth)."""

    id: int
    done: bool
    dead: bool
    attempts: int
    locked_by: str | None


_STATES = (
    sa.select(_O.id, _O.done_at, _O.dead_at, _O.attempts, _O.locked_by)
    .where(_O.id.in_(sa.bindparam("ids", expanding=True)))
)


def row_states(session: Session, ids: Sequence[int]) -> dict[int, RowState]:
    """The state of each message of ``ids`` that still exists."""
    if not ids:
        return {}
    rows = session.execute(_STATES, {"ids": list(ids)}).all()
    return {r.id: RowState(r.id, r.done_at is not None, r.dead_at is not None, r.attempts, r.locked_by)
            for r in rows}


_LEASE_HANDED_OUT = (
    sa.update(OUTBOX)
    .where(_O.id.in_(sa.bindparam("ids", expanding=True)), _O.done_at.is_(None))
    .values(locked_until=sa.bindparam("locked_until"), locked_by=sa.bindparam("locked_by"))
    .returning(_O.id, _O.attempts)
)


def lease(session: Session, ids: Sequence[int], *, worker: str, until: datetime) -> dict[int, int]:
    """Lease to ``worker`` the messages a broker handed it (the broker gives a message to one consumer at a time,
    so an earlier lease is taken over); the attempts so far of each not done, by id."""
    if not ids:
        return {}
    params = {"ids": list(ids), "locked_until": until, "locked_by": worker}
    return {r.id: r.attempts for r in session.execute(_LEASE_HANDED_OUT, params)}


# --- dead letters, for both buses (the admin API and ``edoc dead-letters``) ---------------------------------------


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    topic: str
    payload: Mapping[str, Any]
    attempts: int
    last_error: str | None
    created_at: datetime
    dead_at: datetime


_DEAD = (
    sa.select(_O.id, _O.topic, _O.payload, _O.attempts, _O.last_error, _O.created_at, _O.dead_at)
    .where(_O.dead_at.is_not(None))
    .order_by(_O.dead_at.desc(), _O.id.desc())
    .offset(sa.bindparam("offset"))
    .limit(sa.bindparam("limit"))
)
_DEAD_COUNT = sa.select(sa.func.count()).select_from(OUTBOX).where(_O.dead_at.is_not(None))


def dead_letters(session: Session, *, offset: int, limit: int) -> list[DeadLetter]:
    """The dead messages, the latest death first."""
    rows = session.execute(_DEAD, {"offset": offset, "limit": limit}).all()
    return [DeadLetter(r.id, r.topic, r.payload, r.attempts, r.last_error, r.created_at, r.dead_at) for r in rows]


def count_dead_letters(session: Session) -> int:
    return int(session.execute(_DEAD_COUNT).scalar_one())


_DEAD_ROW = (
    sa.select(_O.id, _O.topic, _O.payload).where(_O.id == sa.bindparam("id"), _O.dead_at.is_not(None))
    .with_for_update()
)
_REQUEUE = (
    sa.update(OUTBOX).where(_O.id == sa.bindparam("message_id"))
    .values(dead_at=None, done_at=None, published_at=None, locked_until=None, locked_by=None, attempts=0,
            available_at=sa.bindparam("now"))
)
_DEAD_DELIVERY_BACK = (
    sa.update(DELIVERIES).where(_D.id == sa.bindparam("delivery_id"), _D.state == "dead")
    .values(state="pending", updated_at=sa.bindparam("now"))
)


def requeue(session: Session, message_id: int) -> StoredMessage | None:
    """Make a dead message due again with a fresh retry schedule (and its dead delivery pending again); None if
    no dead message has that id."""
    row = session.execute(_DEAD_ROW, {"id": message_id}).first()
    if row is None:
        return None
    now = utcnow()
    session.execute(_REQUEUE, {"message_id": message_id, "now": now})
    if row.topic == "deliver" and row.payload.get("delivery_id"):
        session.execute(_DEAD_DELIVERY_BACK, {"delivery_id": row.payload["delivery_id"], "now": now})
    return StoredMessage(row.id, row.topic, dict(row.payload))
