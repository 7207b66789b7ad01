"""The delivery worker: a loop that claims messages from the bus and hands each to its topic's handler.

One round: claim up to ``EDOC_WORKER_BATCH`` messages from the bus (``EDOC_BUS_URL``, service/bus/), group them
by topic, run the handler registered for each topic (service/exchange/handlers/: deliver, auto_status,
verify_attachment), and record every failure on the bus: retried after the next delay of ``EDOC_RETRY_SCHEDULE``,
dead-lettered after the last one, in one transaction with the handler's own bookkeeping (a dead delivery, its
``dead`` log event). A new topic is one handler file (see that package's docstring); this loop does not change.

Exactly once where it matters: the inbox entry *is* the delivery row, handlers acknowledge a message in the
transaction of its effect, and a message handed out again (its lease expired after a crash) finds the effect
there and is only acknowledged. Several workers (in several processes) can run against one PostgreSQL: the
``db://`` bus claims with ``FOR UPDATE SKIP LOCKED`` and a lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.archive.archiving import sweep as archive_sweep
from service.archive.fixity import audit_due
from service.bus.interfaces import Bus, Failed, Message
from service.context import Gateway
from service.exchange.handlers import HANDLERS, DeliveryError, Failure, Handler, Transport, Work, deliver_local
from service.exchange.tlog import log_service
from service.routing import LOCAL
from storage.exchange import outbox
from storage.models import utcnow

__all__ = ["DeliveryError", "DeliveryWorker", "Transport", "purge_outbox"]

logger = logging.getLogger("edoc.delivery")

# Completed outbox messages are deleted once past EDOC_OUTBOX_RETENTION_DAYS: the outbox is the node's queue, not
# its record (the delivery rows, status history and exchange log are), and at 100 documents/s it gains about 500
# rows a second, each of which the claim's index, vacuum and backups would otherwise carry for ever.
PURGE_EVERY_SECONDS = 300.0
PURGE_BATCH = 5000


def purge_outbox(gw: Gateway, *, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the messages that completed (delivered, or dead) more than the retention ago, ``batch`` per
    transaction so that no transaction grows with the backlog; returns how many. Messages not completed are never
    touched, whatever their age. Several workers may purge at once: a row one of them deleted is skipped by the
    others."""
    days = gw.settings.outbox_retention_days
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    return outbox.purge(gw.writes, cutoff, batch=batch)


@dataclass
class DeliveryWorker:
    gw: Gateway
    name: str = ""
    transports: dict[str, Transport] | None = None
    handlers: Sequence[Handler] = HANDLERS
    _next_purge: float = field(default=0.0, init=False, repr=False)  # time.monotonic(); 0: at the first idle round
    _next_archive_sweep: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.transports = {LOCAL: deliver_local, **self.gw.uplink_transports, **(self.transports or {})}
        self._by_topic = {handler.topic: handler for handler in self.handlers}
        self.bus.on_own_failure = self._own_failure

    def _own_failure(self, session: Session, failed: Failed) -> None:
        """A failed attempt the bus recorded by itself (RabbitMQ's delivery limit: the consumers holding the message
        kept dying): the topic's handler does its bookkeeping in that transaction, as in :meth:`_record_failure`."""
        handler = self._by_topic.get(failed.message.topic)
        if handler is not None:
            handler.on_failure(session, failed, self.name)

    @property
    def bus(self) -> Bus:
        return self.gw.bus

    def run_once(self, limit: int | None = None) -> int:
        """Claim and process up to ``limit`` ready messages; returns how many were processed (those the bus
        settled during its claim included: the ``db://`` bus completes local deliveries there)."""
        claimed = self.bus.claim(limit or self.gw.settings.worker_batch, worker=self.name)
        if not claimed.messages:
            return claimed.settled
        assert self.transports is not None
        work = Work(gw=self.gw, bus=self.bus, worker=self.name, transports=self.transports)
        by_topic: dict[str, list[Message]] = {}
        for message in claimed.messages:
            by_topic.setdefault(message.topic, []).append(message)
        for handler in self.handlers:
            if messages := by_topic.pop(handler.topic, None):
                for failure in handler.handle(work, messages):
                    self._record_failure(handler, failure)
        for topic, messages in by_topic.items():  # no handler: a retry cannot help
            for message in messages:
                self._record_failure(None, Failure(message.id, f"no handler for topic {topic!r}", permanent=True))
        return len(claimed)

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
        # The transparency log's sequencer runs beside the deliveries, in every process that delivers (edoc worker,
        # edoc serve's worker process, the ASGI app's thread): it integrates new leaves and signs a checkpoint
        # within a second (service/exchange/tlog.py).
        sequencer = log_service(self.gw).start(stop)
        full = self.gw.settings.worker_batch
        while not stop.is_set():
            try:
                if self.run_once() >= full:
                    continue
            except Exception:  # keep the worker alive; the message is retried after its lease
                logger.exception("delivery worker %s: batch failed", self.name)
            self._purge_when_due()
            self._archive_sweep_when_due()
            self.gw.wakeup.clear()  # what the round itself signalled is claimed after the pause
            self.gw.wakeup.wait(self.gw.settings.worker_poll_seconds)
            self.gw.wakeup.clear()
        sequencer.join(timeout=10)
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

    def _archive_sweep_when_due(self) -> None:
        """Every ``archive_sweep_seconds`` (0: never), after a round that did not fill its batch, queue the AIPs
        of the exchanges that completed (service/archive/archiving.py: why a sweep) and audit a few archive
        copies that are due (service/archive/fixity.py)."""
        every = self.gw.settings.archive_sweep_seconds
        now = time.monotonic()
        if not every or now < self._next_archive_sweep:
            return
        self._next_archive_sweep = now + every
        try:
            archive_sweep(self.gw)
        except Exception:  # tried again at the next due time; delivery goes on
            logger.exception("delivery worker %s: archive sweep failed", self.name)
        try:  # the rolling fixity audit: a few copies whose last check is older than EDOC_FIXITY_DAYS
            audit_due(self.gw)
        except Exception:
            logger.exception("delivery worker %s: fixity audit failed", self.name)

    def _record_failure(self, handler: Handler | None, failure: Failure) -> None:
        """Retry on the schedule or dead-letter, with the handler's own bookkeeping, in one transaction."""
        with self.gw.writes() as session, session.begin():
            if failure.permanent:
                failed = self.bus.dead_letter(session, failure.message_id, failure.error)
            else:
                failed = self.bus.retry(session, failure.message_id, failure.error)
            if failed is None:
                return
            if handler is not None:
                handler.on_failure(session, failed, self.name)
        payload, attempts, error = dict(failed.message.payload), failed.attempts, failed.error
        if failed.dead:
            logger.error("delivery %s is dead after %d attempts: %s", payload, attempts, error)
        else:
            logger.warning("delivery %s failed (attempt %d), retrying: %s", payload, attempts, error)
