"""Topic ``deliver``: one delivery row over its route (ARCHITECTURE.md, "The exchange", step 3).

Exactly once: the inbox entry *is* the delivery row, and a delivery is a conditional update ``pending →
delivered`` committed together with the message's ack. A message handed out again after a crash finds the
delivery already delivered and is only acknowledged. (The ``db://`` bus settles local deliveries inside its claim,
service/bus/db.py; this handler does the same for any it hands out, through the ``local`` transport.)

A transport whose hop is a network call (a VXP uplink) has a ``push(delivery_id) -> remote id`` method: it is
called *before* the delivery's transaction opens, so no database lock (SQLite's single write lock) is held
during the call, then the answer is recorded with the conditional update. ``push`` must be idempotent at the
remote: after a crash between the remote's answer and our commit the message is pushed again, and the remote
recognises the same package (service/vxp/uplink.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from service.bus.interfaces import Failed, Message
from service.exchange import log
from service.exchange.handlers.base import DeliveryError, Failure, Work
from service.observability import context
from storage.models import Delivery, OutboxMessage, utcnow

__all__ = ["DeliverHandler", "deliver_local"]


def deliver_local(_session: Session, delivery: Delivery) -> None:
    """The ``local`` route's transport: the delivery row is the recipient's inbox entry."""
    delivery.state = "delivered"
    delivery.delivered_at = utcnow()
    return None


class DeliverHandler:
    topic = "deliver"

    def handle(self, work: Work, messages: Sequence[Message]) -> list[Failure]:
        """One message after the other: each hop may be a network call with its own outcome."""
        failures = (self._one(work, message) for message in messages)
        return [failure for failure in failures if failure is not None]

    def on_failure(self, session: Session, failed: Failed, worker: str) -> None:
        """Count the attempt on the delivery row; at the end, the delivery is dead and the log says so."""
        delivery_id = failed.message.payload.get("delivery_id")
        delivery = session.get(Delivery, delivery_id) if delivery_id else None
        if delivery is None:
            return
        delivery.attempts += 1
        delivery.last_error = failed.error
        if not failed.dead:
            return
        delivery.state = "dead"
        package = delivery.package
        log.record(session, "dead", package_id=package.id, document_id=package.document_id,
                   agency=delivery.to_code, actor=f"worker:{worker}", error=failed.error, attempts=failed.attempts)

    def _one(self, work: Work, message: Message) -> Failure | None:
        try:
            pushed = _push(work, message.id)
        except DeliveryError as exc:
            return Failure(message.id, str(exc), exc.permanent)
        with work.gw.writes() as session, session.begin():
            row = session.get(OutboxMessage, message.id)
            if row is None or row.done_at is not None or row.locked_by != work.worker:
                return None  # completed already, or the lease went to another worker
            delivery = session.get(Delivery, row.payload.get("delivery_id"), with_for_update=True)
            if delivery is None or delivery.state != "pending":
                work.bus.ack([message.id], worker=work.worker, session=session)  # redelivered after success
                return None
            try:
                _hop(work, session, delivery, pushed)
            except DeliveryError as exc:
                error = str(exc) or "delivery failed"
            else:
                work.bus.ack([message.id], worker=work.worker, session=session)
                return None
        return Failure(message.id, error)


def _push(work: Work, message_id: int) -> str | None:
    """The network part of a hop, outside any transaction (see the module docstring); None if none."""
    with work.gw.sessions() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.topic != "deliver" or message.locked_by != work.worker:
            return None
        delivery = session.get(Delivery, message.payload.get("delivery_id"))
        if delivery is None or delivery.state != "pending":
            return None
        push = getattr(work.transports.get(delivery.route), "push", None)
        delivery_id, trace = delivery.id, message.payload.get("traceparent")
    if push is None:
        return None
    with context.continued(trace):  # the submitting request's trace, carried by the outbox row
        return str(push(delivery_id))


def _hop(work: Work, session: Session, delivery: Delivery, pushed: str | None) -> None:
    transport = work.transports.get(delivery.route)
    if transport is None:
        raise DeliveryError(f"no transport for route {delivery.route!r}")
    with session.begin_nested():
        if pushed is None:
            remote_id = transport(session, delivery)
        else:  # the network hop was done by push(): record it
            deliver_local(session, delivery)
            remote_id = pushed
    if remote_id:
        delivery.remote_doc_id = remote_id
    delivery.attempts += 1
    package = delivery.package
    log.record(session, "delivered", package_id=package.id, document_id=package.document_id,
               agency=delivery.to_code, actor=f"worker:{work.worker}", route=delivery.route, kind=package.kind,
               status_code=package.status_code)
