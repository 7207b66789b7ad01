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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.context import Gateway
from service.exchange import log
from service.routing import LOCAL
from storage.db import is_postgresql
from storage.models import Delivery, OutboxMessage, Package, utcnow

__all__ = ["DeliveryError", "DeliveryWorker", "Transport"]

logger = logging.getLogger("edoc.delivery")


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


@dataclass
class DeliveryWorker:
    gw: Gateway
    name: str = ""
    transports: dict[str, Transport] | None = None

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
        automatic = [message_id for message_id, topic in leased if topic == "auto_status"]
        if automatic:
            self._auto_statuses(automatic)
        checks = [message_id for message_id, topic in leased if topic == "verify_attachment"]
        if checks:
            self._verify_attachments(checks)
        for message_id, topic in leased:
            if topic not in ("auto_status", "verify_attachment"):
                self._process(message_id)
        return done + len(leased)

    def run_forever(self, stop: threading.Event) -> None:
        logger.info("delivery worker %s started", self.name)
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:  # keep the worker alive; the message is retried after its lease
                logger.exception("delivery worker %s: batch failed", self.name)
            self.gw.wakeup.wait(self.gw.settings.worker_poll_seconds)
            self.gw.wakeup.clear()
        logger.info("delivery worker %s stopped", self.name)

    def _claim(self, limit: int) -> tuple[int, list[tuple[int, str]]]:
        """In one transaction: take ready messages, deliver the local ones, lease the others.

        Returns (number of messages completed here, (id, topic) of the leased messages to process next).
        """
        now = utcnow()
        lease = timedelta(seconds=self.gw.settings.worker_lease_seconds)
        ready = (
            sa.select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.payload)
            .where(OutboxMessage.done_at.is_(None), OutboxMessage.available_at <= now)
            .where(sa.or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        with self.gw.writes() as session, session.begin():
            if is_postgresql(self.gw.engine):
                ready = ready.with_for_update(skip_locked=True)
            messages = session.execute(ready).all()
            if not messages:
                return 0, []
            completed = self._deliver_local_batch(session, [m for m in messages if m.topic == "deliver"], now)
            leased = [(m.id, m.topic) for m in messages if m.id not in completed]
            if leased:
                session.execute(
                    sa.update(OutboxMessage)
                    .where(OutboxMessage.id.in_([message_id for message_id, _topic in leased]))
                    .values(locked_until=now + lease, locked_by=self.name)
                )
        return len(completed), leased

    def _deliver_local_batch(self, session: Session, messages: list[Any], now: datetime) -> set[int]:
        """Mark pending local deliveries delivered and their messages done; returns the ids of those messages.

        A message whose delivery is no longer pending (a redelivery after a crash) is simply marked done.
        """
        by_delivery = {m.payload.get("delivery_id"): m.id for m in messages}
        if not by_delivery:
            return set()
        rows = session.execute(
            sa.select(Delivery.id, Delivery.state, Delivery.route, Delivery.to_code, Package.id, Package.document_id,
                      Package.kind, Package.status_code)
            .join(Package, Package.id == Delivery.package_id)
            .where(Delivery.id.in_(list(by_delivery)))
            .with_for_update(of=Delivery)
        ).all()
        local = [r for r in rows if r[2] == LOCAL and r[1] == "pending"]
        finished = {by_delivery[r[0]] for r in rows if r[2] == LOCAL or r[1] != "pending"}
        finished |= {mid for did, mid in by_delivery.items() if did not in {r[0] for r in rows}}
        if local:
            session.execute(
                sa.update(Delivery)
                .where(Delivery.id.in_([r[0] for r in local]), Delivery.state == "pending")
                .values(state="delivered", delivered_at=now, attempts=Delivery.attempts + 1, updated_at=now)
            )
            actor = f"worker:{self.name}"
            log.record_many(
                session,
                [
                    log.event("delivered", package_id=r[4], document_id=r[5], agency=r[3], actor=actor, route=LOCAL,
                              kind=r[6], status_code=r[7])
                    for r in local
                ],
            )
        if finished:
            session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(finished)).values(done_at=now))
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

    def _verify_attachments(self, message_ids: list[int]) -> None:
        """Verify the PDF signatures of received attachments, one batch (service/signatures.py)."""
        from service.signatures import verify_attachment_messages

        try:
            failures = verify_attachment_messages(self.gw, message_ids, worker=self.name)
        except Exception as exc:  # storage or network trouble: retried on the schedule, then buried
            logger.exception("verifying attachments (messages %s) failed", message_ids)
            failures = [(message_id, f"{exc.__class__.__name__}: {exc}") for message_id in message_ids]
        for message_id, error in failures:
            self._retry_or_bury(message_id, error)

    def _auto_statuses(self, message_ids: list[int]) -> None:
        """Send the statuses transport acks imply (01 đã đến), as the recipient agencies, exactly once."""
        from service.exchange.auto_status import send_automatic_statuses

        try:
            failures = send_automatic_statuses(self.gw, message_ids, worker=self.name)
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
