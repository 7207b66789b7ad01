"""A hop that keeps failing is retried on the schedule, then marked dead, visibly; a recovered hop delivers once."""

from __future__ import annotations

import sqlalchemy as sa

from service.exchange.delivery import DeliveryError, DeliveryWorker
from service.routing import Router
from storage.models import OutboxMessage
from tests.support.exchange import header, record, submit
from tests.support.gateway import A, B, D, Env


class FlakyHop:
    """A real transport object with the worker's push contract, failing its first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def push(self, delivery_id: str) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryError(f"peer unreachable (attempt {self.calls})")
        return f"remote-{delivery_id}"

    def __call__(self, session: object, delivery: object) -> None:
        return None


def _worker(env: Env, hop: FlakyHop) -> DeliveryWorker:
    env.gw.router = Router.from_table([(D, "flaky")])
    return DeliveryWorker(env.gw, name="retry-test", transports={"flaky": hop})


def _drain(worker: DeliveryWorker) -> None:
    while worker.run_once():
        pass


def test_failing_hop_goes_dead_after_the_schedule(env: Env) -> None:
    hop = FlakyHop(failures=100)
    worker = _worker(env, hop)
    doc = submit(env, "A", header(A, [B, D])).json()["id"]
    _drain(worker)  # schedule is (0, 0): two retries, then dead
    rec = record(env, "A", doc)
    states = {d["to"]: d for d in rec["deliveries"]}
    assert states[B]["state"] == "delivered"
    assert states[D]["state"] == "dead"
    assert "peer unreachable" in states[D]["last_error"]
    assert hop.calls == len(env.gw.settings.retry_schedule) + 1
    events = env.http.get("/api/v1/events", params={"package_id": doc, "kind": "dead"}, headers=env.as_("auditor"))
    assert [e["agency"] for e in events.json()["items"]] == [D]
    with env.gw.sessions() as session:
        pending = session.execute(sa.select(OutboxMessage).where(OutboxMessage.done_at.is_(None))).scalars().all()
    assert pending == []


def test_hop_that_recovers_delivers_exactly_once(env: Env) -> None:
    hop = FlakyHop(failures=1)
    worker = _worker(env, hop)
    doc = submit(env, "A", header(A, [D])).json()["id"]
    _drain(worker)
    delivery = record(env, "A", doc)["deliveries"][0]
    assert delivery["state"] == "delivered" and delivery["attempts"] >= 2
    assert hop.calls == 2
    _drain(worker)
    assert hop.calls == 2
