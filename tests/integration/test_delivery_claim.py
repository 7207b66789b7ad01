"""One claiming round of the ``db://`` bus (service/bus/db.py), message by message (PostgreSQL claims in one
statement, SQLite in a transaction; both must leave these rows): a pending local delivery is delivered, logged
and done; a redelivered message whose delivery is already delivered is done without a second event; a message
whose delivery is gone is done; a pending remote delivery and the other topics are leased to the worker."""

from __future__ import annotations

import sqlalchemy as sa

from service.bus import Claimed
from service.exchange.delivery import DeliveryWorker
from service.routing import Router
from storage.models import Delivery, ExchangeEvent, OutboxMessage
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, C, Env


def test_a_claiming_round_delivers_completes_and_leases(env: Env) -> None:
    env.gw.router = Router.from_table([(C, "peer")])  # C is served by another node: its delivery is a remote hop
    doc = submit(env, "A", header(A, [B, C])).json()["id"]
    with env.gw.writes() as session, session.begin():
        query = sa.select(Delivery.to_code, Delivery.id).where(Delivery.package_id == doc)
        deliveries = dict(session.execute(query).all())
        session.add(OutboxMessage(topic="deliver", payload={"delivery_id": "0" * 32}))  # its delivery is gone
    worker = DeliveryWorker(env.gw, name="claim-test", transports={"peer": lambda _session, _delivery: None})

    claimed = env.gw.bus.claim(100, worker=worker.name)  # the db:// bus settles local deliveries in its claim
    done, leased = claimed.settled, claimed.messages

    with env.gw.sessions() as session:
        states = dict(session.execute(sa.select(Delivery.to_code, Delivery.state)).all())
        messages = {
            (m.topic, m.payload.get("delivery_id") or m.payload.get("position")): (m.done_at is not None, m.locked_by)
            for m in session.execute(sa.select(OutboxMessage)).scalars()
        }
        events = session.execute(
            sa.select(ExchangeEvent.agency_code, ExchangeEvent.actor, ExchangeEvent.detail)
            .where(ExchangeEvent.kind == "delivered")
        ).all()
    assert states == {B: "delivered", C: "pending"}
    assert messages == {
        ("deliver", deliveries[B]): (True, None),  # delivered here
        ("deliver", "0" * 32): (True, None),  # nothing to deliver any more
        ("deliver", deliveries[C]): (False, "claim-test"),  # the remote hop, leased
        ("verify_attachment", 0): (False, "claim-test"),  # the attachment check, leased
    }
    assert done == 2 and sorted(m.topic for m in leased) == ["deliver", "verify_attachment"]
    assert all(isinstance(m.payload, dict) for m in leased)
    assert [tuple(e) for e in events] == [(B, "worker:claim-test", {"route": "local", "kind": "edoc"})]

    # The same message again (a crash after the delivery's commit, before its message was marked done): done, and
    # no second event.
    with env.gw.writes() as session, session.begin():
        session.add(OutboxMessage(topic="deliver", payload={"delivery_id": deliveries[B]}))
    assert env.gw.bus.claim(100, worker=worker.name) == Claimed((), 1)
    with env.gw.sessions() as session:
        assert session.execute(
            sa.select(sa.func.count()).select_from(ExchangeEvent).where(ExchangeEvent.kind == "delivered")
        ).scalar_one() == 1
