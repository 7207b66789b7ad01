"""The ``db://`` bus: the ``outbox`` table of the node's own database is the queue (the embedded tier's bus, and
the outbox a broker relay would drain).

- **publish** inserts a row in the caller's transaction (the transactional outbox: a submit's messages exist if
  and only if the submit committed).
- **claim** leases ready rows (``available_at`` reached, not done, lease free or expired) to one worker for
  ``EDOC_WORKER_LEASE_SECONDS``: on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` (claimers in other processes skip
  each other's rows), on SQLite under the database's single write lock. A claimer that dies leaves its lease to
  expire, and the message is claimed again.
- **ack** is a conditional update (still leased by this worker, not yet done), normally in the handler's own
  transaction, so a message is done exactly when its effect committed.
- **retry** counts the attempt and makes the message available again after ``retry_schedule[attempts - 1]``
  seconds; after the last delay it is **dead**: done, with its last error kept (``dead_letter`` does that at once).

One shortcut this backend takes because it *is* the database: a ``deliver`` message whose delivery is local
needs nothing outside the database, so the claim completes it in the claiming transaction (the delivery row is
the inbox entry: ``pending → delivered``, plus its ``delivered`` log event) and reports it as ``settled`` instead
of handing it out. On PostgreSQL the whole claim is one statement in autocommit: one round trip per round, which
is what a worker does all day on a busy node. A redelivered message whose delivery is no longer pending is simply
marked done. The deliver handler (service/exchange/handlers/deliver.py) does the same for a message a backend
without this shortcut hands out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.bus.interfaces import Claimed, Failed, Message
from service.exchange import log
from service.routing import LOCAL
from storage.db import autocommit, is_postgresql
from storage.models import DELIVERIES, OUTBOX, PACKAGES, OutboxMessage, utcnow

__all__ = ["DatabaseBus"]

# The claim's statements, built once (Core, on the plain tables: no ORM layers on the busiest loop of the node).
_O, _D, _P = OUTBOX.c, DELIVERIES.c, PACKAGES.c
_READY = (
    sa.select(_O.id, _O.topic, _O.payload)
    .where(_O.done_at.is_(None), _O.available_at <= sa.bindparam("now"))
    .where(sa.or_(_O.locked_until.is_(None), _O.locked_until < sa.bindparam("now")))
    .order_by(_O.id)
    .limit(sa.bindparam("limit"))
)

# PostgreSQL: the claiming transaction as ONE statement in autocommit (a statement is atomic): take ready messages
# (SKIP LOCKED: workers of other processes skip them), deliver the pending local deliveries with their log events,
# mark done the deliver messages that need nothing more (delivered here or before, or their delivery is gone), and
# lease the rest; the same rows as the SQLite path in DatabaseBus._claim_in_transaction. Answers the leased
# messages (id, topic, payload) and the completed ones (topic NULL).
_CLAIM_IN_ONE_STATEMENT = sa.text(
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
_LEASE = (
    sa.update(OUTBOX)
    .where(_O.id.in_(sa.bindparam("ids", expanding=True)))
    .values(locked_until=sa.bindparam("locked_until"), locked_by=sa.bindparam("locked_by"))
)
_DONE = sa.update(OUTBOX).where(_O.id.in_(sa.bindparam("ids", expanding=True))).values(done_at=sa.bindparam("now"))
_ACK = (
    sa.update(OUTBOX)
    .where(_O.id.in_(sa.bindparam("ids", expanding=True)), _O.locked_by == sa.bindparam("worker"),
           _O.done_at.is_(None))
    .values(done_at=sa.bindparam("now"))
    .returning(_O.id)
)
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


class DatabaseBus:
    """The outbox table as the bus (see the module docstring)."""

    def __init__(
        self, engine: Engine, writes: sessionmaker[Session], *, retry_schedule: Sequence[float],
        lease_seconds: float, url: str = "db://",
    ) -> None:
        self.url = url
        self._engine = engine
        self._writes = writes
        self._postgresql = is_postgresql(engine)
        self.retry_schedule = tuple(retry_schedule)
        self.lease = timedelta(seconds=lease_seconds)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DatabaseBus:
        """``db://``: the node's own database (``engine``, ``writes``) carries the queue; the URL takes no host."""
        if urlsplit(url).netloc:
            raise ValueError(f"{url!r}: the db:// bus uses the node's own database; write db:// alone")
        return cls(url=url, **options)

    def publish(self, session: Session, topic: str, payload: Mapping[str, Any]) -> None:
        session.execute(sa.insert(OUTBOX).values(topic=topic, payload=dict(payload)))

    def publish_many(self, session: Session, messages: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        if messages:
            session.execute(sa.insert(OUTBOX), [{"topic": t, "payload": dict(p)} for t, p in messages])

    def claim(self, limit: int, *, worker: str) -> Claimed:
        now = utcnow()
        if self._postgresql:
            params = {"now": now, "limit": limit, "lease_until": now + self.lease, "worker": worker,
                      "actor": f"worker:{worker}"}
            with autocommit(self._engine) as conn:
                rows = conn.execute(_CLAIM_IN_ONE_STATEMENT, params).all()
            leased = sorted((r for r in rows if r.topic is not None), key=lambda r: r.id)
            return Claimed(tuple(Message(r.id, r.topic, r.payload) for r in leased), len(rows) - len(leased))
        with self._writes() as session, session.begin():
            return self._claim_in_transaction(session, limit, worker, now)

    def _claim_in_transaction(self, session: Session, limit: int, worker: str, now: datetime) -> Claimed:
        """SQLite (one writer at a time): read the ready messages, settle the local deliveries, lease the rest."""
        ready = session.execute(_READY, {"now": now, "limit": limit}).all()
        if not ready:
            return Claimed(())
        settled = _settle_local_deliveries(session, [m for m in ready if m.topic == "deliver"], now, worker)
        leased = [m for m in ready if m.id not in settled]
        if leased:
            session.execute(_LEASE, {"ids": [m.id for m in leased], "locked_until": now + self.lease,
                                     "locked_by": worker})
        return Claimed(tuple(Message(m.id, m.topic, m.payload) for m in leased), len(settled))

    def ack(self, ids: Sequence[int], *, worker: str, session: Session | None = None) -> set[int]:
        if not ids:
            return set()
        params = {"ids": list(ids), "worker": worker, "now": utcnow()}
        if session is not None:
            return set(session.execute(_ACK, params).scalars())
        with self._writes() as own, own.begin():
            return set(own.execute(_ACK, params).scalars())

    def retry(self, session: Session, message_id: int, error: str) -> Failed | None:
        return self._fail(session, message_id, error, permanent=False)

    def dead_letter(self, session: Session, message_id: int, error: str) -> Failed | None:
        return self._fail(session, message_id, error, permanent=True)

    def _fail(self, session: Session, message_id: int, error: str, *, permanent: bool) -> Failed | None:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            return None
        row.attempts += 1
        row.last_error = error
        row.locked_until = None
        dead = permanent or row.attempts > len(self.retry_schedule)
        if dead:
            row.done_at = utcnow()
        else:
            row.available_at = utcnow() + timedelta(seconds=self.retry_schedule[row.attempts - 1])
        return Failed(Message(row.id, row.topic, dict(row.payload)), row.attempts, dead, error)


def _settle_local_deliveries(session: Session, messages: list[Any], now: datetime, worker: str) -> set[int]:
    """Mark pending local deliveries delivered and their messages done; returns the ids of those messages.

    A message whose delivery is no longer pending (a redelivery after a crash), or is gone, is simply marked done.
    """
    by_delivery = {m.payload.get("delivery_id"): m.id for m in messages}
    if not by_delivery:
        return set()
    rows = session.execute(_DELIVERIES_OF, {"ids": list(by_delivery)}).all()
    local = [r for r in rows if r.route == LOCAL and r.state == "pending"]
    finished = {by_delivery[r.id] for r in rows if r.route == LOCAL or r.state != "pending"}
    finished |= {mid for did, mid in by_delivery.items() if did not in {r.id for r in rows}}
    if local:
        session.execute(_DELIVERED, {"ids": [r.id for r in local], "now": now})
        actor = f"worker:{worker}"
        log.record_many(
            session,
            [
                log.event("delivered", package_id=r.package_id, document_id=r.document_id, agency=r.to_code,
                          actor=actor, route=LOCAL, kind=r.kind, status_code=r.status_code)
                for r in local
            ],
        )
    if finished:
        session.execute(_DONE, {"ids": list(finished), "now": now})
    return finished
