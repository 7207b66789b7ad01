"""The state of the exchange as a few numbers, read at once for a metrics scrape (``/metrics``).

Three statements, each cheap on both databases:

* deliveries by state: ``GROUP BY state`` over the delivery table (a scan of one narrow column; the caller bounds
  how often it runs, see ``EDOC_METRICS_CACHE_SECONDS``);
* the outbox not yet completed: count, ready now, waiting for a retry (attempts > 0) and the oldest creation
  time, all over the partial index ``ix_outbox_pending`` (the messages not done: what the delivery worker reads
  anyway), so the cost follows the backlog, not the history;
* nothing else: dead letters are the deliveries in state ``dead``.

Values are the database's, so every replica reports the same state whichever process runs the workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.models import Delivery, OutboxMessage, utcnow

__all__ = ["DELIVERY_STATES", "ExchangeGauges", "read_exchange_gauges"]

#: Reported even when no row is in them, so a dashboard's series exist from the first scrape.
DELIVERY_STATES = ("pending", "delivered", "acked", "dead")


@dataclass(frozen=True)
class ExchangeGauges:
    deliveries: dict[str, int] = field(default_factory=dict)
    outbox_pending: int = 0
    outbox_ready: int = 0
    outbox_retrying: int = 0
    outbox_oldest_age_seconds: float = 0.0

    @property
    def dead_letters(self) -> int:
        return self.deliveries.get("dead", 0)


def read_exchange_gauges(engine: Engine, *, now: datetime | None = None) -> ExchangeGauges:
    now = now or utcnow()
    o = OutboxMessage
    pending = o.done_at.is_(None)
    outbox = sa.select(
        sa.func.count(),
        sa.func.count().filter(o.available_at <= now),
        sa.func.count().filter(o.attempts > 0),
        sa.func.min(o.created_at),
    ).where(pending)
    by_state = sa.select(Delivery.state, sa.func.count()).group_by(Delivery.state)
    with engine.connect() as conn:
        count, ready, retrying, oldest = conn.execute(outbox).one()
        deliveries = {state: 0 for state in DELIVERY_STATES}
        deliveries.update({state: n for state, n in conn.execute(by_state)})
    age = max(0.0, (now - _aware(oldest, now)).total_seconds()) if oldest is not None else 0.0
    return ExchangeGauges(deliveries, int(count), int(ready), int(retrying), age)


def _aware(value: datetime, like: datetime) -> datetime:
    # an aggregate bypasses the column type's conversion on SQLite: the naive UTC text comes back as it was written
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=like.tzinfo) if value.tzinfo is None and like.tzinfo is not None else value
