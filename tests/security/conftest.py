"""A real ``edoc serve`` (uvicorn with the gateway's protocol, SQLite, demo keys) with small limits, so that the
denial-of-service cases run with bounded sizes and times (issue 17: all of tests/security under two minutes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import GatewayProcess

KiB, MiB = 1024, 1024 * 1024
#: The limits the served gateway runs with (EDOC_* settings).
LIMITS = {
    "max_package_bytes": str(2 * MiB),
    "verify_max_bytes": str(1 * MiB),
    "max_body_bytes": str(256 * KiB),
    "max_header_bytes": str(16 * KiB),
    "max_header_count": "50",
    "header_timeout_seconds": "2",
    "body_idle_timeout_seconds": "2",
    "body_timeout_seconds": "20",
}


class Served:
    def __init__(self, proc: GatewayProcess, data_dir: Path) -> None:
        self.proc = proc
        self.base = proc.base
        self.port = proc.port
        self.data_dir = data_dir
        self.keys = {c["name"]: c["api_key"] for c in json.loads((data_dir / "demo-keys.json").read_text())["clients"]}


def _serve(tmp: Path, **settings: str) -> Iterator[Served]:
    proc = GatewayProcess(tmp, database_url=f"sqlite:///{tmp / 'edoc.sqlite3'}", **{**LIMITS, **settings})
    proc.start("--demo")
    try:
        yield Served(proc, tmp)
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The gateway without rate limits (the cases below must not be throttled by each other)."""
    yield from _serve(tmp_path_factory.mktemp("served"), verify_rate_per_minute="0", vxp_refusals_per_minute="0")


@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The gateway with small per-address rates."""
    yield from _serve(tmp_path_factory.mktemp("throttled"), verify_rate_per_minute="6", vxp_refusals_per_minute="10")
