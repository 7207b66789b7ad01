"""The pieces behind items 3 and 4, on their own: the JSON scanner across chunk boundaries, and the translation of
the database's errors (a refused value, a server that is not there) on real PostgreSQL and SQLite."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from service.edge.jsondepth import NUL_ESCAPE, TOO_DEEP, DepthScanner
from storage.db import create_engine, translate_error
from storage.errors import DatabaseUnavailable, InvalidValue
from tests.support.databases import postgres_admin_url, postgres_available
from tests.support.env import require
from tests.support.server import free_port

CASES = [
    (b'{"a": "x\\u0000"}', NUL_ESCAPE),
    (b'{"a": "x\\\\u0000"}', None),  # an escaped backslash followed by the text u0000
    (b"[" * 40 + b"]" * 40, TOO_DEEP),
    (b'{"a": "' + b"[" * 100 + b'"}', None),  # brackets inside a string
    (b'["\\"' + b"[" * 100 + b'"]', None),  # an escaped quote does not end the string
    (b'{"name": "S\xe1\xbb\x9f N\xe1\xbb\x99i v\xe1\xbb\xa5", "n": [1, [2, {"k": []}]]}', None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_scanner_finds_the_same_at_every_chunk_boundary(text: bytes, expected: str | None) -> None:
    for split in range(len(text) + 1):
        scanner = DepthScanner(32)
        assert (scanner.feed(text[:split]) or scanner.feed(text[split:])) == expected, split


def test_postgresql_refusals_are_translated() -> None:
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()}")
    engine = create_engine(postgres_admin_url())
    try:
        with engine.connect() as conn:
            for statement, params in (("SELECT CAST(:v AS text)", {"v": "a\x00b"}),
                                      ("SELECT CAST(:v AS bigint)", {"v": 2**63})):
                with pytest.raises(sa.exc.DBAPIError) as refused:
                    conn.execute(sa.text(statement), params)
                assert isinstance(translate_error(refused.value), InvalidValue)
                conn.rollback()
    finally:
        engine.dispose()
    away = create_engine(f"postgresql+psycopg://edoc@127.0.0.1:{free_port()}/none")
    with pytest.raises(sa.exc.OperationalError) as unreachable:
        away.connect()
    translated = translate_error(unreachable.value)
    assert isinstance(translated, DatabaseUnavailable)
    assert "127.0.0.1" not in str(translated)


def test_a_bug_is_not_translated() -> None:
    """SQLite reports a syntax error as OperationalError, as it does a locked database: only the second is
    'unavailable'; a bug stays a 500."""
    engine = create_engine("sqlite://")
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError) as refused:
        conn.execute(sa.text("SELEC 1"))
    assert translate_error(refused.value) is None
    locked = sa.exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    assert isinstance(translate_error(locked), DatabaseUnavailable)
