"""A real gateway for tests: migrated database (SQLite or PostgreSQL), object store in a temp folder, the demo
directory, one API key per test client, and the delivery worker driven explicitly so tests are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service.app import create_app
from service.context import Gateway
from service.exchange.delivery import DeliveryWorker
from service.exchange.directory import AgencyInput, create_client, import_agencies
from service.settings import Settings
from service.wiring import build_gateway
from storage.migrate import upgrade

A = "000.00.11.H53"  # Sở TT&TT Tây Ninh
B = "000.00.12.H53"  # Sở Nội vụ Tây Ninh
C = "000.00.00.G22"  # Văn phòng Chính phủ
D = "000.00.01.A53"  # Văn phòng Tỉnh ủy (no client system)

AGENCIES = (
    AgencyInput(code="000.00.00.H53", name="Ủy ban nhân dân tỉnh Tây Ninh"),
    AgencyInput(code=A, name="Sở Thông tin và Truyền thông tỉnh Tây Ninh", parent="000.00.00.H53"),
    AgencyInput(code=B, name="Sở Nội vụ tỉnh Tây Ninh", parent="000.00.00.H53"),
    AgencyInput(code=C, name="Văn phòng Chính phủ"),
    AgencyInput(code=D, name="Văn phòng Tỉnh ủy Tây Ninh"),
)


@dataclass
class Env:
    """A running gateway (in-process) with authenticated HTTP clients per agency/role."""

    gw: Gateway
    http: TestClient
    keys: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def deliver(self) -> int:
        worker = DeliveryWorker(self.gw, name="test-worker")
        total = 0
        while n := worker.run_once():
            total += n
        return total


def make_settings(database_url: str, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "storage_url": (tmp / "objects").as_uri(),
        "data_dir": tmp,
        "embedded_worker": False,
        "retry_schedule": (0.0, 0.0),
    }
    values.update(overrides)
    return Settings(**values)


def provision(
    database_url: str, tmp: Path, *, prefix: str, clients: tuple[tuple[str, str], ...] = ()
) -> dict[str, str]:
    """Migrate a database, load the test directory and create one dms client per (name, agency); return the keys.

    For tests and benchmarks that run the gateway as a separate process against this database.
    """
    upgrade(database_url)
    gw = build_gateway(make_settings(database_url, tmp))
    keys = {}
    with gw.writes() as session, session.begin():
        import_agencies(session, AGENCIES)
        for who, code in clients or (("A", A), ("B", B), ("C", C)):
            keys[who] = create_client(session, name=f"{prefix}-{who}", role="dms", agencies=[code])[1]
    gw.close()
    return keys


def gateway_env(database_url: str, tmp: Path, **overrides: Any) -> Iterator[Env]:
    upgrade(database_url)
    gw = build_gateway(make_settings(database_url, tmp, **overrides))
    keys = {}
    with gw.writes() as session, session.begin():
        import_agencies(session, AGENCIES)
        for who, role, codes in (
            ("A", "dms", [A]),
            ("B", "dms", [B]),
            ("C", "dms", [C]),
            ("clerk", "clerk", [A]),
            ("auditor", "auditor", []),
            ("admin", "admin", []),
        ):
            _client, keys[who] = create_client(session, name=f"test-{who}", role=role, agencies=codes)
    app = create_app(gateway=gw)
    with TestClient(app) as http:
        yield Env(gw, http, keys)
    gw.close()
