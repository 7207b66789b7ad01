"""What only the ``amqp://`` bus does, against a real RabbitMQ (the shared contract is tests/contract/test_bus.py):
the broker's own dead-lettering (``x-delivery-limit``) lands in the database's dead letters, credentials stay out
of logs, and the bus runs on a private node started by the test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service import bus as buses
from service.bus.amqp import AmqpBus, safe_url
from storage.db import create_engine, writer_session_factory
from storage.exchange import outbox
from storage.migrate import upgrade


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def writes(engine: Engine) -> sessionmaker[Session]:
    return writer_session_factory(engine)


def make(amqp_url: str, engine: Engine, writes: sessionmaker[Session], prefix: str, **query: int) -> AmqpBus:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    bus = buses.from_url(f"{amqp_url}?prefix={prefix}{extra}", engine=engine, writes=writes,
                         retry_schedule=(1.0,), lease_seconds=30)
    assert isinstance(bus, AmqpBus)
    return bus


def test_a_message_that_keeps_crashing_its_consumers_is_dead_in_the_database(
    amqp_url: str, engine: Engine, writes: sessionmaker[Session]
) -> None:
    prefix = f"p{uuid.uuid4().hex[:8]}."
    with writes() as session, session.begin():
        outbox.insert_messages(session, [("poison", {"n": 1})])
    for _ in range(2):  # a consumer takes it and dies (its connection closes before any ack): redelivered
        crashing = make(amqp_url, engine, writes, prefix, delivery_limit=1)
        [message] = crashing.claim(10, worker="crashes").messages
        assert message.topic == "poison"
        crashing._stopping = True  # die without settling: no ack, no reject
        crashing._call(crashing._disconnect(), timeout=10)
    survivor = make(amqp_url, engine, writes, prefix, delivery_limit=1)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert survivor.claim(10, worker="w").messages == ()  # never handed out again
            with writes() as session:
                dead = outbox.dead_letters(session, offset=0, limit=10)
            if dead:
                break
        assert [(d.topic, d.id) for d in dead] == [("poison", message.id)]
        assert dead[0].last_error and "delivery limit" in dead[0].last_error
    finally:
        survivor.close()


def test_credentials_never_reach_a_log_line() -> None:
    assert safe_url("amqp://edoc:s3cret@rabbit:5672/prod?prefetch=5") == "amqp://edoc:***@rabbit:5672/prod"


@pytest.mark.slow
def test_the_bus_runs_on_a_private_broker_node(engine: Engine, writes: sessionmaker[Session]) -> None:
    """The private node (tests/support/rabbitmq.py) issue 22's fault tests will kill: started on free ports by the
    test, it carries a message from the relay to a claim and an ack, and stops cleanly."""
    from tests.support.env import require
    from tests.support.rabbitmq import Unavailable, private_node

    try:
        context = private_node()
        node = context.__enter__()
    except Unavailable as exc:
        require(False, f"RabbitMQ: {exc}")
        raise
    try:
        assert node.pid() > 0
        with writes() as session, session.begin():
            outbox.insert_messages(session, [("private", {"n": 1})])
        bus = make(node.url, engine, writes, "p.")
        try:
            [message] = bus.claim(10, worker="w").messages
            assert message.topic == "private"
            assert bus.ack([message.id], worker="w") == {message.id}
            assert bus.claim(10, worker="w").messages == ()
        finally:
            bus.close()
    finally:
        context.__exit__(None, None, None)
