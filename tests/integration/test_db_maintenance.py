"""The node says at start when the database server's settings will slow it down over time (autovacuum off).

This machine's PostgreSQL runs with autovacuum off, so here the warning is expected; on a server with it on, the
same tests check that nothing is said.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from service.cli import app
from storage.db import create_engine, maintenance_warnings
from storage.migrate import upgrade

runner = CliRunner()


def _setting(url: str, name: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT setting FROM pg_settings WHERE name = :n"), {"n": name}).scalar())
    finally:
        engine.dispose()


def test_sqlite_has_nothing_to_warn_about(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    try:
        assert maintenance_warnings(engine) == []
    finally:
        engine.dispose()


def test_postgresql_warnings_follow_the_servers_settings(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        warnings = maintenance_warnings(engine)
    finally:
        engine.dispose()
    for name in ("autovacuum", "track_counts"):
        named = [w for w in warnings if f"has {name} off" in w]
        assert len(named) == (1 if _setting(postgres_url, name) == "off" else 0), warnings
    assert all("ALTER SYSTEM SET" in w for w in warnings)


def test_edoc_worker_prints_the_warning_at_start(postgres_url: str, tmp_path: Path) -> None:
    upgrade(postgres_url)
    env = {"EDOC_DATA_DIR": str(tmp_path), "EDOC_DATABASE_URL": postgres_url,
           "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri()}
    result = runner.invoke(app, ["worker", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "processed 0 messages" in result.output
    warned = "warning: PostgreSQL has autovacuum off" in " ".join(result.output.split())
    assert warned == (_setting(postgres_url, "autovacuum") == "off"), result.output
