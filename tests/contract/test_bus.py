"""The bus port's contract, written once and run against every backend (STYLE.md 3): ``db://`` and ``amqp://``
(a real RabbitMQ, a vhost of the test session), each on SQLite and on PostgreSQL (one class, parametrized)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service import bus as buses
from service.bus import Bus, UnknownBus
from storage.db import create_engine, writer_session_factory
from storage.migrate import upgrade

MakeBus = Callable[..., Bus]
Transaction = Callable[[], AbstractContextManager[Session]]

SCHEDULE = (0.6, 1.2)  # seconds before the 2nd and the 3rd attempt; the 3rd failure is dead


class BusContract:
    """Subclass with ``make_bus(*, retry_schedule, lease_seconds)`` (a fresh, empty bus each time it is called
    the first time; later calls share its queue) and ``transaction()`` (a context whose session commits when it
    ends without an error) fixtures."""

    @staticmethod
    def publish(bus: Bus, transaction: Transaction, *payloads: dict[str, Any], topic: str = "test") -> None:
        with transaction() as session:
            for payload in payloads:
                bus.publish(session, topic, payload)

    def test_it_is_a_bus(self, make_bus: MakeBus) -> None:
        assert isinstance(make_bus(), Bus)

    def test_publish_many_keeps_order_and_the_transaction(self, make_bus: MakeBus, transaction: Transaction) -> None:
        bus = make_bus()
        with transaction() as session:
            bus.publish_many(session, [("a", {"n": 1}), ("b", {"n": 2}), ("a", {"n": 3})])
        with pytest.raises(RuntimeError), transaction() as session:
            bus.publish_many(session, [("a", {"n": 4})])
            raise RuntimeError("roll back")
        claimed = bus.claim(10, worker="w1")
        assert [(m.topic, dict(m.payload)) for m in claimed.messages] == [("a", {"n": 1}), ("b", {"n": 2}),
                                                                          ("a", {"n": 3})]

    def test_publish_claim_ack(self, make_bus: MakeBus, transaction: Transaction) -> None:
        bus = make_bus(lease_seconds=0.3)
        self.publish(bus, transaction, {"n": 1}, {"n": 2}, {"n": "ba"})
        claimed = bus.claim(10, worker="w1")
        assert [(m.topic, dict(m.payload)) for m in claimed.messages] == [
            ("test", {"n": 1}), ("test", {"n": 2}), ("test", {"n": "ba"})
        ]
        assert bus.claim(10, worker="w2").messages == ()  # leased to w1
        assert bus.ack([m.id for m in claimed.messages], worker="w1") == {m.id for m in claimed.messages}
        time.sleep(0.4)  # past the lease: an acknowledged message never comes back
        assert bus.claim(10, worker="w2").messages == ()

    def test_a_message_exists_only_if_its_transaction_commits(
        self, make_bus: MakeBus, transaction: Transaction
    ) -> None:
        bus = make_bus()
        with pytest.raises(RuntimeError), transaction() as session:
            bus.publish(session, "test", {"n": 1})
            raise RuntimeError("the submit failed")
        assert bus.claim(10, worker="w1").messages == ()

    def test_claim_takes_at_most_limit_in_publication_order(
        self, make_bus: MakeBus, transaction: Transaction
    ) -> None:
        bus = make_bus()
        self.publish(bus, transaction, *({"n": n} for n in range(5)))
        first = bus.claim(3, worker="w1").messages
        second = bus.claim(3, worker="w1").messages
        assert [m.payload["n"] for m in first] == [0, 1, 2] and [m.payload["n"] for m in second] == [3, 4]

    def test_an_expired_lease_makes_the_message_claimable_again(
        self, make_bus: MakeBus, transaction: Transaction
    ) -> None:
        bus = make_bus(lease_seconds=0.5)
        self.publish(bus, transaction, {"n": 1})
        [message] = bus.claim(10, worker="dies").messages
        time.sleep(0.6)
        [again] = bus.claim(10, worker="w2").messages
        assert again.id == message.id and dict(again.payload) == {"n": 1}
        assert bus.ack([message.id], worker="dies") == set()  # the lease is w2's now
        assert bus.ack([message.id], worker="w2") == {message.id}

    def test_retries_follow_the_schedule_then_the_message_is_dead(
        self, make_bus: MakeBus, transaction: Transaction
    ) -> None:
        bus = make_bus(retry_schedule=SCHEDULE, lease_seconds=30)
        self.publish(bus, transaction, {"n": 1})
        outcomes = []
        for attempt, delay in enumerate((*SCHEDULE, None), start=1):
            [message] = bus.claim(10, worker="w1").messages
            with transaction() as session:
                failed = bus.retry(session, message.id, f"attempt {attempt} failed")
            assert failed is not None
            outcomes.append((failed.attempts, failed.dead, failed.error))
            if delay is None:
                break
            retried_at = time.monotonic()
            early = bus.claim(10, worker="w1").messages
            if time.monotonic() - retried_at < delay - 0.1:  # not yet due (a machine that slow proves nothing)
                assert early == ()
            time.sleep(max(0.0, retried_at + delay + 0.05 - time.monotonic()))
        assert outcomes == [(1, False, "attempt 1 failed"), (2, False, "attempt 2 failed"),
                            (3, True, "attempt 3 failed")]
        time.sleep(SCHEDULE[-1] + 0.1)
        assert bus.claim(10, worker="w1").messages == ()  # dead: never handed out again

    def test_dead_letter_is_final_at_once(self, make_bus: MakeBus, transaction: Transaction) -> None:
        bus = make_bus(lease_seconds=0.3)
        self.publish(bus, transaction, {"n": 1}, {"n": 2})
        first, second = bus.claim(10, worker="w1").messages
        with transaction() as session:
            failed = bus.dead_letter(session, first.id, "refused by the remote")
        assert failed is not None and failed.dead and failed.attempts == 1
        assert dict(failed.message.payload) == {"n": 1} and failed.message.topic == "test"
        time.sleep(0.4)
        assert [m.id for m in bus.claim(10, worker="w2").messages] == [second.id]

    def test_retry_of_a_message_that_is_gone_answers_none(self, make_bus: MakeBus, transaction: Transaction) -> None:
        bus = make_bus()
        with transaction() as session:
            assert bus.retry(session, 987654, "gone") is None
            assert bus.dead_letter(session, 987654, "gone") is None

    def test_no_message_is_claimed_twice_by_concurrent_claimers(
        self, make_bus: MakeBus, transaction: Transaction
    ) -> None:
        bus = make_bus(lease_seconds=60)  # no lease expires during the test: a second claim would be a bug
        total = 240
        self.publish(bus, transaction, *({"n": n} for n in range(total)))
        claims: list[list[int]] = []
        lock = threading.Lock()
        errors: list[BaseException] = []

        def claimer(name: str) -> None:
            try:
                empty = 0
                while empty < 3:
                    ids = [m.id for m in bus.claim(7, worker=name).messages]
                    empty = 0 if ids else empty + 1
                    with lock:
                        claims.append(ids)
                    bus.ack(ids, worker=name)
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        claimed = [i for ids in claims for i in ids]
        assert len(claimed) == total and len(set(claimed)) == total


class TestBus(BusContract):
    """Every backend (``db://``, ``amqp://``) on SQLite and on PostgreSQL (the ``empty_database_url`` parameters)."""

    @pytest.fixture(params=["db", "amqp"])
    def bus_url(self, request: pytest.FixtureRequest) -> str:
        if request.param == "db":
            return "db://"
        base: str = request.getfixturevalue("amqp_url")  # queues of their own for each test: prefix
        return f"{base}?prefix=t{uuid.uuid4().hex[:8]}."

    @pytest.fixture
    def engine(self, empty_database_url: str) -> Iterator[Engine]:
        upgrade(empty_database_url)
        engine = create_engine(empty_database_url)
        yield engine
        engine.dispose()

    @pytest.fixture
    def writes(self, engine: Engine) -> sessionmaker[Session]:
        return writer_session_factory(engine)

    @pytest.fixture
    def make_bus(self, engine: Engine, writes: sessionmaker[Session], bus_url: str) -> Iterator[MakeBus]:
        made: list[Bus] = []

        def make(*, retry_schedule: tuple[float, ...] = SCHEDULE, lease_seconds: float = 30.0) -> Bus:
            bus = buses.from_url(bus_url, engine=engine, writes=writes,
                                 retry_schedule=retry_schedule, lease_seconds=lease_seconds)
            made.append(bus)
            return bus

        yield make
        for bus in made:
            close = getattr(bus, "close", None)
            if close is not None:
                close()

    @pytest.fixture
    def transaction(self, writes: sessionmaker[Session]) -> Transaction:
        @contextmanager
        def begin() -> Iterator[Session]:
            with writes() as session, session.begin():
                yield session

        return begin


def test_an_unknown_bus_scheme_names_the_known_ones() -> None:
    with pytest.raises(UnknownBus, match=r"'nosuch'.*known: db://"):
        buses.from_url("nosuch://", engine=None)


def test_db_bus_takes_no_host() -> None:
    with pytest.raises(ValueError, match="db:// alone"):
        buses.from_url("db://somewhere", engine=None, writes=None, retry_schedule=(), lease_seconds=1)
