"""What only the ``amqp://`` bus does, against a real RabbitMQ (the shared contract is tests/contract/test_bus.py):
the broker's own dead-lettering (``x-delivery-limit``) lands in the database's dead letters, credentials stay out
of logs, and the bus runs on a private node started by the test."""

from __future__ import annotations

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


def make(amqp_url: str, engine: Engine, writes: sessionmaker[Session], prefix: str, *,
         schedule: tuple[float, ...] = (1.0,), **query: int) -> AmqpBus:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    bus = buses.from_url(f"{amqp_url}?prefix={prefix}{extra}", engine=engine, writes=writes,
                         retry_schedule=schedule, lease_seconds=30)
    assert isinstance(bus, AmqpBus)
    return bus


def crash_with(bus: AmqpBus) -> None:
    """The consumer dies holding what it was handed: its connection closes with no ack and no reject."""
    bus._stopping = True
    bus._call(bus._disconnect(), timeout=10)


def test_a_message_that_keeps_crashing_its_consumers_is_retried_on_the_schedule_then_dead(
    amqp_url: str, engine: Engine, writes: sessionmaker[Session]
) -> None:
    """Past the broker's delivery limit, a message counts one failed attempt: published afresh after the
    schedule's delay; past the last delay, dead in the database (listed like any other dead letter)."""
    prefix = f"p{uuid.uuid4().hex[:8]}."
    with writes() as session, session.begin():
        outbox.insert_messages(session, [("poison", {"n": 1})])
    crashes, dead = 0, []
    while not dead and crashes < 12:  # the schedule (0.2,): one retry, so two rounds of the delivery limit
        crashing = make(amqp_url, engine, writes, prefix, schedule=(0.2,), delivery_limit=1)
        handed = [m for _ in range(20) for m in crashing.claim(10, worker="crashes").messages][:1]
        crash_with(crashing)
        crashes += 1
        with writes() as session:
            dead = outbox.dead_letters(session, offset=0, limit=10)
        assert dead or [m.topic for m in handed] == ["poison"]
    assert [(d.topic, d.attempts) for d in dead] == [("poison", 2)]
    assert crashes >= 4  # delivery limit 1: two deliveries per attempt, two attempts
    assert dead[0].last_error and "delivery limit" in dead[0].last_error


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


def test_a_message_no_queue_takes_is_not_marked_published(
    amqp_url: str, engine: Engine, writes: sessionmaker[Session]
) -> None:
    """``mandatory``: a message the broker cannot route comes back as an error, so the relay leaves its row
    unpublished (and publishes it again later) instead of marking it on the broker's confirm."""
    import asyncio

    import aio_pika
    import sqlalchemy as sa

    from storage.models import OUTBOX

    prefix = f"m{uuid.uuid4().hex[:8]}."
    bus = make(amqp_url, engine, writes, prefix, shards=1)
    try:
        assert bus.claim(10, worker="w").messages == ()  # connected, topology declared

        async def delete_the_queue() -> None:
            connection = await aio_pika.connect(amqp_url)
            channel = await connection.channel()
            await channel.queue_delete(f"{prefix}edoc.work.0")
            await connection.close()

        asyncio.run(delete_the_queue())
        with writes() as session, session.begin():
            outbox.insert_messages(session, [("lost", {"n": 1})])
        for _ in range(4):
            assert bus.claim(10, worker="w").messages == ()
        with writes() as session:
            published = session.execute(sa.select(OUTBOX.c.published_at)).scalars().all()
        assert published == [None]
    finally:
        bus.close()


def test_check_names_a_broker_that_is_away_and_answers_from_a_cache(
    amqp_url: str, engine: Engine, writes: sessionmaker[Session]
) -> None:
    """``/readyz``'s probe: a real connection to the vhost, the failure's kind only (no address), and not a new
    connection per call (anyone may call ``/readyz``)."""
    from service.bus.interfaces import BrokerUnavailable
    from tests.support.server import free_port

    make(amqp_url, engine, writes, "check.").check()
    port = free_port()
    away = buses.from_url(f"amqp://guest:secret@127.0.0.1:{port}/", engine=engine, writes=writes,
                          retry_schedule=(1.0,), lease_seconds=30)
    with pytest.raises(BrokerUnavailable) as caught:
        away.check()
    assert caught.value.code == "broker_unavailable"
    assert str(port) not in str(caught.value) and "secret" not in str(caught.value)
    checked_at = away._checked[0]  # type: ignore[attr-defined]
    with pytest.raises(BrokerUnavailable):
        away.check()
    assert away._checked[0] == checked_at  # type: ignore[attr-defined]  # the cached answer, no second probe
