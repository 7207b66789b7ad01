"""The delivery worker: drains the outbox, routes each delivery, retries with backoff, dead-letters at the end.

Exactly once: the inbox entry *is* the delivery row, and a local delivery is a conditional update
``pending → delivered`` committed together with marking the outbox message done. A message redelivered after a
crash (its lease expired) finds the delivery already delivered and only marks itself done. Several workers (in
several processes) can run against one PostgreSQL: claiming uses ``FOR UPDATE SKIP LOCKED`` and a lease.

A transport whose hop is a network call (a VXP uplink) has a ``push(delivery_id) -> remote id`` method: the
worker calls it *before* opening the delivery's transaction, so no database lock (SQLite's single write lock) is
held during the call, then records the answer with the conditional ``pending → delivered`` update. ``push`` must
be idempotent at the remote: after a crash between the remote's answer and our commit the message is pushed
again, and the remote recognises the same package (service/vxp/uplink.py).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.context import Gateway
from service.exchange import log
from service.routing import LOCAL
from storage.db import autocommit, is_postgresql
from storage.models import DELIVERIES, OUTBOX, PACKAGES, Delivery, OutboxMessage, utcnow

__all__ = ["DeliveryError", "DeliveryWorker", "Transport"]

logger = logging.getLogger("edoc.delivery")


# The worker's statements, built once (Core, on the plain tables: no ORM layers on the busiest loop of the node).
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
# lease the rest; the same rows as the general path in DeliveryWorker._claim. Answers the leased messages (id,
# topic, payload) and the completed ones (topic NULL). One round trip instead of seven per round, which is what a
# worker does all day on a busy node.
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


class DeliveryError(Exception):
    """A hop failed; the message is retried on the schedule, unless ``permanent`` (a refusal that a retry cannot
    change, e.g. the remote node answered that the package is invalid there): then it is dead at once."""

    def __init__(self, *args: object, permanent: bool = False) -> None:
        super().__init__(*args)
        self.permanent = permanent


# A transport delivers one delivery row over one route; returns an optional remote id.
Transport = Callable[[Session, Delivery], str | None]


def _deliver_local(_session: Session, delivery: Delivery) -> None:
    delivery.state = "delivered"
    delivery.delivered_at = utcnow()
    return None


# Completed outbox messages are deleted once past EDOC_OUTBOX_RETENTION_DAYS: the outbox is the node's queue, not
# its record (the delivery rows, status history and exchange log are), and at 100 documents/s it gains about 500
# rows a second, each of which the claim's index, vacuum and backups would otherwise carry for ever.
PURGE_EVERY_SECONDS = 300.0
PURGE_BATCH = 5000
_PURGEABLE = sa.select(_O.id).where(_O.done_at < sa.bindparam("cutoff")).limit(sa.bindparam("limit"))
_PURGE = sa.delete(OUTBOX).where(_O.id.in_(_PURGEABLE.scalar_subquery()))


def purge_outbox(gw: Gateway, *, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the messages that completed (delivered, or dead) more than the retention ago, ``batch`` per
    transaction so that no transaction grows with the backlog; returns how many. Messages not completed are never
    touched, whatever their age. Several workers may purge at once: a row one of them deleted is skipped by the
    others."""
    days = gw.settings.outbox_retention_days
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    total = 0
    while True:
        with gw.writes() as session, session.begin():
            result: Any = session.execute(_PURGE, {"cutoff": cutoff, "limit": batch})
            deleted = int(result.rowcount or 0)
        total += deleted
        if deleted < batch:
            return total


@dataclass
class DeliveryWorker:
    gw: Gateway
    name: str = ""
    transports: dict[str, Transport] | None = None
    _next_purge: float = field(default=0.0, init=False, repr=False)  # time.monotonic(); 0: at the first idle round

    def __post_init__(self) -> None:
        self.name = self.name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.transports = {LOCAL: _deliver_local, **self.gw.uplink_transports, **(self.transports or {})}

    def run_once(self, limit: int | None = None) -> int:
        """Claim and process up to ``limit`` ready messages; returns how many were processed.

        Local deliveries are completed inside the claiming transaction itself (one commit per batch); automatic
        statuses are sent as one batch (service/exchange/auto_status.py), attachment checks as another
        (service/signatures.py); the rest (remote hops) are leased and processed one by one.
        """
        done, leased = self._claim(limit or self.gw.settings.worker_batch)
        automatic = {m.id: m.payload for m in leased if m.topic == "auto_status"}
        if automatic:
            self._auto_statuses(list(automatic), automatic)
        checks = {m.id: m.payload for m in leased if m.topic == "verify_attachment"}
        if checks:
            self._verify_attachments(list(checks), checks)
        for message in leased:
            if message.topic not in ("auto_status", "verify_attachment"):
                self._process(message.id)
        return done + len(leased)

    def run_forever(self, stop: threading.Event) -> None:
        """Claim rounds until ``stop``: at once after a full batch (more is waiting), else after a pause.

        The pause (``worker_poll_seconds``, cut short by a wakeup that comes after the round) applies after every
        round that did not fill its batch, including one that did some work: a round's statements and commits
        cost the same for 3 messages as for 30, so under a steady load a worker that claimed again at once ran
        rounds of a few messages each. With the pause the rounds fill up: at saturation on PostgreSQL, 14-19
        messages per transaction instead of 7-9, and the worker process used 4.4-4.7 ms of CPU per document
        instead of 5.0-6.8 (bench/exchange.py, paired runs). A document waits at most one pause longer.
        """
        logger.info("delivery worker %s started", self.name)
        full = self.gw.settings.worker_batch
        while not stop.is_set():
            try:
                if self.run_once() >= full:
                    continue
            except Exception:  # keep the worker alive; the message is retried after its lease
                logger.exception("delivery worker %s: batch failed", self.name)
            self._purge_when_due()
            self.gw.wakeup.clear()  # what the round itself signalled is claimed after the pause
            self.gw.wakeup.wait(self.gw.settings.worker_poll_seconds)
            self.gw.wakeup.clear()
        logger.info("delivery worker %s stopped", self.name)

    def _purge_when_due(self) -> None:
        """Every :data:`PURGE_EVERY_SECONDS`, after a round that did not fill its batch (not while a backlog
        waits), delete the completed messages past their retention (:func:`purge_outbox`)."""
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY_SECONDS
        try:
            purged = purge_outbox(self.gw)
        except Exception:  # tried again at the next due time; delivery goes on
            logger.exception("delivery worker %s: outbox purge failed", self.name)
            return
        if purged:
            logger.info("delivery worker %s: deleted %d completed outbox messages past their retention",
                        self.name, purged)

    def _claim(self, limit: int) -> tuple[int, list[Any]]:
        """In one transaction: take ready messages, deliver the local ones, lease the others.

        Returns (number of messages completed here, the leased messages (id, topic, payload) to process next).
        """
        now = utcnow()
        lease = timedelta(seconds=self.gw.settings.worker_lease_seconds)
        if is_postgresql(self.gw.engine):
            params = {"now": now, "limit": limit, "lease_until": now + lease, "worker": self.name,
                      "actor": f"worker:{self.name}"}
            with autocommit(self.gw.engine) as conn:
                rows = conn.execute(_CLAIM_IN_ONE_STATEMENT, params).all()
            leased = sorted((r for r in rows if r.topic is not None), key=lambda r: r.id)
            return len(rows) - len(leased), leased
        with self.gw.writes() as session, session.begin():
            ready = _READY
            messages = session.execute(ready, {"now": now, "limit": limit}).all()
            if not messages:
                return 0, []
            completed = self._deliver_local_batch(session, [m for m in messages if m.topic == "deliver"], now)
            leased = [m for m in messages if m.id not in completed]
            if leased:
                session.execute(
                    _LEASE, {"ids": [m.id for m in leased], "locked_until": now + lease, "locked_by": self.name}
                )
        return len(completed), leased

    def _deliver_local_batch(self, session: Session, messages: list[Any], now: datetime) -> set[int]:
        """Mark pending local deliveries delivered and their messages done; returns the ids of those messages.

        A message whose delivery is no longer pending (a redelivery after a crash) is simply marked done.
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
            actor = f"worker:{self.name}"
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

    def _process(self, message_id: int) -> None:
        with self.gw.sessions() as session:
            message = session.get(OutboxMessage, message_id)
            topic = message.topic if message is not None else None
        if topic == "auto_status":
            self._auto_statuses([message_id])
            return
        if topic == "verify_attachment":  # PDF signatures of a received attachment (service/signatures.py)
            self._verify_attachments([message_id])
            return
        error: str | None = None
        try:
            pushed = self._push(message_id)
        except DeliveryError as exc:
            self._retry_or_bury(message_id, str(exc), permanent=exc.permanent)
            return
        with self.gw.writes() as session, session.begin():
            message = session.get(OutboxMessage, message_id)
            if message is None or message.done_at is not None or message.locked_by != self.name:
                return
            delivery = session.get(Delivery, message.payload.get("delivery_id"), with_for_update=True)
            if delivery is None or delivery.state != "pending":
                message.done_at = utcnow()  # redelivered after success, or the row is gone: nothing to do
                return
            try:
                self._hop(session, delivery, pushed)
                message.done_at = utcnow()
                return
            except DeliveryError as exc:
                error = str(exc)
        self._retry_or_bury(message_id, error or "delivery failed")

    def _verify_attachments(self, message_ids: list[int], payloads: dict[int, Any] | None = None) -> None:
        """Verify the PDF signatures of received attachments, one batch (service/signatures.py)."""
        from service.signatures import verify_attachment_messages

        try:
            failures = verify_attachment_messages(self.gw, message_ids, worker=self.name, payloads=payloads)
        except Exception as exc:  # storage or network trouble: retried on the schedule, then buried
            logger.exception("verifying attachments (messages %s) failed", message_ids)
            failures = [(message_id, f"{exc.__class__.__name__}: {exc}") for message_id in message_ids]
        for message_id, error in failures:
            self._retry_or_bury(message_id, error)

    def _auto_statuses(self, message_ids: list[int], payloads: dict[int, Any] | None = None) -> None:
        """Send the statuses transport acks imply (01 đã đến), as the recipient agencies, exactly once."""
        from service.exchange.auto_status import send_automatic_statuses

        try:
            failures = send_automatic_statuses(self.gw, message_ids, worker=self.name, payloads=payloads)
        except Exception as exc:  # the batch's transaction failed: every message is retried on the schedule
            logger.exception("automatic statuses failed")
            failures = [(message_id, f"{exc.__class__.__name__}: {exc}") for message_id in message_ids]
        for message_id, error in failures:
            self._retry_or_bury(message_id, error)

    def _push(self, message_id: int) -> str | None:
        """The network part of a hop, outside any transaction (see the module docstring); None if none."""
        assert self.transports is not None
        with self.gw.sessions() as session:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.topic != "deliver" or message.locked_by != self.name:
                return None
            delivery = session.get(Delivery, message.payload.get("delivery_id"))
            if delivery is None or delivery.state != "pending":
                return None
            push = getattr(self.transports.get(delivery.route), "push", None)
            delivery_id = delivery.id
        return None if push is None else str(push(delivery_id))

    def _hop(self, session: Session, delivery: Delivery, pushed: str | None = None) -> None:
        assert self.transports is not None
        transport = self.transports.get(delivery.route)
        if transport is None:
            raise DeliveryError(f"no transport for route {delivery.route!r}")
        with session.begin_nested():
            if pushed is None:
                remote_id = transport(session, delivery)
            else:  # the network hop was done by push(): record it
                _deliver_local(session, delivery)
                remote_id = pushed
        if remote_id:
            delivery.remote_doc_id = remote_id
        delivery.attempts += 1
        package = delivery.package
        log.record(
            session,
            "delivered",
            package_id=package.id,
            document_id=package.document_id,
            agency=delivery.to_code,
            actor=f"worker:{self.name}",
            route=delivery.route,
            kind=package.kind,
            status_code=package.status_code,
        )

    def _retry_or_bury(self, message_id: int, error: str, *, permanent: bool = False) -> None:
        schedule = self.gw.settings.retry_schedule
        with self.gw.writes() as session, session.begin():
            message = session.get(OutboxMessage, message_id)
            if message is None:
                return
            delivery_id = message.payload.get("delivery_id") if message.topic == "deliver" else None
            delivery = session.get(Delivery, delivery_id) if delivery_id else None
            message.attempts += 1
            message.last_error = error
            message.locked_until = None
            if delivery is not None:
                delivery.attempts += 1
                delivery.last_error = error
            if permanent or message.attempts > len(schedule):
                message.done_at = utcnow()
                if delivery is not None:
                    delivery.state = "dead"
                    package = delivery.package
                    log.record(
                        session,
                        "dead",
                        package_id=package.id,
                        document_id=package.document_id,
                        agency=delivery.to_code,
                        actor=f"worker:{self.name}",
                        error=error,
                        attempts=message.attempts,
                    )
                logger.error("delivery %s is dead after %d attempts: %s", message.payload, message.attempts, error)
                return
            message.available_at = utcnow() + timedelta(seconds=schedule[message.attempts - 1])
            logger.warning("delivery %s failed (attempt %d), retrying: %s", message.payload, message.attempts, error)
