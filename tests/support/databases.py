"""Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL database per test session.

PostgreSQL comes from ``EDOC_TEST_POSTGRES_URL`` (default: the local server with trust auth). Each pytest session
creates its own database and drops it at the end, so parallel runs and developers never collide on ``test``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url

__all__ = ["DEFAULT_POSTGRES_URL", "postgres_admin_url", "postgres_available", "temporary_postgres_database"]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get("EDOC_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_available() -> bool:
    try:
        engine = sa.create_engine(postgres_admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def temporary_postgres_database(prefix: str = "edoc_t") -> Iterator[str]:
    """Create an empty database on the PostgreSQL server, yield its URL, drop it afterwards."""
    admin = make_url(postgres_admin_url())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
