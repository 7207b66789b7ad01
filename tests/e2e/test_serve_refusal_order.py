"""`EDOC_ENVIRONMENT=production edoc serve` checks the whole configuration before it touches anything (issue 17
item 8): a refused configuration leaves the database as it found it (no migration applied, no table created).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.databases import postgres_admin_url, postgres_available, temporary_postgres_database
from tests.support.env import require
from tests.support.server import EDOC, ROOT, free_port

pytestmark = pytest.mark.slow

STRONG_SECRET = "x" * 40  # TEST ONLY


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own per test: each test checks it stays empty."""
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()}")
    with temporary_postgres_database() as url:
        yield url


def _serve(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
    env.update({"EDOC_ENVIRONMENT": "production", "EDOC_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"})
    env.update({f"EDOC_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run(
        [str(EDOC), "serve", "--port", str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"secret_key": "short", "storage_url": "s3://edoc?endpoint=http://127.0.0.1:1"}, id="demo-secret"),
        pytest.param({"secret_key": STRONG_SECRET, "storage_url": "s3://edoc?endpoint=http://127.0.0.1:1"},
                     id="no-node-key"),
        pytest.param({"secret_key": STRONG_SECRET}, id="file-storage"),
    ],
)
def test_a_refused_production_configuration_leaves_the_database_untouched(
    tmp_path: Path, postgres_url: str, settings: dict[str, str]
) -> None:
    result = _serve(tmp_path, database_url=postgres_url, **settings)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "refusing to start in production" in output
    assert "Traceback" not in output
    assert _tables(postgres_url) == [], "the refusal came after the migrations"
    assert not (tmp_path / "var").exists(), "the refusal came after the data folder was created"


def test_a_bad_node_key_is_refused_before_the_migrations(tmp_path: Path, postgres_url: str) -> None:
    bad_key = tmp_path / "node.p12"
    bad_key.write_bytes(b"not a PKCS#12 file")
    result = _serve(
        tmp_path,
        database_url=postgres_url,
        secret_key=STRONG_SECRET,
        storage_url="s3://edoc?endpoint=http://127.0.0.1:1",
        node_key_file=str(bad_key),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "node key" in output.lower()
    assert "Traceback" not in output
    assert _tables(postgres_url) == []
