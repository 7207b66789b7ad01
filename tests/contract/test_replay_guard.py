"""The VXP replay guard's contract (service/vxp/interfaces.py ReplayGuard), written once and run against every
backend (STYLE.md 3): the in-memory guard (tests, one process) and the database guard on SQLite and PostgreSQL
(several replicas share it). A captured call replayed within its validity window must be recognised; an expired
one may come again; two concurrent calls with the same signature get one "new" and one "seen"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from service.vxp.interfaces import ReplayGuard
from service.vxp.replay import InMemoryReplayGuard
from service.vxp.systems import DatabaseReplayGuard
from storage.db import create_engine
from storage.migrate import upgrade


def _in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


class ReplayGuardContract:
    """Subclass with a ``guard`` fixture: a fresh guard that forgets expired signatures at its next call."""

    def test_a_replayed_signature_is_recognised(self, guard: ReplayGuard) -> None:
        assert guard.seen_before("vxp.h53", "sig-1", _in(300)) is False
        assert guard.seen_before("vxp.h53", "sig-1", _in(300)) is True
        assert guard.seen_before("vxp.h53", "sig-1", _in(300)) is True

    def test_signatures_are_per_system(self, guard: ReplayGuard) -> None:
        assert guard.seen_before("vxp.h53", "sig-2", _in(300)) is False
        assert guard.seen_before("vxp.g22", "sig-2", _in(300)) is False
        assert guard.seen_before("vxp.h53", "sig-3", _in(300)) is False

    def test_an_expired_signature_may_come_again(self, guard: ReplayGuard) -> None:
        assert guard.seen_before("vxp.h53", "old", _in(-1)) is False
        assert guard.seen_before("vxp.h53", "fresh", _in(300)) is False  # any later call forgets the expired one
        assert guard.seen_before("vxp.h53", "old", _in(300)) is False
        assert guard.seen_before("vxp.h53", "fresh", _in(300)) is True

    def test_concurrent_calls_with_one_signature_get_one_new(self, guard: ReplayGuard) -> None:
        start = threading.Barrier(8)

        def call(_: int) -> bool:
            start.wait(10)
            return guard.seen_before("vxp.h53", "race", _in(300))

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(call, range(8)))
        assert sorted(answers) == [False] + [True] * 7

    def test_long_identifiers_are_accepted(self, guard: ReplayGuard) -> None:
        signature = "A" * 512  # a base64 HMAC is 44 characters; a hostile header may be far longer
        assert guard.seen_before("vxp." + "x" * 200, signature, _in(300)) is False
        assert guard.seen_before("vxp." + "x" * 200, signature, _in(300)) is True


class TestInMemoryReplayGuard(ReplayGuardContract):
    @pytest.fixture
    def guard(self) -> ReplayGuard:
        return InMemoryReplayGuard()


class TestDatabaseReplayGuard(ReplayGuardContract):
    """On SQLite and on PostgreSQL (the ``empty_database_url`` parameters)."""

    @pytest.fixture
    def guard(self, empty_database_url: str) -> Iterator[ReplayGuard]:
        upgrade(empty_database_url)
        engine = create_engine(empty_database_url)
        yield DatabaseReplayGuard(engine, purge_seconds=0)
        engine.dispose()
