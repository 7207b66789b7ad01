"""The delivery worker's claim reads the pending outbox messages only, however many completed ones the retention
keeps (migration 0004): on PostgreSQL the claiming statement touches a few pages with 20,000 completed messages in
the table, with the planner's statistics stale or fresh (without the index it walked the primary key from the
oldest message); on SQLite the claim's query seeks to the pending messages through an index, not a scan."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from storage.db import is_postgresql
from storage.exchange.outbox import READY
from storage.models import OUTBOX, utcnow
from tests.support.gateway import Env
from tests.support.outbox import explain_claim, maintain

COMPLETED = 20_000


def _fill(env: Env) -> int:
    """COMPLETED messages (the oldest ids), then one ready message; returns the ready one's id.

    On PostgreSQL the history was a backlog when the statistics were last taken (ANALYZE while the messages were
    pending, as autovacuum may well do during an outage of a remote route), then the backlog drained and the
    dead row versions were vacuumed: the statistics now say that many messages are pending, which is when the
    planner preferred walking the primary key."""
    now = utcnow()
    backlog = [
        {"topic": "deliver", "payload": {"delivery_id": "gone"}, "created_at": now - timedelta(days=1),
         "available_at": now - timedelta(days=1), "attempts": 0}
        for _ in range(COMPLETED)
    ]
    postgresql = is_postgresql(env.gw.engine)
    with env.gw.writes() as session, session.begin():
        session.execute(sa.insert(OUTBOX), backlog)
    if postgresql:
        maintain(env.gw.engine, "ANALYZE outbox")
    with env.gw.writes() as session, session.begin():
        session.execute(sa.update(OUTBOX).values(done_at=now - timedelta(hours=1)))
        ready = int(session.execute(
            sa.insert(OUTBOX).values(topic="deliver", payload={"delivery_id": "gone"}, created_at=now,
                                     available_at=now, attempts=0).returning(OUTBOX.c.id)
        ).scalar_one())
    if postgresql:
        maintain(env.gw.engine, "VACUUM outbox")
    return ready


def test_a_claim_does_not_read_the_completed_history(env: Env) -> None:
    ready = _fill(env)
    if is_postgresql(env.gw.engine):
        _ms, stale = explain_claim(env.gw.engine)  # statistics from the backlog
        maintain(env.gw.engine, "ANALYZE outbox")
        _ms, fresh = explain_claim(env.gw.engine)
        # The history alone is over a hundred heap pages and 20,000 index entries; the claim needs a handful.
        assert stale < 60 and fresh < 60, (stale, fresh)
    else:
        compiled = READY.compile(env.gw.engine)
        params = compiled.construct_params({"now": utcnow(), "limit": 100})
        with env.gw.engine.connect() as conn:
            positional = tuple(params[name] for name in compiled.positiontup or ())
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", positional)
            plan = " ".join(str(row[-1]) for row in rows)
        assert plan.startswith("SEARCH outbox USING INDEX ix_outbox_"), plan  # a seek to the pending ones, no SCAN
    # and the claim still finds the one ready message
    claimed = env.gw.bus.claim(100, worker="claim-index-test")
    assert claimed.settled == 1 and claimed.messages == ()
    with env.gw.sessions() as session:
        assert session.execute(sa.select(OUTBOX.c.done_at).where(OUTBOX.c.id == ready)).scalar_one() is not None
