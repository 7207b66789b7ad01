"""storage.aio.AsyncDriver: the busiest routes' one statement, run from the event loop (PostgreSQL).

The same contract as storage.db.run_on_driver, which these tests mirror: rows back as tuples, autocommit, psycopg's
errors as SQLAlchemy's, and a connection the server dropped failing one call and then replaced. Each test runs its
own event loop (asyncio.run), as an HTTP process's lifespan does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.aio import AsyncDriver
from storage.db import create_engine


@pytest.fixture
def engine(probe_engine: Engine) -> Engine:
    return probe_engine  # its table: driver_probe (k, v)


def with_driver(engine: Engine, body: Callable[[AsyncDriver], Awaitable[Any]], **kwargs: Any) -> Any:
    async def main() -> Any:
        aio = await AsyncDriver(engine, **kwargs).open()
        try:
            return await body(aio)
        finally:
            await aio.close()

    return asyncio.run(main())


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM driver_probe")).scalar_one())


def test_rows_come_back_as_tuples_and_each_statement_commits(engine: Engine) -> None:
    async def body(aio: AsyncDriver) -> list[Any]:
        return [
            await aio.run("INSERT INTO driver_probe (k, v) VALUES (%(k)s, %(v)s) RETURNING k, v", {"k": "a", "v": 1}),
            await aio.run("INSERT INTO driver_probe (k, v) VALUES (%(k)s, 2)", {"k": "b"}),
            await aio.run("SELECT v FROM driver_probe WHERE k = %(k)s", {"k": "nobody"}),
            await aio.run("SELECT k FROM driver_probe WHERE k = ANY(%(ks)s) ORDER BY k", {"ks": ["a", "b", "c"]}),
        ]

    assert with_driver(engine, body) == [[("a", 1)], [], [], [("a",), ("b",)]]
    assert _count(engine) == 2  # autocommit: another connection sees both rows


def test_a_unique_violation_is_sqlalchemys_integrity_error_and_the_pool_goes_on(engine: Engine) -> None:
    statement = "INSERT INTO driver_probe (k, v) VALUES (%(k)s, %(v)s)"

    async def body(aio: AsyncDriver) -> Any:
        await aio.run(statement, {"k": "a", "v": 1})
        with pytest.raises(sa.exc.IntegrityError) as refused:
            await aio.run(statement, {"k": "a", "v": 2})
        assert refused.value.connection_invalidated is False
        with pytest.raises(sa.exc.ProgrammingError):
            await aio.run("SELECT no_such_column FROM driver_probe", {})
        return await aio.run("SELECT v FROM driver_probe WHERE k = %(k)s", {"k": "a"})

    assert with_driver(engine, body, max_size=1) == [(1,)]  # one connection: it came back usable each time


def test_a_connection_the_server_dropped_fails_one_call_and_is_replaced(engine: Engine) -> None:
    async def body(aio: AsyncDriver) -> Any:
        [(pid,)] = await aio.run("SELECT pg_backend_pid()", {})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        with pytest.raises(sa.exc.OperationalError) as failed:
            await aio.run("SELECT 1", {})
        assert failed.value.connection_invalidated is True
        [(again,)] = await aio.run("SELECT pg_backend_pid()", {})
        return pid, again

    pid, again = with_driver(engine, body, max_size=1, timeout=10)
    assert again != pid  # a new server process: the broken connection was not handed out again


def test_concurrent_statements_share_the_pool(engine: Engine) -> None:
    async def body(aio: AsyncDriver) -> Any:
        insert = "INSERT INTO driver_probe (k, v) VALUES (%(k)s, %(v)s)"
        await asyncio.gather(*(aio.run(insert, {"k": f"k{n}", "v": n}) for n in range(40)))
        return await aio.run("SELECT count(*), sum(v) FROM driver_probe", {})

    assert with_driver(engine, body, max_size=3) == [(40, sum(range(40)))]


def test_it_is_for_postgresql_only(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with pytest.raises(ValueError, match="AsyncDriver is for PostgreSQL, not sqlite"):
            AsyncDriver(engine)
    finally:
        engine.dispose()


def test_an_unreachable_server_does_not_stop_the_start_and_fails_statements_as_operational_errors() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # nothing listens on port 1

    async def body(aio: AsyncDriver) -> float:
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="couldn't get a connection after 1"):
            await aio.run("SELECT 1", {})
        return time.monotonic() - started

    try:
        assert with_driver(engine, body, timeout=1) < 5
    finally:
        engine.dispose()


def test_after_the_server_dropped_every_connection_only_one_call_fails(engine: Engine) -> None:
    """A database restart breaks every pooled connection at once. As with the engine's pool (which invalidates
    all its connections on the first disconnect), one statement fails and the next ones get working connections,
    not one failure per stale connection."""

    async def body(aio: AsyncDriver) -> tuple[int, int]:
        barrier = asyncio.Barrier(3)

        async def hold() -> int:  # three statements at once: the pool opens three connections
            async with aio._pool.connection() as conn:  # the pool itself: run() holds none open
                await barrier.wait()
                cursor = await conn.execute("SELECT pg_backend_pid()")
                row = await cursor.fetchone()
                assert row is not None
                return int(row[0])

        pids = await asyncio.gather(hold(), hold(), hold())
        with engine.connect() as conn:
            for pid in pids:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        failed = 0
        for _ in range(6):
            try:
                await aio.run("SELECT 1", {})
            except sa.exc.OperationalError:
                failed += 1
        return len(set(pids)), failed

    opened, failed = with_driver(engine, body, max_size=3, timeout=10)
    assert opened == 3 and failed == 1
