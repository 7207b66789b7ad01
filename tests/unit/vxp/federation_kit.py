"""Helpers for tests that run gateway nodes as real ``edoc serve`` processes and connect them with VXP uplinks
(tests/e2e/test_federation*.py, tests/e2e/test_vxp*.py). Not a test module.

A node is prepared offline (migrated database, the test directory, client systems each with a VXP secret), then
started with its uplinks pointing at the other nodes' loopback ports.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from service.exchange.directory import create_client, import_agencies, set_vxp_secret
from service.wiring import build_gateway
from storage.migrate import upgrade
from tests.support.databases import postgres_admin_url, postgres_available, temporary_postgres_database
from tests.support.env import require
from tests.support.gateway import AGENCIES, make_settings
from tests.support.server import GatewayProcess

__all__ = ["NODE1", "NODE2", "Uplink", "database_urls", "node_process", "prepare", "sql", "wait_for"]

NODE1, NODE2 = "000.00.00.H53", "000.00.00.G22"

#: (name, role, agencies) of a client system; its VXP system id is ``vxp.<name>``.
System = tuple[str, str, Sequence[str]]


def prepare(database_url: str, tmp: Path, systems: Sequence[System]) -> dict[str, str]:
    """Migrate, load the test directory, create the client systems; returns their VXP secrets by name."""
    upgrade(database_url)
    gw = build_gateway(make_settings(database_url, tmp))
    secrets = {}
    try:
        with gw.writes() as session, session.begin():
            import_agencies(session, AGENCIES)
            for name, role, agencies in systems:
                client, _key = create_client(session, name=name, role=role, agencies=list(agencies))
                secrets[name] = set_vxp_secret(
                    session, client, systemid=f"vxp.{name}", secret_key=gw.settings.secret_key.get_secret_value()
                )
    finally:
        gw.close()
    return secrets


class Uplink:
    """An uplink to a node on loopback: its port, and this node's credentials there."""

    def __init__(self, port: int, systemid: str, secret: str, *, poll_seconds: float = 1.0) -> None:
        self.settings = {
            "endpoint": f"http://127.0.0.1:{port}/vxp",
            "systemid": systemid,
            "secret": secret,
            "poll_seconds": poll_seconds,
            "timeout_seconds": 5,
        }


def node_process(
    tmp: Path,
    database_url: str,
    *,
    port: int,
    node_id: str,
    uplinks: Mapping[str, Uplink] | None = None,
    routes: Sequence[tuple[str, str]] = (),
    **settings: str,
) -> GatewayProcess:
    """An ``edoc serve`` (not started) with fast retries and polls, so a test sees outages heal within seconds."""
    defaults = {"retry_schedule": json.dumps([0.5, 1, 1] + [2] * 20), "worker_poll_seconds": "0.05"}
    return GatewayProcess(
        tmp,
        database_url=database_url,
        port=port,
        node_id=node_id,
        uplinks=json.dumps({name: u.settings for name, u in (uplinks or {}).items()}),
        routes=json.dumps([{"pattern": p, "target": t} for p, t in routes]),
        **{**defaults, **settings},
    )


@contextmanager
def database_urls(kind: str, tmp: Path, names: Sequence[str]) -> Iterator[dict[str, str]]:
    """One empty database per name: SQLite files under ``tmp/<name>/``, or temporary PostgreSQL databases."""
    if kind == "sqlite":
        urls = {}
        for name in names:
            (tmp / name).mkdir(exist_ok=True)
            urls[name] = f"sqlite:///{tmp / name / 'edoc.sqlite3'}"
        yield urls
        return
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()} (set EDOC_TEST_POSTGRES_URL)")
    with ExitStack() as stack:
        for name in names:
            (tmp / name).mkdir(exist_ok=True)
        yield {name: stack.enter_context(temporary_postgres_database(f"edoc_{name}")) for name in names}


def sql(database_url: str, statement: str, **params: Any) -> list[Any]:
    """Run one SQL statement against a node's database from the test (to inspect it, or to inject a fault)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def wait_for(probe: Callable[[], Any], timeout: float = 20.0, interval: float = 0.2) -> Any:
    """``probe()``'s first truthy value, or its last falsy one after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
