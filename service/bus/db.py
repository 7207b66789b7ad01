"""The ``db://`` bus: the ``outbox`` table of the node's own database is the queue (the embedded tier's bus).

A thin adapter from the :class:`~service.bus.interfaces.Bus` port to the outbox repository
(storage/exchange/outbox.py), which holds every statement and picks the dialect's claim once, when this bus is
built (:meth:`~storage.exchange.outbox.OutboxStore.for_engine`):

- **publish** inserts a row in the caller's transaction (the transactional outbox: a submit's messages exist if
  and only if the submit committed).
- **claim** leases ready rows (``available_at`` reached, not done, lease free or expired) to one worker for
  ``EDOC_WORKER_LEASE_SECONDS``: on PostgreSQL in one statement with ``FOR UPDATE SKIP LOCKED``, on SQLite under
  the database's single write lock. A claimer that dies leaves its lease to expire, and the message is claimed
  again.
- **ack** is a conditional update (still leased by this worker, not yet done), normally in the handler's own
  transaction, so a message is done exactly when its effect committed.
- **retry** counts the attempt and makes the message available again after ``retry_schedule[attempts - 1]``
  seconds; after the last delay it is **dead**: done, with its last error kept (``dead_letter`` does that at once).

One shortcut this backend takes because it *is* the database: a ``deliver`` message whose delivery is local
needs nothing outside the database, so the claim completes it in the claiming transaction (the delivery row is
the inbox entry: ``pending → delivered``, plus its ``delivered`` log event) and reports it as ``settled`` instead
of handing it out. The deliver handler (service/exchange/handlers/deliver.py) does the same for a message a
backend without this shortcut hands out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.bus.interfaces import Claimed, Failed, Message
from service.routing import LOCAL
from storage.exchange import outbox
from storage.exchange.outbox import OutboxStore, StoredMessage

__all__ = ["DatabaseBus"]

assert LOCAL == outbox.LOCAL_ROUTE  # the claim settles the deliveries routed here


class DatabaseBus:
    """The outbox table as the bus (see the module docstring)."""

    def __init__(
        self, engine: Engine, writes: sessionmaker[Session], *, retry_schedule: Sequence[float],
        lease_seconds: float, url: str = "db://",
    ) -> None:
        self.url = url
        self.store = OutboxStore.for_engine(engine, writes)
        self.retry_schedule = tuple(retry_schedule)
        self.lease = timedelta(seconds=lease_seconds)
        self.on_own_failure: Callable[[Session, Failed], None] | None = None  # the port's; never called here

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DatabaseBus:
        """``db://``: the node's own database (``engine``, ``writes``) carries the queue; the URL takes no host.
        Options for other backends (a broker's ``prefetch``) are ignored."""
        if urlsplit(url).netloc:
            raise ValueError(f"{url!r}: the db:// bus uses the node's own database; write db:// alone")
        known = ("engine", "writes", "retry_schedule", "lease_seconds")
        return cls(url=url, **{k: v for k, v in options.items() if k in known})

    def publish(self, session: Session, topic: str, payload: Mapping[str, Any]) -> None:
        outbox.insert_messages(session, [(topic, payload)])

    def publish_many(self, session: Session, messages: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        outbox.insert_messages(session, messages)

    def claim(self, limit: int, *, worker: str) -> Claimed:
        claim = self.store.claim(limit, worker=worker, lease=self.lease)
        return Claimed(tuple(_message(m) for m in claim.leased), claim.settled)

    def ack(self, ids: Sequence[int], *, worker: str, session: Session | None = None) -> set[int]:
        return self.store.ack(ids, worker=worker, session=session)

    def retry(self, session: Session, message_id: int, error: str) -> Failed | None:
        return _failed(outbox.retry(session, message_id, error, schedule=self.retry_schedule))

    def dead_letter(self, session: Session, message_id: int, error: str) -> Failed | None:
        return _failed(outbox.dead_letter(session, message_id, error))


def _message(stored: StoredMessage) -> Message:
    return Message(stored.id, stored.topic, stored.payload)


def _failed(failure: outbox.Failure | None) -> Failed | None:
    if failure is None:
        return None
    return Failed(_message(failure.message), failure.attempts, failure.dead, failure.error)
