"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production), one code path.

SQLite is tuned for a single-node gateway: WAL journal (readers never block the writer), foreign keys on, a busy
timeout so concurrent writers queue instead of failing, and ``BEGIN IMMEDIATE`` for writer sessions so a
transaction that will write takes the write lock up front rather than failing half-way with "database is
locked".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import DatabaseUnavailable, InvalidValue, StorageError, UnknownBackend

__all__ = [
    "autocommit",
    "create_engine",
    "driver_error",
    "is_postgresql",
    "is_sqlite",
    "maintenance_warnings",
    "read_rows",
    "run_on_driver",
    "session_factory",
    "translate_error",
    "writer_session_factory",
]

_KNOWN = ("sqlite", "postgresql")


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://…``; a clear error for anything else."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise UnknownBackend(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() not in _KNOWN:
        raise UnknownBackend(
            f"unsupported database {parsed.get_backend_name()!r} in {url!r}; use sqlite:///… or postgresql+psycopg://…"
        )
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    # No pre-ping: it costs a round trip (and two autocommit switches) on every checkout, i.e. on every request.
    # A connection broken by a server restart fails its statement instead; SQLAlchemy then sees the disconnect and
    # invalidates every pooled connection older than it, so only requests in flight at that moment fail (clients
    # retry with their idempotency key; the delivery worker retries its batch). Recycling bounds a connection's
    # life below common idle timeouts of proxies and firewalls.
    kwargs.setdefault("pool_recycle", 1800)
    return sa.create_engine(url, **kwargs)


#: Modes of what the embedded tier creates: the database holds inline documents and key hashes (issue 17).
PRIVATE_FILE, PRIVATE_FOLDER = 0o600, 0o700


def _create_private_sqlite_file(url: str) -> None:
    """Create the SQLite file (and its folder) readable by this user only, before SQLite creates it with the
    process's umask (0644 by default). SQLite gives its -wal and -shm files the database file's mode. An existing
    file is left as it is: its mode is the operator's."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = os.path.abspath(database)
    os.makedirs(os.path.dirname(path), mode=PRIVATE_FOLDER, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    _create_private_sqlite_file(url)
    kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below drive transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading.

    SQLite: deferred transactions, which never block other readers. PostgreSQL: autocommit, i.e. no BEGIN and no
    ROLLBACK round trips around the one or two SELECTs of a read (the inbox, a package's bytes, the checks before
    a submit); under READ COMMITTED every statement takes its own snapshot anyway, so a read sees the same rows
    either way. Never write through these sessions: use :func:`writer_session_factory`.
    """
    if is_postgresql(engine):
        return sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
    return sessionmaker(engine, expire_on_commit=False)


def autocommit(engine: Engine) -> sa.Connection:
    """A connection in autocommit, for one statement that is a whole transaction by itself (PostgreSQL's
    single-statement submit, ack and claim): no BEGIN and COMMIT round trips. Use as a context manager."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def run_on_driver(engine: Engine, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """PostgreSQL: ``sql`` (psycopg's ``%(name)s`` placeholders), one statement that is a whole transaction by
    itself, run in autocommit by the driver on a pooled connection; the rows it returns ([] if it returns none).

    For the few statements every document runs, once or twice each: the submit's replay check and its insert, the
    recipients' fetch of the package and their ack, the national axis's nonce. SQLAlchemy's connection, execution
    context and result objects around one short statement cost about 0.1 ms of client CPU more than the driver
    alone, and a read Session 0.2 ms more (docs/performance.md, "run_on_driver").

    The pool still owns the connection: it is checked out and in as usual and handed back as it was found (not in
    autocommit). Errors come back as SQLAlchemy's (``IntegrityError``, ``OperationalError``, ...), so callers
    catch what they catch on the other paths; a connection the driver reports broken is invalidated, so the next
    checkout gets a fresh one, and on a disconnect (a server restart) the whole pool is renewed (``Engine.dispose``), as
    SQLAlchemy does on its own paths: one statement fails, not one per stale connection.
    """
    if not is_postgresql(engine):
        raise ValueError(f"run_on_driver is for PostgreSQL, not {engine.dialect.name}")
    import psycopg
    from psycopg.pq import ExecStatus

    pooled = engine.raw_connection()
    driver: Any = pooled.driver_connection
    try:
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute(sql, params)
                # Rows if the statement returned some (not cursor.description: it builds a Column per column)
                result = cursor.pgresult
                return cursor.fetchall() if result is not None and result.status == ExecStatus.TUPLES_OK else []
        finally:
            if not driver.closed:
                driver.autocommit = False
    except psycopg.Error as exc:
        broken = isinstance(exc, psycopg.OperationalError) or driver.closed
        if broken:
            pooled.invalidate(exc)
        if broken and engine.dialect.is_disconnect(exc, driver, None):  # type: ignore[arg-type]
            # A server restart broke every pooled connection, not only this one. SQLAlchemy's own paths then renew
            # the whole pool; the public spelling of that is Engine.dispose(): the idle connections are closed and
            # a fresh pool replaces the old one (connections other threads hold go back to the old pool and close
            # with it). So one statement fails, not one per stale connection.
            engine.dispose()
        raise driver_error(engine, sql, params, exc, broken=broken) from exc
    finally:
        pooled.close()


def driver_error(engine: Engine, sql: str, params: Mapping[str, Any], exc: Exception, *, broken: bool) -> Exception:
    """psycopg's ``exc`` as the SQLAlchemy error SQLAlchemy would have raised for it (``IntegrityError``,
    ``OperationalError``, ...), for statements run by the driver itself (:func:`run_on_driver`,
    :class:`storage.aio.AsyncDriver`)."""
    import psycopg

    return sa.exc.DBAPIError.instance(
        sql, dict(params), exc, psycopg.Error, hide_parameters=engine.hide_parameters,
        connection_invalidated=broken, dialect=engine.dialect,
    )


def writer_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for read-then-write transactions.

    On SQLite they start with ``BEGIN IMMEDIATE``: the write lock is taken up front (waiting up to the busy
    timeout), so a transaction never fails half-way because another writer committed after it read. PostgreSQL
    needs nothing special.
    """
    if is_sqlite(engine):
        return sessionmaker(engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False)
    return sessionmaker(engine, expire_on_commit=False)


def read_rows(engine: Engine, statement: sa.Executable, on_driver: str, params: Mapping[str, Any]) -> list[Any]:
    """The rows (tuples) of one hot read: on PostgreSQL ``on_driver``, the same query in psycopg's placeholders,
    through :func:`run_on_driver`; elsewhere ``statement`` through a connection of the engine."""
    if is_postgresql(engine):
        return run_on_driver(engine, on_driver, params)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(statement, params)]


def maintenance_warnings(engine: Engine) -> list[str]:
    """What in the database server's settings will hurt the gateway over time (empty on SQLite, or if nothing).

    PostgreSQL with ``autovacuum`` off (or ``track_counts`` off, without which autovacuum cannot tell what to do):
    each document updates its outbox and delivery rows two or three times, and without vacuum the dead row versions
    pile up, so every claim, inbox page and ack walks more of them. On one gateway, four runs of 1200 documents
    took 0.7 / 2.8 / 3.5 / 4.0 ms of database CPU per document as 24 000 dead outbox rows accumulated (bench/
    exchange.py, 2026-12). ``edoc serve`` and ``edoc worker`` print these at start.
    """
    if not is_postgresql(engine):
        return []
    query = sa.text("SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum', 'track_counts')")
    with engine.connect() as conn:
        settings: dict[str, str] = {name: setting for name, setting in conn.execute(query)}
    return [
        f"PostgreSQL has {name} off: the outbox and delivery tables bloat and every claim, inbox page and ack "
        f"slows down as documents accumulate; turn it on (ALTER SYSTEM SET {name} = on; SELECT pg_reload_conf())"
        for name in ("autovacuum", "track_counts")
        if settings.get(name, "on") == "off"
    ]


def ping(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailable` unless the database answers. Its message names the failure's kind, not
    the server's address (``/readyz`` shows it to anyone); the cause (``__cause__``) has the driver's full text."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"database unreachable ({type(getattr(exc, 'orig', None) or exc).__name__})") from exc


def translate_error(exc: BaseException) -> StorageError | None:
    """The :mod:`storage` error a SQLAlchemy error stands for, or None for a bug (a programming error, a
    constraint the code should have checked first).

    * The database is away: a connection that broke or could not be made, a statement cancelled by the server,
      SQLite's lock wait running out or its file unreadable (not its syntax errors, also OperationalError), the
      pool's wait for a free connection running out -> :class:`DatabaseUnavailable`
      (retry later). Both paths count: SQLAlchemy's own, and :func:`run_on_driver`/:class:`storage.aio.AsyncDriver`,
      which raise the same SQLAlchemy errors (psycopg_pool's ``PoolTimeout`` is a psycopg ``OperationalError``).
    * The database refused a value (``DataError``: a NUL in a text on PostgreSQL, an integer beyond BIGINT) ->
      :class:`InvalidValue` (the request was wrong).

    Translated here rather than with an engine ``handle_error`` hook so that the callers that catch SQLAlchemy's
    errors themselves (``IntegrityError`` of a racing insert, ``OperationalError`` of a table not yet migrated)
    keep seeing them; the HTTP layer and the VXP facade translate what reaches them.
    """
    if isinstance(exc, sa.exc.DataError):
        return InvalidValue("the database refused a value of the request (a NUL character, a number out of range)")
    if isinstance(exc, sa.exc.TimeoutError):  # QueuePool: no connection free within pool_timeout
        return DatabaseUnavailable("the database has no free connection; retry later")
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailable("the database is not answering; retry later")
    if isinstance(exc, sa.exc.OperationalError) and _database_away(exc.orig):
        return DatabaseUnavailable("the database is not answering; retry later")
    return None


# SQLite reports a syntax error or a missing table as OperationalError too: only these mean it is away.
_SQLITE_AWAY = ("database is locked", "unable to open database", "disk i/o error", "database or disk is full",
                "readonly database")


def _database_away(orig: BaseException | None) -> bool:
    import sqlite3

    if isinstance(orig, sqlite3.Error):
        text = str(orig).lower()
        return any(marker in text for marker in _SQLITE_AWAY)
    return True  # psycopg's OperationalError: the connection, the server, a cancelled statement
