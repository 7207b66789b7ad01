"""The delivery worker is a loop over a registry of handlers per topic (service/exchange/handlers/): a new topic
is one handler given to the worker, its failures go through the bus's retry schedule to a dead letter with the
handler's own bookkeeping, and a topic nobody handles is dead-lettered at once, its error naming the topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.bus import Failed, Message
from service.exchange.delivery import DeliveryWorker
from service.exchange.handlers import HANDLERS, Failure, Work
from storage.models import OutboxMessage
from tests.support.gateway import Env


@dataclass
class Probe:
    """A handler for the topic ``probe``: acknowledges payloads with ``ok``, fails the others."""

    topic: str = "probe"
    seen: list[int] = field(default_factory=list)
    failed: list[tuple[int, bool]] = field(default_factory=list)

    def handle(self, work: Work, messages: Sequence[Message]) -> list[Failure]:
        self.seen += [m.payload["n"] for m in messages]
        with work.gw.writes() as session, session.begin():
            work.bus.ack([m.id for m in messages if m.payload["ok"]], worker=work.worker, session=session)
        return [Failure(m.id, f"probe {m.payload['n']} failed") for m in messages if not m.payload["ok"]]

    def on_failure(self, session: Session, failed: Failed, worker: str) -> None:
        self.failed.append((failed.attempts, failed.dead))


def _publish(env: Env, topic: str, *payloads: dict[str, object]) -> None:
    with env.gw.writes() as session, session.begin():
        for payload in payloads:
            env.gw.bus.publish(session, topic, payload)


def _outbox(env: Env, topic: str) -> list[tuple[bool, int, str | None]]:
    with env.gw.sessions() as session:
        rows = session.execute(
            sa.select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
        ).scalars()
        return [(m.done_at is not None, m.attempts, m.last_error) for m in rows]


def test_a_new_topic_is_one_handler(env: Env) -> None:
    probe = Probe()
    worker = DeliveryWorker(env.gw, name="probe-worker", handlers=(*HANDLERS, probe))
    _publish(env, "probe", {"n": 1, "ok": True}, {"n": 2, "ok": False})
    while worker.run_once():
        pass
    # retry_schedule (0, 0) in tests: two retries, then the third failure is the dead letter
    assert probe.seen == [1, 2, 2, 2]
    assert probe.failed == [(1, False), (2, False), (3, True)]
    assert _outbox(env, "probe") == [(True, 0, None), (True, 3, "probe 2 failed")]


def test_a_topic_without_a_handler_is_dead_lettered_at_once(env: Env) -> None:
    _publish(env, "nosuch", {"n": 1})
    assert DeliveryWorker(env.gw, name="w").run_once() == 1
    assert _outbox(env, "nosuch") == [(True, 1, "no handler for topic 'nosuch'")]
