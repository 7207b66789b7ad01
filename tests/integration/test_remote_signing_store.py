"""storage/remote_signing.py on SQLite and PostgreSQL: one claim at a time, one ending per transaction (a second
finisher learns it lost), what the poller finds due; and the SSRF guard of the signing webhook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from service.exchange.errors import Invalid
from service.webhooks import check_url
from storage import remote_signing as repo
from storage.db import create_engine, session_factory, writer_session_factory
from storage.migrate import upgrade
from storage.models import REMOTE_SIGNINGS, utcnow


@pytest.fixture
def writes(empty_database_url: str) -> Iterator[tuple[Any, Any]]:
    upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    yield writer_session_factory(engine), session_factory(engine)
    engine.dispose()


def _new(writes: Any) -> str:
    with writes() as session, session.begin():
        return repo.create(session, provider="vnpt", credential_id="u/1", state={"version": 1}, options={},
                           prepared_sha256="0" * 64, prepared_size=10, client_id=None, webhook_url=None,
                           expires_in=300)


def test_one_claim_at_a_time_and_one_ending(writes):
    w, r = writes
    tx = _new(w)
    with w() as session, session.begin():
        assert repo.mark_pending(session, tx, provider_tx="T1", retry_after=0)
        assert not repo.mark_pending(session, tx, provider_tx="T2", retry_after=0)  # only from starting
    with w() as session, session.begin():
        assert repo.claim(session, tx, worker="a", lease=60)
        assert not repo.claim(session, tx, worker="b", lease=60)  # a holds it
    with w() as session, session.begin():
        assert repo.mark_done(session, tx, result_sha256="1" * 64, result_size=5)
        assert not repo.mark_done(session, tx, result_sha256="2" * 64, result_size=6)  # the loser learns it
        assert not repo.mark_ended(session, tx, "rejected")
    with r() as session:
        row = repo.load(session, tx)
    assert row is not None and row.status == "done" and row.result_sha256 == "1" * 64 and row.provider_tx == "T1"


def test_a_dead_pollers_claim_runs_out(writes):
    w, r = writes
    tx = _new(w)
    with w() as session, session.begin():
        repo.mark_pending(session, tx, provider_tx="T", retry_after=0)
        repo.claim(session, tx, worker="dead", lease=60)
        session.execute(sa.update(REMOTE_SIGNINGS).values(claimed_until=utcnow() - timedelta(seconds=1)))
    with r() as session:
        assert repo.due(session) == [tx]
    with w() as session, session.begin():
        assert repo.claim(session, tx, worker="alive", lease=60)
        repo.record_poll(session, tx, worker="alive", retry_after=60)
    with r() as session:
        row = repo.load(session, tx)
        assert repo.due(session) == []  # next poll in a minute
    assert row is not None and row.polls == 1 and row.status == "pending"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x", "https://10.0.0.8/x", "https://169.254.169.254/latest", "https://[::1]/x",
     "ftp://example.org/x", "https://user:pw@example.org/x", "https://0.0.0.0/x"],
)
def test_webhooks_into_the_gateways_own_network_are_refused(url):
    with pytest.raises(Invalid) as caught:
        check_url(url)
    assert caught.value.code == "webhook_url_refused"


def test_an_allowed_network_may_be_called():
    assert check_url("http://127.0.0.1:9/x", ["127.0.0.0/8"]) == "127.0.0.1"
    with pytest.raises(Invalid):
        check_url("http://127.0.0.1:9/x", ["10.0.0.0/8"])
