"""Completed outbox messages are deleted once past EDOC_OUTBOX_RETENTION_DAYS; nothing else is (SQLite and
PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.exchange.delivery import DeliveryWorker, purge_outbox
from storage.models import Delivery, OutboxMessage, utcnow
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, Env, gateway_env


@pytest.fixture
def env(empty_database_url: str, tmp_path: Path) -> Iterator[Env]:
    yield from gateway_env(empty_database_url, tmp_path, outbox_retention_days=7)


def _add(env: Env, *, done_days_ago: float | None, created_days_ago: float = 30, topic: str = "deliver") -> int:
    now = utcnow()
    with env.gw.writes() as session, session.begin():
        message = OutboxMessage(
            topic=topic,
            payload={"delivery_id": "none"},
            created_at=now - timedelta(days=created_days_ago),
            available_at=now - timedelta(days=created_days_ago),
            done_at=None if done_days_ago is None else now - timedelta(days=done_days_ago),
        )
        session.add(message)
        session.flush()
        return message.id


def _ids(env: Env) -> set[int]:
    with env.gw.sessions() as session:
        return set(session.execute(sa.select(OutboxMessage.id)).scalars())


def test_only_messages_completed_before_the_retention_go(env: Env) -> None:
    old = {_add(env, done_days_ago=8), _add(env, done_days_ago=30, topic="auto_status")}
    recent = _add(env, done_days_ago=6)
    waiting = _add(env, done_days_ago=None, created_days_ago=60)  # never completed: kept whatever its age
    assert purge_outbox(env.gw) == 2
    assert _ids(env) == {recent, waiting}
    assert purge_outbox(env.gw) == 0
    assert old.isdisjoint(_ids(env))


def test_the_purge_goes_in_batches_until_nothing_is_left(env: Env) -> None:
    kept = _add(env, done_days_ago=1)
    for _ in range(7):
        _add(env, done_days_ago=10)
    assert purge_outbox(env.gw, batch=3) == 7
    assert _ids(env) == {kept}


def test_retention_zero_keeps_everything(empty_database_url: str, tmp_path: Path) -> None:
    for env in gateway_env(empty_database_url, tmp_path, outbox_retention_days=0):
        ids = {_add(env, done_days_ago=400), _add(env, done_days_ago=None)}
        assert purge_outbox(env.gw) == 0
        assert _ids(env) == ids


def test_a_delivered_document_keeps_its_record_when_its_messages_go(env: Env) -> None:
    resp = submit(env, "A", header(A, [B]))
    assert resp.status_code == 202, resp.text
    worker = DeliveryWorker(env.gw, name="purge-test")
    while worker.run_once():
        pass
    later = utcnow() + timedelta(days=8)
    assert purge_outbox(env.gw, now=later) >= 1
    assert _ids(env) == set()
    with env.gw.sessions() as session:
        states = session.execute(sa.select(Delivery.to_code, Delivery.state)).all()
    assert [tuple(s) for s in states] == [(B, "delivered")]
    listed = env.http.get("/api/v1/inbox", headers=env.as_("B")).json()["items"]
    assert [item["id"] for item in listed] == [resp.json()["id"]]


def test_the_running_worker_purges_when_idle(env: Env) -> None:
    old = _add(env, done_days_ago=9)
    kept = _add(env, done_days_ago=2)
    stop = threading.Event()
    thread = threading.Thread(target=DeliveryWorker(env.gw, name="purge-loop").run_forever, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while old in _ids(env) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        env.gw.wakeup.set()
        thread.join(timeout=10)
    assert _ids(env) == {kept}
