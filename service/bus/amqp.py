"""The ``amqp://`` bus: RabbitMQ carries the work, the outbox table stays the truth (issue 22 item 1).

``EDOC_BUS_URL=amqp://user:pass@host:port/vhost`` (credentials are never logged: :func:`safe_url`). Every part:

- **publish / publish_many** insert outbox rows in the caller's transaction, as ``db://`` does (the
  transactional outbox, storage/exchange/outbox.py ``insert_messages``): a message exists iff its cause committed.
- **The relay** (a task of this bus's I/O thread, started by the first ``claim``, so it runs in the worker
  process beside the consumers; API processes only insert rows) takes due rows not yet published
  (``publishable``, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so relays of several workers share the work),
  publishes them all at once (a window of up to :data:`RELAY_WINDOW` publishes in flight) with ``message_id`` =
  the row id, persistent, ``mandatory`` (a returned message is an error) and **publisher confirms**, then marks
  ``published_at`` only on the rows whose confirm came back, in the same transaction. A crash between the confirm
  and the commit publishes a row twice; consumers drop the duplicate (below).
- **Topology** (declared by every bus, idempotent)::

      edoc.work (direct) --"0".."n-1"--> edoc.work.<i>  quorum, x-single-active-consumer, x-delivery-limit,
                                                         x-overflow=reject-publish,
                                                         x-dead-letter-exchange=edoc.dead,
                                                         x-dead-letter-strategy=at-least-once
      edoc.dead (fanout) ----------------> edoc.dead     quorum (the dead-letter queue)

  A message goes to shard ``crc32(key) % n``: a ``deliver`` message's key is its recipient's code, so one
  recipient's messages travel through one queue, in publication order, to one consumer at a time (single
  active consumer): **a recall never overtakes its document**. A consumer hands a claim out in id order.
- **claim** hands out what the consumers received (prefetch ``EDOC_AMQP_PREFETCH`` per queue), after leasing
  each row to the claiming worker in the database (``lease``): the handlers then work exactly as with ``db://``
  (they check the lease and acknowledge the row in the transaction of their effect). A message whose row is
  already done (a duplicate, a redelivery after a crash) is acknowledged to the broker and not handed out.
- **ack / retry / dead_letter** write the row, in the caller's transaction (``db://``'s functions). The broker
  is told only **after that commit**: at the start of the next claim (or at :meth:`close`), the bus reads the
  rows of what it handed out and acks the broker's message of each row that is done or was rescheduled, and
  rejects (no requeue: to ``edoc.dead``) each row that is dead. A handed-out row whose lease expired is handed
  out again. A worker that dies leaves its messages unacked: the broker redelivers them to another consumer.
- **Retries** use the outbox's ``available_at`` (the schedule of ``EDOC_RETRY_SCHEDULE``, the same code as
  ``db://``): a retry clears ``published_at``, so the relay publishes the row again once it is due. No per-delay
  queues with TTLs: one mechanism for both buses, and the delay survives a broker restart in the database.
- **Dead letters**: the database records every death (``dead_at``, listed by ``GET /api/v1/admin/dead-letters``
  and ``edoc dead-letters``). What the broker dead-letters itself (``x-delivery-limit`` reached: its consumers
  crashed, or were restarted with it in their prefetch, that many times) arrives in ``edoc.dead``, whose consumer
  counts it as one failed attempt on the retry schedule: published afresh after the delay, dead in the database
  once the schedule is exhausted; ``on_own_failure`` (set by the delivery worker) lets the topic's handler do its
  bookkeeping in that transaction (a delivery's attempts, its dead state and event).
- **Faults** (tests/e2e/test_production_faults.py): the broker away → the relay's rounds fail and are retried, the
  robust connection re-opens and re-consumes; the database away → a claim that cannot lease gives its messages
  back (still unacked: they hold prefetch slots) and a dead letter that cannot be recorded is requeued after a
  pause. :meth:`AmqpBus.check` is ``/readyz``'s probe (a broker away leaves the API ready: the outbox holds work).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.bus.interfaces import BrokerUnavailable, Claimed, Failed, Message
from storage.exchange import outbox
from storage.exchange.outbox import OutboxStore
from storage.models import utcnow

__all__ = ["AmqpBus", "safe_url"]

logger = logging.getLogger("edoc.bus")

RELAY_WINDOW = 500  # publishes in flight at once (each awaits its confirm)
RELAY_IDLE_SECONDS = 0.2  # the relay's pause when nothing was due (a claim wakes it at once)
CLAIM_WAIT_SECONDS = 0.25  # how long a claim waits for a first message
QUIET_SECONDS = 0.03  # then how long it waits for more before it answers
DEAD_RETRY_SECONDS = 1.0  # a dead-lettered message the database could not record waits this long, then comes back
CHECK_SECONDS = 3.0  # the readiness probe's connection timeout
CHECK_CACHE_SECONDS = 2.0  # /readyz is public: its broker probe is answered from a cache this long
WORK, DEAD = "edoc.work", "edoc.dead"


def safe_url(url: str) -> str:
    """``url`` without its password, for logs and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(slots=True)
class _Held:
    """A message the broker gave us and we have not yet settled with it."""

    message: Message
    incoming: Any  # aio_pika.abc.AbstractIncomingMessage
    worker: str | None = None
    attempts: int = 0  # the row's attempts when it was leased: more later means it was rescheduled
    lease_until: float = 0.0  # time.monotonic()


class AmqpBus:
    """RabbitMQ as the bus, the outbox as its truth (see the module docstring)."""

    def __init__(
        self, engine: Engine, writes: sessionmaker[Session], *, retry_schedule: Sequence[float],
        lease_seconds: float, url: str, prefetch: int = 100, delivery_limit: int = 20, shards: int = 4,
        prefix: str = "",
    ) -> None:
        self.url = url
        self.store = OutboxStore.for_engine(engine, writes)
        self.writes = writes
        self.retry_schedule = tuple(retry_schedule)
        self.lease_seconds = lease_seconds
        self.prefetch, self.delivery_limit, self.shards = prefetch, delivery_limit, shards
        self.work, self.dead = prefix + WORK, prefix + DEAD
        self._lock = threading.RLock()  # one claim at a time (claims of several worker threads)
        self._arrived = threading.Condition()
        self._inbox: dict[int, _Held] = {}  # received, not handed out
        self._out: dict[int, _Held] = {}  # handed out, not settled with the broker
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._relay_wake: asyncio.Event | None = None
        self._connection: Any = None
        self._stopping = False
        self.on_own_failure: Callable[[Session, Failed], None] | None = None  # the delivery worker's bookkeeping
        self._check_lock = threading.Lock()
        self._checked: tuple[float, str | None] = (-CHECK_CACHE_SECONDS - 1, None)  # (time.monotonic(), error)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> AmqpBus:
        """``amqp://user:pass@host:port/vhost``; ``?prefetch=&delivery_limit=&shards=&prefix=`` override the
        settings (``prefix`` namespaces the exchange and queues, for tests)."""
        query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
        for name in ("prefetch", "delivery_limit", "shards"):
            if name in query:
                options[name] = int(query[name])
        if "prefix" in query:
            options["prefix"] = query["prefix"]
        known = {"engine", "writes", "retry_schedule", "lease_seconds", "prefetch", "delivery_limit", "shards",
                 "prefix"}
        return cls(url=url, **{k: v for k, v in options.items() if k in known})

    # --- the port ---------------------------------------------------------------------------------------------

    def publish(self, session: Session, topic: str, payload: Mapping[str, Any]) -> None:
        outbox.insert_messages(session, [(topic, payload)])

    def publish_many(self, session: Session, messages: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        outbox.insert_messages(session, messages)

    def claim(self, limit: int, *, worker: str) -> Claimed:
        with self._lock:
            self._start()
            self._settle()
            self._wake_relay()
            chosen = self._expired(limit)
            if len(chosen) < limit:
                chosen += self._wait_for(limit - len(chosen))
            try:
                return Claimed(tuple(self._lease(chosen, worker)))
            except BaseException:  # the database is away: what was chosen is handed out at a later claim
                self._give_back(chosen)
                raise

    def ack(self, ids: Sequence[int], *, worker: str, session: Session | None = None) -> set[int]:
        return self.store.ack(ids, worker=worker, session=session)

    def retry(self, session: Session, message_id: int, error: str) -> Failed | None:
        return _failed(outbox.retry(session, message_id, error, schedule=self.retry_schedule))

    def dead_letter(self, session: Session, message_id: int, error: str) -> Failed | None:
        return _failed(outbox.dead_letter(session, message_id, error))

    def check(self) -> None:
        """Raise :class:`BrokerUnavailable` unless the broker accepts a connection to our vhost now (``/readyz``).

        A connection of its own, opened and closed, from any thread (the API process never starts the I/O thread:
        it only inserts outbox rows). The answer is kept :data:`CHECK_CACHE_SECONDS`, so callers of the public
        ``/readyz`` cannot make the node open connections without bound."""
        with self._check_lock:
            at, error = self._checked
            if time.monotonic() - at > CHECK_CACHE_SECONDS:
                error = _probe(self.url)
                self._checked = (time.monotonic(), error)
        if error is not None:
            raise BrokerUnavailable(error)

    def close(self) -> None:
        """Settle what was handed out, then stop the relay, the consumers and the connection."""
        if self._loop is None or self._thread is None:
            return
        with self._lock:
            try:
                self._settle()
            except Exception:  # the broker redelivers whatever was not settled
                logger.warning("amqp bus %s: settling on close failed", safe_url(self.url), exc_info=True)
            self._stopping = True
            self._call(self._disconnect(), timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    # --- handing out --------------------------------------------------------------------------------------------

    def _expired(self, limit: int) -> list[_Held]:
        """Handed out earlier, still not done, lease over: handed out again (the worker is gone or stuck)."""
        now = time.monotonic()
        expired = sorted((h for h in self._out.values() if h.lease_until <= now), key=lambda h: h.message.id)
        for held in expired[:limit]:
            del self._out[held.message.id]
        return expired[:limit]

    def _wait_for(self, limit: int) -> list[_Held]:
        """Up to ``limit`` received messages, lowest ids first: wait for a first one, then for a quiet moment."""
        deadline = time.monotonic() + CLAIM_WAIT_SECONDS
        with self._arrived:
            while not self._inbox and self._arrived.wait(max(0.0, deadline - time.monotonic())):
                pass
            seen = -1
            while self._inbox and len(self._inbox) < limit and len(self._inbox) != seen:
                seen = len(self._inbox)
                self._arrived.wait(QUIET_SECONDS)
            chosen = [self._inbox.pop(i) for i in sorted(self._inbox)[:limit]]
        return chosen

    def _give_back(self, held: list[_Held]) -> None:
        """Return chosen messages to the received ones: the broker still counts them as ours (unacked), so a
        message dropped here would hold a prefetch slot and never be handed out until the connection closed."""
        with self._arrived:
            for h in held:
                self._inbox.setdefault(h.message.id, h)

    def _lease(self, held: list[_Held], worker: str) -> list[Message]:
        if not held:
            return []
        until = utcnow() + timedelta(seconds=self.lease_seconds)
        with self.writes() as session, session.begin():
            leased = outbox.lease(session, [h.message.id for h in held], worker=worker, until=until)
        messages = []
        for h in held:
            if h.message.id not in leased:  # done already (a duplicate or a redelivery) or gone
                self._settle_one(h, dead=False)
                continue
            if (earlier := self._out.pop(h.message.id, None)) is not None and earlier is not h:
                self._settle_one(earlier, dead=False)  # published again after a retry: this one carries it now
            h.worker, h.attempts = worker, leased[h.message.id]
            h.lease_until = time.monotonic() + self.lease_seconds
            self._out[h.message.id] = h
            messages.append(h.message)
        return messages

    def _settle(self) -> None:
        """Tell the broker about every handed-out row the database says is finished: done or rescheduled → ack,
        dead → reject to the dead-letter exchange. Runs after the handlers' commits (the next claim, close)."""
        if not self._out:
            return
        with self.writes() as session:
            states = outbox.row_states(session, list(self._out))
        for message_id, held in list(self._out.items()):
            state = states.get(message_id)
            finished = state is None or state.done or state.attempts != held.attempts  # done, gone or rescheduled
            if finished:
                del self._out[message_id]
                self._settle_one(held, dead=state is not None and state.dead)

    def _settle_one(self, held: _Held, *, dead: bool) -> None:
        incoming = held.incoming
        try:
            self._call(incoming.reject(requeue=False) if dead else incoming.ack(), timeout=10)
        except Exception as exc:  # the channel closed meanwhile: the broker redelivers, the row says it is done
            logger.info("amqp bus: could not settle message %s with the broker (%s); it will come back and be "
                        "settled then", held.message.id, exc.__class__.__name__)

    # --- the I/O thread ---------------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="edoc-amqp", daemon=True)
        self._thread.start()
        try:
            self._call(self._connect(), timeout=30)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            self._loop = self._thread = None
            raise
        logger.info("amqp bus connected to %s (%d shards, prefetch %d, delivery limit %d)", safe_url(self.url),
                    self.shards, self.prefetch, self.delivery_limit)

    def _call(self, coroutine: Any, *, timeout: float) -> Any:
        assert self._loop is not None
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout)

    def _wake_relay(self) -> None:
        if self._loop is not None and self._relay_wake is not None:
            self._loop.call_soon_threadsafe(self._relay_wake.set)

    async def _connect(self) -> None:
        import aio_pika

        base = urlunsplit(urlsplit(self.url)._replace(query=""))
        self._connection = await aio_pika.connect_robust(base, client_properties={"connection_name": "edoc"})
        publishing = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        consuming = await self._connection.channel()
        await consuming.set_qos(prefetch_count=self.prefetch)
        work, queues = await self._declare(consuming)
        self._exchange = await publishing.get_exchange(work.name)
        for queue in queues:
            await queue.consume(self._received, no_ack=False)
        dead_queue = await consuming.get_queue(self.dead)
        await dead_queue.consume(self._died, no_ack=False)
        self._relay_wake = asyncio.Event()
        self._relay = asyncio.get_running_loop().create_task(self._relay_forever())

    async def _declare(self, channel: Any) -> tuple[Any, list[Any]]:
        import aio_pika

        dead = await channel.declare_exchange(self.dead, aio_pika.ExchangeType.FANOUT, durable=True)
        dead_queue = await channel.declare_queue(self.dead, durable=True, arguments={"x-queue-type": "quorum"})
        await dead_queue.bind(dead)
        work = await channel.declare_exchange(self.work, aio_pika.ExchangeType.DIRECT, durable=True)
        arguments = {
            "x-queue-type": "quorum", "x-single-active-consumer": True, "x-delivery-limit": self.delivery_limit,
            "x-overflow": "reject-publish", "x-dead-letter-exchange": self.dead,
            "x-dead-letter-strategy": "at-least-once",
        }
        queues = []
        for shard in range(self.shards):
            queue = await channel.declare_queue(f"{self.work}.{shard}", durable=True, arguments=arguments)
            await queue.bind(work, routing_key=str(shard))
            queues.append(queue)
        return work, queues

    async def _disconnect(self) -> None:
        relay = getattr(self, "_relay", None)
        if relay is not None:
            relay.cancel()
        if self._connection is not None:
            await self._connection.close()

    async def _received(self, incoming: Any) -> None:
        try:
            message_id = int(incoming.message_id)
            body = json.loads(incoming.body)
            message = Message(message_id, str(body["topic"]), body["payload"])
        except (TypeError, ValueError, KeyError):
            logger.error("amqp bus: a message that is not ours (message_id %r) goes to %s", incoming.message_id,
                         self.dead)
            await incoming.reject(requeue=False)
            return
        with self._arrived:
            if message_id in self._inbox:  # the relay published it twice (a crash before it marked the row)
                duplicate = True
            else:
                self._inbox[message_id] = _Held(message, incoming)
                duplicate = False
            self._arrived.notify_all()
        if duplicate:
            await incoming.ack()

    async def _died(self, incoming: Any) -> None:
        """A message the broker dead-lettered: a row the bus rejected is dead already; any other (the delivery
        limit: its consumers kept crashing, or kept being restarted with it in their prefetch) counts as one failed
        attempt on the retry schedule, so the relay publishes it afresh after the delay and it is dead only once
        the schedule is exhausted. Then drop it from the dead-letter queue."""
        try:
            message_id = int(incoming.message_id)
        except (TypeError, ValueError):
            await incoming.ack()
            return
        reason = _death_reason(incoming.headers or {})
        try:
            await asyncio.to_thread(self._bury, message_id, reason)
        except Exception as exc:  # the database is away: the broker keeps it and gives it back after a pause
            logger.warning("amqp bus: dead-lettered message %s not recorded yet (%s); retried", message_id,
                           exc.__class__.__name__)
            await asyncio.sleep(DEAD_RETRY_SECONDS)
            await incoming.nack(requeue=True)
            return
        await incoming.ack()

    def _bury(self, message_id: int, reason: str) -> None:
        with self.writes() as session, session.begin():
            state = outbox.row_states(session, [message_id]).get(message_id)
            if state is None or state.done:
                return
            failed = outbox.retry(session, message_id, reason, schedule=self.retry_schedule)
            reported = _failed(failed)
            if reported is not None and self.on_own_failure is not None:  # the handler's bookkeeping, same commit
                self.on_own_failure(session, reported)
        if failed is None:
            return
        if failed.dead:
            logger.error("message %s (%s) is dead after %d attempts: %s", message_id, failed.message.topic,
                         failed.attempts, reason)
        else:
            logger.warning("message %s (%s) failed (attempt %d), retrying: %s", message_id, failed.message.topic,
                           failed.attempts, reason)

    async def _relay_forever(self) -> None:
        assert self._relay_wake is not None
        while not self._stopping:
            try:
                published = await asyncio.to_thread(self._relay_round)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker or the database is away: tried again after the pause
                logger.warning("amqp relay: a round failed (%s); tried again", exc.__class__.__name__)
                logger.debug("amqp relay: the failed round", exc_info=True)
                published = 0
                await asyncio.sleep(RELAY_IDLE_SECONDS)
            if published < RELAY_WINDOW:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._relay_wake.wait(), RELAY_IDLE_SECONDS)
                self._relay_wake.clear()

    def _relay_round(self) -> int:
        """One window: publish the due rows, wait for their confirms, mark the confirmed ones (one transaction,
        which holds the rows' locks meanwhile). Runs in a thread; the publishes run on the I/O loop."""
        with self.writes() as session, session.begin():
            rows = outbox.publishable(session, RELAY_WINDOW)
            if not rows:
                return 0
            confirmed = self._call(self._publish_all(rows), timeout=60)
            outbox.mark_published(session, confirmed)
        return len(confirmed)

    async def _publish_all(self, rows: list[outbox.Outgoing]) -> list[int]:
        outcomes = await asyncio.gather(*(self._publish(row) for row in rows), return_exceptions=True)
        failed = [(row.id, out) for row, out in zip(rows, outcomes, strict=True) if isinstance(out, BaseException)]
        if failed:
            logger.warning("amqp relay: %d of %d publishes not confirmed (first: %s); tried again",
                           len(failed), len(rows), failed[0][1].__class__.__name__)
        return [row.id for row, out in zip(rows, outcomes, strict=True) if not isinstance(out, BaseException)]

    async def _publish(self, row: outbox.Outgoing) -> None:
        import aio_pika

        body = json.dumps({"topic": row.topic, "payload": dict(row.payload)}, separators=(",", ":")).encode()
        message = aio_pika.Message(body, message_id=str(row.id), type=row.topic, content_type="application/json",
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        shard = zlib.crc32(row.key.encode()) % self.shards
        await self._exchange.publish(message, routing_key=str(shard), mandatory=True)


def _probe(url: str) -> str | None:
    """None if an AMQP connection to ``url`` opens within :data:`CHECK_SECONDS`, else the failure's kind."""
    import aio_pika

    async def connect() -> None:
        base = urlunsplit(urlsplit(url)._replace(query=""))
        connection = await aio_pika.connect(base, timeout=CHECK_SECONDS,
                                            client_properties={"connection_name": "edoc-readyz"})
        await connection.close()

    try:
        asyncio.run(asyncio.wait_for(connect(), CHECK_SECONDS + 1))
    except Exception as exc:
        logger.warning("amqp bus: the broker at %s does not answer (%s)", safe_url(url), exc.__class__.__name__)
        return exc.__class__.__name__
    return None


def _death_reason(headers: Mapping[str, Any]) -> str:
    deaths = headers.get("x-death") or []
    first = deaths[0] if deaths else {}
    reason = first.get("reason", "unknown") if isinstance(first, Mapping) else "unknown"
    reason = reason.decode() if isinstance(reason, bytes) else str(reason)
    if reason == "delivery_limit":
        return "the broker's delivery limit was reached (its consumers kept failing)"
    return f"dead-lettered by the broker ({reason})"


def _failed(failure: outbox.Failure | None) -> Failed | None:
    if failure is None:
        return None
    message = Message(failure.message.id, failure.message.topic, failure.message.payload)
    return Failed(message, failure.attempts, failure.dead, failure.error)
