"""Fixtures shared by the whole suite: real databases (SQLite and PostgreSQL) and the shared samples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.databases import postgres_admin_url, postgres_available, temporary_postgres_database
from tests.support.env import require

if TYPE_CHECKING:
    from tests.support.gateway import Env

pytest_plugins = ["tests.support.pki.fixtures", "tests.support.remote", "tests.support.s3server", "tests.support.eark"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples" / "edxml"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    require(SAMPLES.is_dir(), f"../shared/samples/edxml not found beside the checkout ({SAMPLES})")
    return SAMPLES


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test session (created and dropped around it)."""
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()} (set EDOC_TEST_POSTGRES_URL)")
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind; tests that use it run once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()} (set EDOC_TEST_POSTGRES_URL)")
    url: str = request.getfixturevalue("_pg_function_db")
    return url


@pytest.fixture
def _pg_function_db() -> Iterator[str]:
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()} (set EDOC_TEST_POSTGRES_URL)")
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture
def env(empty_database_url: str, tmp_path: Path) -> Iterator[Env]:
    """A gateway on a freshly migrated database of each kind (SQLite and PostgreSQL)."""
    from tests.support.gateway import gateway_env

    yield from gateway_env(empty_database_url, tmp_path)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> Iterator[Env]:
    """A gateway on SQLite only, for tests whose subject is not the database."""
    from tests.support.gateway import gateway_env

    yield from gateway_env(f"sqlite:///{tmp_path / 'edoc.sqlite3'}", tmp_path)


@pytest.fixture
def pg_env(_pg_function_db: str, tmp_path: Path) -> Iterator[Env]:
    """A gateway on PostgreSQL only, for what exists only there (a variant of a statement SQLite has not)."""
    from tests.support.gateway import gateway_env

    yield from gateway_env(_pg_function_db, tmp_path)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """An ``amqp://`` URL of a vhost of this test session on the local RabbitMQ (tests/support/rabbitmq.py)."""
    from tests.support.rabbitmq import Unavailable, session_vhost

    try:
        context = session_vhost()
        url = context.__enter__()
    except Unavailable as exc:
        require(False, f"RabbitMQ: {exc}")
        raise
    try:
        yield url
    finally:
        context.__exit__(None, None, None)
