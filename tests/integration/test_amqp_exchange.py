"""The exchange with ``EDOC_BUS_URL=amqp://`` on PostgreSQL, through a real RabbitMQ (issue 22 item 1).

The whole flow of tests/integration/test_exchange_flow.py (submit → delivered → ack → automatic 01 → back to the
sender, statuses, a recall) runs unchanged on the broker bus, and every delivery happens exactly once; a recall
published right after its document is never applied before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.bus.amqp import AmqpBus
from storage.models import OUTBOX, ExchangeEvent
from tests.integration.test_exchange_flow import test_full_exchange as full_exchange
from tests.support.databases import postgres_admin_url, postgres_available, temporary_postgres_database
from tests.support.env import require
from tests.support.exchange import header, inbox, submit
from tests.support.gateway import A, B, Env, gateway_env


@pytest.fixture
def amqp_env(amqp_url: str, tmp_path: Path) -> Iterator[Env]:
    """A gateway on a fresh PostgreSQL database whose bus is RabbitMQ (queues of its own: ``prefix``)."""
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()} (set EDOC_TEST_POSTGRES_URL)")
    with temporary_postgres_database() as database_url:
        bus_url = f"{amqp_url}?prefix=x{uuid.uuid4().hex[:8]}."
        yield from gateway_env(database_url, tmp_path, bus_url=bus_url)


def test_the_whole_exchange_runs_on_the_broker_bus(amqp_env: Env) -> None:
    assert isinstance(amqp_env.gw.bus, AmqpBus)
    full_exchange(amqp_env)
    with amqp_env.gw.sessions() as session:
        delivered = session.execute(
            sa.select(ExchangeEvent.package_id, ExchangeEvent.agency_code, sa.func.count())
            .where(ExchangeEvent.kind == "delivered")
            .group_by(ExchangeEvent.package_id, ExchangeEvent.agency_code)
        ).all()
        pending = session.execute(sa.select(sa.func.count()).select_from(OUTBOX)
                                  .where(OUTBOX.c.done_at.is_(None))).scalar_one()
    assert delivered and all(count == 1 for *_, count in delivered)  # each delivery exactly once
    assert pending == 0  # every message completed


def test_a_recall_published_right_after_its_document_is_not_applied_before_it(amqp_env: Env) -> None:
    sent = submit(amqp_env, "A", header(A, [B]))
    assert sent.status_code == 202, sent.text
    doc = sent.json()["id"]
    recall = amqp_env.http.post(f"/api/v1/edocs/{doc}/recall", json={"to": [B], "reason": "Ban hành nhầm"},
                                headers=amqp_env.as_("A"))
    assert recall.status_code == 202, recall.text
    from service.exchange.delivery import DeliveryWorker

    worker = DeliveryWorker(amqp_env.gw, name="one-at-a-time")
    for _ in range(20):  # one message per round: the order the bus hands them out is the order they apply
        worker.run_once(limit=1)
    with amqp_env.gw.sessions() as session:
        order = session.execute(
            sa.select(ExchangeEvent.package_id).where(ExchangeEvent.kind == "delivered", ExchangeEvent.agency_code == B)
            .order_by(ExchangeEvent.id)
        ).scalars().all()
    assert order[0] == doc and len(order) == 2, order
    assert [i["business_type"] for i in inbox(amqp_env, "B")] == [0, 1]


def test_a_second_worker_process_cannot_take_the_recall_while_the_document_is_in_hand(amqp_env: Env) -> None:
    """Single active consumer per recipient shard: while one worker holds B's document, another worker (a bus of
    its own, as in another process) is handed nothing of B's, so the recall waits for the document."""
    from service.wiring import build_gateway

    first = amqp_env.gw.bus
    first.claim(1, worker="w1")  # connects: this bus is the active consumer of every shard
    second = build_gateway(amqp_env.gw.settings)
    try:
        second.bus.claim(1, worker="w2")  # connects a second consumer, inactive while the first lives
        sent = submit(amqp_env, "A", header(A, [B]))
        doc = sent.json()["id"]
        assert amqp_env.http.post(f"/api/v1/edocs/{doc}/recall", json={"to": [B], "reason": "Ban hành nhầm"},
                                  headers=amqp_env.as_("A")).status_code == 202
        held = [m for _ in range(5) for m in first.claim(1, worker="w1").messages]
        delivers = [m.id for m in held if m.topic == "deliver"]
        assert len(delivers) == 2 and delivers == sorted(delivers)  # the document's, then the recall's
        assert second.bus.claim(10, worker="w2").messages == ()  # the recall is not handed to anyone else
    finally:
        second.close()


def test_a_delivery_the_broker_gives_up_on_is_dead_in_the_database_too(amqp_url: str, tmp_path: Path) -> None:
    """RabbitMQ's delivery limit (the consumers holding the message kept dying) counts a failed attempt on the
    delivery as a handler's failure does: once the retry schedule is exhausted the delivery row is dead, with its
    attempts, error and ``dead`` event, not left pending while its message is a dead letter."""
    from service.exchange.delivery import DeliveryWorker
    from storage.models import Delivery
    from tests.integration.test_amqp_bus import crash_with

    url = f"{amqp_url}?prefix=k{uuid.uuid4().hex[:8]}.&delivery_limit=1"
    env = gateway_env(f"sqlite:///{tmp_path / 'edoc.sqlite3'}", tmp_path, bus_url=url, retry_schedule=(0.2,))
    doomed = next(env)
    try:
        sent = submit(doomed, "A", header(A, [B]))
        assert sent.status_code == 202, sent.text
        package = sent.json()["id"]
        state, crashes = "pending", 0
        while state == "pending" and crashes < 12:  # one retry: two rounds of the delivery limit
            crashing = AmqpBus.from_url(url, engine=doomed.gw.engine, writes=doomed.gw.writes,
                                        retry_schedule=(0.2,), lease_seconds=30)
            doomed.gw.__dict__["bus"] = crashing  # a new worker process each round, on a new connection
            DeliveryWorker(doomed.gw, name="doomed")
            for _ in range(20):
                if crashing.claim(10, worker="doomed").messages:
                    break
            crash_with(crashing)
            crashes += 1
            with doomed.gw.sessions() as session:
                delivery = session.execute(sa.select(Delivery).where(Delivery.package_id == package)).scalar_one()
                state, attempts, error = delivery.state, delivery.attempts, delivery.last_error
        assert state == "dead" and attempts == 2, (state, attempts, crashes)
        assert error and "delivery limit" in error
        with doomed.gw.sessions() as session:
            dead_events = session.execute(sa.select(sa.func.count()).select_from(ExchangeEvent).where(
                ExchangeEvent.kind == "dead", ExchangeEvent.package_id == package)).scalar_one()
        assert dead_events == 1
    finally:
        env.close()
