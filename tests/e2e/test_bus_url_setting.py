"""Backends are picked by URL through alias tables: ``EDOC_BUS_URL`` (service/bus/) and ``EDOC_STORAGE_URL``
(storage/objects/). A scheme no backend serves stops ``edoc serve`` and ``edoc worker`` before they start: one
line naming the known schemes, a non-zero exit, no traceback (HELPERS: no traceback ever reaches a person)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.server import EDOC, ROOT, free_port

pytestmark = pytest.mark.slow

UNKNOWN = [
    ("EDOC_BUS_URL", "nosuch://broker:5672", ("bus_url", "'nosuch'", "known: db://")),
    ("EDOC_STORAGE_URL", "ftp://archive.example/edoc", ("object store", "'ftp'", "known: file://")),
]


@pytest.mark.parametrize(("variable", "url", "said"), UNKNOWN, ids=["bus", "storage"])
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unknown_scheme_refuses_to_start(
    tmp_path: Path, command: str, variable: str, url: str, said: tuple[str, ...]
) -> None:
    args = [command, "--port", str(free_port())] if command == "serve" else [command]  # ephemeral, should it start
    env = {**os.environ, "EDOC_DATA_DIR": str(tmp_path), variable: url,
           "EDOC_DATABASE_URL": f"sqlite:///{tmp_path / 'edoc.sqlite3'}", "COLUMNS": "200"}
    done = subprocess.run([str(EDOC), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0
    assert len(lines) == 1, done.stderr
    assert all(part in lines[0] for part in said), lines[0]
    assert "Traceback" not in done.stderr + done.stdout
