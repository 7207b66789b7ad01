"""Dead letters one can act on (issue 22 item 2), on every bus: a message that fails on purpose dies, is listed
by the admin API and ``edoc dead-letters list``, is requeued, and then takes effect exactly once.

Run on ``db://`` (SQLite and PostgreSQL) and on ``amqp://`` (PostgreSQL, a real RabbitMQ).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.bus.interfaces import Failed, Message
from service.exchange import log
from service.exchange.delivery import DeliveryWorker
from service.exchange.handlers import Failure, Work
from storage.models import ExchangeEvent
from tests.support.databases import postgres_admin_url, postgres_available, temporary_postgres_database
from tests.support.env import require
from tests.support.gateway import Env, gateway_env

TOPIC = "probe"


@dataclass
class Probe:
    """A handler of topic ``probe``: refuses every message for good while ``refuse``, else records a
    ``probe_done`` event and acknowledges the message in that transaction."""

    refuse: bool
    topic: str = TOPIC

    def handle(self, work: Work, messages: Sequence[Message]) -> list[Failure]:
        if self.refuse:
            return [Failure(m.id, "the remote node refused it\nfor good (test)", permanent=True) for m in messages]
        with work.gw.writes() as session, session.begin():
            ours = work.bus.ack([m.id for m in messages], worker=work.worker, session=session)
            for message in messages:
                if message.id in ours:
                    log.record(session, "probe_done", actor=work.worker, n=message.payload["n"])
        return []

    def on_failure(self, session: Session, failed: Failed, worker: str) -> None:
        """Nothing of its own."""


@pytest.fixture(params=["db-sqlite", "db-postgresql", "amqp-postgresql"])
def bus_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    bus, database = request.param.split("-")
    if database == "sqlite":
        yield from gateway_env(f"sqlite:///{tmp_path / 'edoc.sqlite3'}", tmp_path)
        return
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()} (set EDOC_TEST_POSTGRES_URL)")
    with temporary_postgres_database() as url:
        if bus == "db":
            yield from gateway_env(url, tmp_path)
        else:
            base: str = request.getfixturevalue("amqp_url")
            yield from gateway_env(url, tmp_path, bus_url=f"{base}?prefix=d{uuid.uuid4().hex[:8]}.")


def rounds(env: Env, handler: Probe, n: int = 6) -> None:
    worker = DeliveryWorker(env.gw, name="dl-worker", handlers=(handler,))
    for _ in range(n):
        worker.run_once()


def done_events(env: Env) -> list[int]:
    with env.gw.sessions() as session:
        rows = session.execute(sa.select(ExchangeEvent.detail).where(ExchangeEvent.kind == "probe_done")).scalars()
        return [d["n"] for d in rows]


def test_a_dead_letter_is_listed_requeued_and_then_takes_effect_once(
    bus_env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    with bus_env.gw.writes() as session, session.begin():
        bus_env.gw.bus.publish(session, TOPIC, {"n": 7})
    with caplog.at_level("ERROR", logger="edoc.delivery"):
        rounds(bus_env, Probe(refuse=True))
    deaths = [r for r in caplog.records if "is dead" in r.getMessage()]
    assert len(deaths) == 1 and "refused" in deaths[0].getMessage()  # logged once, with its reason

    listed = bus_env.http.get("/api/v1/admin/dead-letters", headers=bus_env.as_("admin"))
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 1 and page["offset"] == 0
    [item] = page["items"]
    assert (item["topic"], item["payload"], item["attempts"]) == (TOPIC, {"n": 7}, 1)
    assert item["last_error"].startswith("the remote node refused it") and item["dead_at"]
    refused = bus_env.http.get("/api/v1/admin/dead-letters", headers=bus_env.as_("auditor"))
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")

    requeued = bus_env.http.post(f"/api/v1/admin/dead-letters/{item['id']}/requeue", headers=bus_env.as_("admin"))
    assert requeued.status_code == 200 and requeued.json()["state"] == "requeued"
    again = bus_env.http.post(f"/api/v1/admin/dead-letters/{item['id']}/requeue", headers=bus_env.as_("admin"))
    assert again.status_code == 404 and again.json()["code"] == "dead_letter_not_found"
    assert bus_env.http.get("/api/v1/admin/dead-letters", headers=bus_env.as_("admin")).json()["total"] == 0

    rounds(bus_env, Probe(refuse=False))
    rounds(bus_env, Probe(refuse=False))
    assert done_events(bus_env) == [7]  # exactly once


def test_edoc_dead_letters_list_and_requeue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.cli import app

    url = f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    env = next(gateway_env(url, tmp_path))
    with env.gw.writes() as session, session.begin():
        env.gw.bus.publish(session, TOPIC, {"n": 1})
    rounds(env, Probe(refuse=True))
    for name, value in {"EDOC_DATABASE_URL": url, "EDOC_DATA_DIR": str(tmp_path),
                        "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri(), "COLUMNS": "200"}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    listed = runner.invoke(app, ["dead-letters", "list"])
    assert listed.exit_code == 0, listed.output
    assert "1 dead letter(s)" in listed.output and TOPIC in listed.output
    assert "the remote node refused it" in listed.output and "for good" not in listed.output  # one-line errors
    missing = runner.invoke(app, ["dead-letters", "requeue", "999"])
    assert missing.exit_code != 0 and "no dead letter with id 999" in missing.output
    assert "Traceback" not in missing.output
    requeued = runner.invoke(app, ["dead-letters", "requeue", "1"])
    assert requeued.exit_code == 0 and "requeued" in requeued.output
    rounds(env, Probe(refuse=False))
    assert done_events(env) == [1]
    env.gw.close()


def test_a_dead_delivery_requeued_on_the_broker_bus_is_delivered_once(amqp_url: str, tmp_path: Path) -> None:
    """``amqp://`` hands local deliveries to the deliver handler (no settling in a claim), so a local transport
    that refuses for good kills the delivery itself: dead, listed, requeued, then delivered exactly once."""
    from service.exchange.handlers import DeliveryError, deliver_local
    from tests.support.exchange import header, inbox, record, submit
    from tests.support.gateway import A, B

    def refusing(_session: Session, _delivery: object) -> None:
        raise DeliveryError("B's node refused the package (test)", permanent=True)

    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()} (set EDOC_TEST_POSTGRES_URL)")
    with temporary_postgres_database() as url:
        env_iter = gateway_env(url, tmp_path, bus_url=f"{amqp_url}?prefix=r{uuid.uuid4().hex[:8]}.")
        env = next(env_iter)
        try:
            doc = submit(env, "A", header(A, [B])).json()["id"]
            refuser = DeliveryWorker(env.gw, name="refuser", transports={"local": refusing})
            for _ in range(4):
                refuser.run_once()
            assert [d["state"] for d in record(env, "A", doc)["deliveries"]] == ["dead"]
            [item] = env.http.get("/api/v1/admin/dead-letters", headers=env.as_("admin")).json()["items"]
            assert item["topic"] == "deliver" and "refused" in item["last_error"]
            assert env.http.post(f"/api/v1/admin/dead-letters/{item['id']}/requeue",
                                 headers=env.as_("admin")).status_code == 200
            worker = DeliveryWorker(env.gw, name="worker", transports={"local": deliver_local})
            for _ in range(4):
                worker.run_once()
            assert [i["id"] for i in inbox(env, "B")] == [doc]
            with env.gw.sessions() as session:
                delivered = session.execute(sa.select(sa.func.count()).select_from(ExchangeEvent).where(
                    ExchangeEvent.kind == "delivered", ExchangeEvent.package_id == doc)).scalar_one()
            assert delivered == 1
        finally:
            env.gw.close()  # the bus's relay and consumers stop before the database goes
            env_iter.close()
