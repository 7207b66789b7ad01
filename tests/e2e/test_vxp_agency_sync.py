"""``edoc agency sync --uplink NAME`` as an operator runs it (the installed ``edoc`` in a subprocess, EDOC_*
variables), against a real remote node (``edoc serve`` on loopback) that answers ``getAgenciesList``.

Node 2 knows two agencies node 1 does not (one a child of 000.00.00.G22, given by its id), names
000.00.00.G22 differently, and no longer lists 000.00.07.G22, which node 1 routes to node 2. Node 1 keeps a
postal address on one of its own agencies, which VXP does not carry.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.exchange.directory import AgencyInput, import_agencies
from service.wiring import build_gateway
from tests.support.gateway import A, B, C, make_settings
from tests.support.server import EDOC, ROOT, GatewayProcess, free_port
from tests.unit.vxp.federation_kit import NODE1, NODE2, Uplink, node_process, prepare, sql

pytestmark = pytest.mark.slow
X, Y, Z = "000.00.05.G22", "000.00.06.G22", "000.00.07.G22"
RENAMED = "Văn phòng Chính phủ (VPCP)"


def _load(database_url: str, tmp: Path, items: list[AgencyInput]) -> None:
    gw = build_gateway(make_settings(database_url, tmp))
    try:
        with gw.writes() as session, session.begin():
            import_agencies(session, items)
    finally:
        gw.close()


@pytest.fixture
def node1_env(tmp_path: Path) -> Iterator[tuple[GatewayProcess, dict[str, str]]]:
    d1, d2 = tmp_path / "node1", tmp_path / "node2"
    d1.mkdir(), d2.mkdir()
    db1, db2 = f"sqlite:///{d1 / 'edoc.sqlite3'}", f"sqlite:///{d2 / 'edoc.sqlite3'}"
    secret = prepare(db2, d2, [("node1", "node", [A, B])])["node1"]
    _load(db2, d2, [AgencyInput(code=C, name=RENAMED), AgencyInput(code=X, name="Cục Kiểm soát TTHC", parent=C),
                    AgencyInput(code=Y, name="Vụ Tổng hợp", email="vth@chinhphu.vn")])
    prepare(db1, d1, [])
    _load(db1, d1, [AgencyInput(code=Z, name="Vụ đã giải thể"),
                    AgencyInput(code=A, name="Sở Thông tin và Truyền thông tỉnh Tây Ninh", parent="000.00.00.H53",
                                address="Số 1 đường Trần Hưng Đạo, Tây Ninh")])
    remote = node_process(d2, db2, port=free_port(), node_id=NODE2).start()
    node1 = node_process(d1, db1, port=free_port(), node_id=NODE1, routes=[("*.G22", "node2")],
                         uplinks={"node2": Uplink(remote.port, "vxp.node1", secret)})
    try:
        yield remote, node1.env
    finally:
        remote.stop()


def edoc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EDOC), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_agency_sync_reports_changes_then_nothing_and_fails_in_one_line(
    node1_env: tuple[GatewayProcess, dict[str, str]],
) -> None:
    remote, env = node1_env
    db1 = env["EDOC_DATABASE_URL"]

    first = edoc(env, "agency", "sync", "--uplink", "node2")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert sorted(lines[:-1]) == [f"added {X}", f"added {Y}", f"changed {C}", f"removed {Z}"]
    assert lines[-1] == "added 2, changed 1, removed 1, unchanged 4, skipped 0"
    rows = sql(db1, "select code, name, parent_code, email, active from agency where code like '%.G22' order by code")
    assert rows == [(C, RENAMED, None, None, 1), (X, "Cục Kiểm soát TTHC", C, None, 1),
                    (Y, "Vụ Tổng hợp", None, "vth@chinhphu.vn", 1), (Z, "Vụ đã giải thể", None, None, 0)]
    assert sql(db1, "select address from agency where code = :a", a=A) == [("Số 1 đường Trần Hưng Đạo, Tây Ninh",)]

    second = edoc(env, "agency", "sync", "--uplink", "node2")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == ["added 0, changed 0, removed 0, unchanged 7, skipped 0"]
    assert sql(db1, "select count(*) from exchange_event where kind = 'directory_sync'") == [(2,)]

    remote.stop()  # unreachable uplink
    down = edoc(env, "agency", "sync", "--uplink", "node2")
    assert down.returncode != 0 and down.stdout == ""
    assert len(down.stderr.strip().splitlines()) == 1, down.stderr
    assert down.stderr.startswith("error: uplink node2: ") and "[VXP-TRANSPORT]" in down.stderr, down.stderr

    unknown = edoc(env, "agency", "sync", "--uplink", "axis")
    assert unknown.returncode != 0 and len(unknown.stderr.strip().splitlines()) == 1, unknown.stderr
    assert "no uplink 'axis' (configured: node2)" in unknown.stderr, unknown.stderr
