"""The few hot PostgreSQL statements of the HTTP API, run from the event loop without a thread hop.

A plain ``def`` route (or ``run_in_threadpool``) costs a trip to a worker thread and back: the thread is woken, the
event loop is woken when it is done, and the two hand the GIL over twice. Under concurrent load on the 2-core
reference machine that trip cost 0.3-0.4 ms of CPU per request, more than the one short statement most of these
requests run (a FastAPI route answering ``{"status": "ok"}``: 0.20 ms of server CPU per request as ``async def``,
0.45 as ``def``; the same route running one ``SELECT``: 0.46 ms through psycopg's async connection on the loop,
0.90 through a synchronous connection in the thread pool; 8 concurrent keep-alive clients, 2026-12). The saving
is a request's own: in a process whose thread pool is busy with submits anyway, fetches and acks cost about the
same either way, and the exchange bench at saturation showed no difference beyond its noise.

:class:`AsyncDriver` runs such a statement through psycopg's own asynchronous connection, from a pool
(``psycopg_pool``, psycopg's maintained pool) opened by the application's lifespan on its event loop. It keeps
:func:`storage.db.run_on_driver`'s contract: one statement that is a whole transaction by itself (autocommit), its
rows as tuples, psycopg's errors raised as SQLAlchemy's (``IntegrityError``, ``OperationalError``, ...) so callers
and error handlers treat both paths alike. A connection that broke is not handed back to the pool: the pool
replaces it in the background.

Only PostgreSQL has one: SQLite's driver is synchronous, and there the routes run their synchronous twin in the
thread pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Engine

from storage.db import driver_error, is_postgresql

__all__ = ["AsyncDriver"]


class AsyncDriver:
    """A pool of psycopg async connections (autocommit) to the database of ``engine``; open it on the event loop
    that will use it (:meth:`open`), close it there (:meth:`close`)."""

    def __init__(self, engine: Engine, *, max_size: int = 8, timeout: float = 10.0) -> None:
        if not is_postgresql(engine):
            raise ValueError(f"AsyncDriver is for PostgreSQL, not {engine.dialect.name}")
        from psycopg_pool import AsyncConnectionPool

        # The engine's own connection arguments (host, port, user, password, database, query options), so both
        # pools reach the same database the same way.
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        conninfo = args[0] if args else ""
        self._engine = engine
        self._pool = AsyncConnectionPool(
            conninfo,
            kwargs={**kwargs, "autocommit": True},
            min_size=1,
            max_size=max(1, max_size),
            timeout=timeout,
            open=False,
            name="edoc-async",
        )

    async def open(self) -> AsyncDriver:
        """Open the pool; its connections are made in the background. Like the engine's lazy pool, this does not
        wait for the database: an HTTP process starts while the database is down (``/readyz`` says so), its
        statements fail meanwhile (after ``timeout`` seconds without a connection, as ``OperationalError``), and
        the pool keeps trying to connect, logging each failure (logger ``psycopg.pool``)."""
        await self._pool.open(wait=False)
        return self

    @property
    def closed(self) -> bool:
        return bool(self._pool.closed)

    def statements(self) -> int:
        """How many statements were given a connection so far (psycopg_pool's ``requests_num``)."""
        return int(self._pool.get_stats().get("requests_num", 0))

    async def close(self) -> None:
        await self._pool.close()

    async def run(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """``sql`` (psycopg's ``%(name)s`` placeholders, one statement) in autocommit; its rows ([] if none)."""
        import psycopg
        from psycopg.pq import ExecStatus

        try:
            async with self._pool.connection() as conn, conn.cursor() as cursor:
                await cursor.execute(sql, params)
                result = cursor.pgresult
                if result is not None and result.status == ExecStatus.TUPLES_OK:
                    return await cursor.fetchall()
                return []
        except psycopg.Error as exc:
            # The pool has already dropped a connection that is closed or not idle; say so to the caller as
            # SQLAlchemy does for its own connections.
            broken = isinstance(exc, psycopg.OperationalError)
            if broken:
                # A server restart breaks every pooled connection at once. Like the engine's pool, which then
                # invalidates all of its connections, test the idle ones now (one round trip each) and replace the
                # broken, so that one statement fails rather than one per stale connection.
                await self._pool.check()
            raise driver_error(self._engine, sql, params, exc, broken=broken) from exc
