"""A key disabled or rotated with the ``edoc`` command stops working in a running gateway (another process) within
the auth cache's lifetime (issue 17 item 5): API keys and VXP secrets alike."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from service.vxp.client import VxpClient
from service.vxp.errors import VxpRemoteError
from tests.support.server import EDOC, ROOT, GatewayProcess

pytestmark = pytest.mark.slow

TTL = 4.0  # EDOC_AUTH_CACHE_SECONDS of the gateway under test (longer than one edoc command takes)
AGENCY = "000.00.00.Z99"


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(EDOC), *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[GatewayProcess, Cli]]:
    server = GatewayProcess(
        tmp_path, database_url=f"sqlite:///{tmp_path / 'edoc.sqlite3'}", auth_cache_seconds=str(TTL)
    )
    cli = Cli({k: v for k, v in server.env.items() if k != "EDOC_DEMO"} | {"COLUMNS": "200"})
    cli("db", "upgrade")
    cli("agency", "add", AGENCY, "Sở thử")
    server.start()
    try:
        yield server, cli
    finally:
        server.stop()


def _api_ok(base: str, key: str) -> bool:
    status = httpx.get(f"{base}/api/v1/agencies", headers={"Authorization": f"Bearer {key}"}).status_code
    assert status in (200, 401), status
    return status == 200


def _vxp_ok(base: str, systemid: str, secret: str) -> bool:
    with VxpClient(f"{base}/vxp", systemid, secret) as client:
        try:
            client.get_agencies_list()
            return True
        except VxpRemoteError as exc:
            assert exc.code.startswith("VXP-401"), exc.code
            return False


def _refused_within(check: Callable[[], bool], limit: float) -> float:
    """Seconds until ``check()`` turns False; fails past ``limit``."""
    started = time.monotonic()
    while check():
        assert time.monotonic() - started < limit, f"still accepted after {limit} s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_disable_enable_rotate_across_processes(gateway: tuple[GatewayProcess, Cli]) -> None:
    server, cli = gateway
    base = server.base
    created = cli("client", "add", "--name", "dms-x", "--agency", AGENCY, "--vxp-systemid", "sys.dms-x")
    key, secret = created.stdout.split()
    assert _api_ok(base, key) and _vxp_ok(base, "sys.dms-x", secret)  # both now in the gateway's caches

    cli("client", "disable", "dms-x")
    # the CLI is another process: the gateway sees it when its cache entry (TTL) runs out
    api_after = _refused_within(lambda: _api_ok(base, key), TTL + 2)
    vxp_after = _refused_within(lambda: _vxp_ok(base, "sys.dms-x", secret), TTL + 2)
    print(f"disabled key refused after {api_after:.2f} s (API), VXP secret after a further {vxp_after:.2f} s")
    listed = cli("client", "list", "--json").stdout
    assert key not in listed and secret not in listed and '"active": false' in listed

    cli("client", "enable", "dms-x")
    time.sleep(TTL + 0.2)
    assert _api_ok(base, key) and _vxp_ok(base, "sys.dms-x", secret)

    grace = 8.0
    new_key = cli("client", "rotate", "dms-x", "--grace", f"{grace}s").stdout.strip()
    rotated_at = time.monotonic()
    new_secret = cli("client", "rotate", "dms-x", "--vxp-secret", "--grace", f"{grace}s").stdout.strip()
    time.sleep(TTL + 0.2)
    assert _api_ok(base, new_key) and _vxp_ok(base, "sys.dms-x", new_secret)
    if time.monotonic() - rotated_at < grace - 0.5:  # (a slow machine may have used up the grace already)
        assert _api_ok(base, key) and _vxp_ok(base, "sys.dms-x", secret), "the old key must work during the grace"
    _refused_within(lambda: _api_ok(base, key), grace + TTL + 2)
    _refused_within(lambda: _vxp_ok(base, "sys.dms-x", secret), grace + TTL + 2)
    assert _api_ok(base, new_key) and _vxp_ok(base, "sys.dms-x", new_secret)

    leaked = cli("client", "rotate", "dms-x", "--grace", "0").stdout.strip()
    _refused_within(lambda: _api_ok(base, new_key), TTL + 2)
    assert _api_ok(base, leaked)


def test_the_cli_prints_a_key_only_at_creation(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")} | {"EDOC_DATA_DIR": str(tmp_path)}
    cli = Cli(env)
    cli("agency", "add", AGENCY, "Sở thử")
    key = cli("client", "add", "--name", "dms-y", "--agency", AGENCY).stdout.strip()
    for args in (("client", "list"), ("client", "list", "--json"), ("client", "disable", "dms-y"),
                 ("client", "enable", "dms-y")):
        result = cli(*args)
        assert key not in result.stdout + result.stderr
