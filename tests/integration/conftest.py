"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.db import create_engine


@pytest.fixture
def probe_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine of one pooled connection to the session's PostgreSQL database, with an empty table
    ``driver_probe (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`` for the tests of statements run by the driver."""
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS driver_probe"))
        conn.execute(sa.text("CREATE TABLE driver_probe (k TEXT PRIMARY KEY, v INTEGER NOT NULL)"))
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS driver_probe"))
        engine.dispose()
