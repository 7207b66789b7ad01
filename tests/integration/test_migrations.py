"""Migrations build the schema on SQLite and PostgreSQL, and match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.db import create_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Base


def test_upgrade_reaches_head_and_matches_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()
