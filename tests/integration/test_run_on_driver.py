"""storage.db.run_on_driver: one autocommit statement through psycopg on a pooled connection (PostgreSQL).

The submit's replay check and insert, the ack and the VXP nonce go through it; these tests pin what its callers
rely on: rows back, SQLAlchemy's exception classes, the connection handed back to the pool as it was found, and a
broken connection replaced.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.db import create_engine, run_on_driver


@pytest.fixture
def engine(probe_engine: Engine) -> Engine:
    return probe_engine  # its table: driver_probe (k, v)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM driver_probe")).scalar_one())


def test_rows_come_back_and_a_statement_without_rows_answers_an_empty_list(engine: Engine) -> None:
    insert = "INSERT INTO driver_probe (k, v) VALUES (%(k)s, %(v)s) RETURNING k, v"
    assert run_on_driver(engine, insert, {"k": "a", "v": 1}) == [("a", 1)]
    assert run_on_driver(engine, "INSERT INTO driver_probe (k, v) VALUES (%(k)s, 2)", {"k": "b"}) == []
    assert run_on_driver(engine, "SELECT v FROM driver_probe WHERE k = %(k)s", {"k": "nobody"}) == []
    assert _count(engine) == 2  # committed (autocommit): another connection sees both rows


def test_the_connection_goes_back_to_the_pool_as_it_was_found(engine: Engine) -> None:
    run_on_driver(engine, "INSERT INTO driver_probe (k, v) VALUES (%(k)s, 1)", {"k": "a"})
    with engine.connect() as conn:  # the pool's only connection
        driver = conn.connection.driver_connection
        assert driver is not None and driver.autocommit is False
        conn.execute(sa.text("INSERT INTO driver_probe (k, v) VALUES ('b', 2)"))
        conn.rollback()  # a transaction, not autocommit: the row is gone again
    assert _count(engine) == 1


def test_a_unique_violation_is_sqlalchemys_integrity_error_and_the_connection_stays_usable(engine: Engine) -> None:
    statement = "INSERT INTO driver_probe (k, v) VALUES (%(k)s, %(v)s)"
    run_on_driver(engine, statement, {"k": "a", "v": 1})
    with pytest.raises(sa.exc.IntegrityError) as refused:
        run_on_driver(engine, statement, {"k": "a", "v": 2})
    assert refused.value.connection_invalidated is False
    assert run_on_driver(engine, "SELECT v FROM driver_probe WHERE k = %(k)s", {"k": "a"}) == [(1,)]


def test_a_programming_error_is_sqlalchemys_too(engine: Engine) -> None:
    with pytest.raises(sa.exc.ProgrammingError):
        run_on_driver(engine, "SELECT no_such_column FROM driver_probe", {})
    assert run_on_driver(engine, "SELECT count(*) FROM driver_probe", {}) == [(0,)]


def test_a_connection_the_server_dropped_fails_one_call_and_is_replaced(engine: Engine, postgres_url: str) -> None:
    with engine.connect() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    other = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        with other.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    finally:
        other.dispose()
    with pytest.raises(sa.exc.OperationalError) as failed:
        run_on_driver(engine, "SELECT 1", {})
    assert failed.value.connection_invalidated
    assert run_on_driver(engine, "SELECT pg_backend_pid() <> %(pid)s", {"pid": pid}) == [(True,)]


def test_it_refuses_an_engine_that_is_not_postgresql(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with pytest.raises(ValueError, match="for PostgreSQL, not sqlite"):
            run_on_driver(engine, "SELECT 1", {})
    finally:
        engine.dispose()


def test_after_the_server_dropped_every_connection_only_one_call_fails(postgres_url: str) -> None:
    """A database restart breaks every pooled connection at once; as on SQLAlchemy's own paths, the first
    statement that meets a dropped connection fails and the pool renews the others, so the next ones succeed."""
    engine = create_engine(postgres_url, pool_size=3, max_overflow=0)
    try:
        held = [engine.connect() for _ in range(3)]  # the pool opens three connections
        pids = [conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() for conn in held]
        for conn in held:
            conn.close()
        with sa.create_engine(postgres_url, poolclass=sa.pool.NullPool).connect() as admin:
            for pid in pids:
                admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        failed = 0
        for _ in range(6):
            try:
                run_on_driver(engine, "SELECT 1", {})
            except sa.exc.OperationalError:
                failed += 1
        assert len(set(pids)) == 3 and failed == 1
    finally:
        engine.dispose()
