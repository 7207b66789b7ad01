"""``EDOC_BUS_URL`` picks the bus backend through the alias table (service/bus/); a scheme no backend serves stops
``edoc serve`` and ``edoc worker`` before they start: one line naming the known schemes, a non-zero exit, no
traceback (HELPERS: no traceback ever reaches a person)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.server import EDOC, ROOT, free_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unknown_bus_scheme_refuses_to_start(tmp_path: Path, command: str) -> None:
    args = [command, "--port", str(free_port())] if command == "serve" else [command]  # ephemeral, should it start
    env = {**os.environ, "EDOC_DATA_DIR": str(tmp_path), "EDOC_BUS_URL": "nosuch://broker:5672",
           "EDOC_DATABASE_URL": f"sqlite:///{tmp_path / 'edoc.sqlite3'}", "COLUMNS": "200"}
    done = subprocess.run([str(EDOC), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0
    assert len(lines) == 1, done.stderr
    assert "bus_url" in lines[0] and "'nosuch'" in lines[0] and "known: db://" in lines[0], lines[0]
    assert "Traceback" not in done.stderr + done.stdout
