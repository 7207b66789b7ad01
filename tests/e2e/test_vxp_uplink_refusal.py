"""A push that the remote node *refuses* goes dead at once with the remote's ErrorCode; an outage, or a remote that
does not accept this node's credentials, is retried on the schedule.

Node 2 is a real ``edoc serve`` on loopback whose directory lacks 000.00.05.G22. Node 1 runs in-process (its
delivery worker driven by the test) with three uplinks to it: ``node2`` (right credentials), ``wrongkey`` (a wrong
secret) and ``down`` (a closed port). One package from A goes to one recipient over each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.exchange.directory import AgencyInput, import_agencies
from storage.models import Delivery, ExchangeEvent
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, C, D, Env, gateway_env
from tests.support.server import GatewayProcess, free_port
from tests.unit.vxp.federation_kit import NODE1, NODE2, Uplink, node_process, prepare

pytestmark = pytest.mark.slow
X = "000.00.05.G22"  # in node 1's directory only


@pytest.fixture
def node2(tmp_path: Path) -> Iterator[tuple[GatewayProcess, str]]:
    d2 = tmp_path / "node2"
    d2.mkdir()
    db2 = f"sqlite:///{d2 / 'edoc.sqlite3'}"
    secret = prepare(db2, d2, [("node1", "node", [A, B])])["node1"]
    process = node_process(d2, db2, port=free_port(), node_id=NODE2).start()
    try:
        yield process, secret
    finally:
        process.stop()


@pytest.fixture
def node1(tmp_path: Path, node2: tuple[GatewayProcess, str]) -> Iterator[Env]:
    process, secret = node2
    uplinks = {
        "node2": Uplink(process.port, "vxp.node1", secret),
        "wrongkey": Uplink(process.port, "vxp.node1", "not-the-secret-node-2-issued"),
        "down": Uplink(free_port(), "vxp.node1", secret),
    }
    (tmp_path / "node1").mkdir()
    yield from gateway_env(
        f"sqlite:///{tmp_path / 'node1' / 'edoc.sqlite3'}",
        tmp_path / "node1",
        node_id=NODE1,
        uplinks={name: u.settings for name, u in uplinks.items()},
        routes=[{"pattern": p, "target": t} for p, t in ((X, "node2"), (C, "wrongkey"), (D, "down"))],
        retry_schedule=(60.0, 60.0),
    )


def test_a_remote_refusal_is_dead_at_once_an_outage_is_retried(node1: Env) -> None:
    with node1.gw.writes() as session, session.begin():
        import_agencies(session, [AgencyInput(code=X, name="Cục Kiểm soát thủ tục hành chính")])
    resp = submit(node1, "A", header(A, [X, C, D]))
    assert resp.status_code == 202, resp.text
    package_id = resp.json()["id"]

    node1.deliver()

    with node1.gw.sessions() as session:
        rows = session.execute(sa.select(Delivery).where(Delivery.package_id == package_id)).scalars().all()
        deliveries = {d.to_code: (d.route, d.state, d.attempts, d.last_error or "") for d in rows}
        dead = sa.select(ExchangeEvent.agency_code).where(
            ExchangeEvent.kind == "dead", ExchangeEvent.package_id == package_id
        )
        dead_agencies = list(session.execute(dead).scalars())
    route, state, attempts, error = deliveries[X]
    assert (route, state, attempts) == ("node2", "dead", 1), deliveries[X]  # no retries: the remote said no
    assert "VXP-422-UNKNOWN-RECIPIENT" in error and error.count("VXP-422-UNKNOWN-RECIPIENT") == 1, error
    assert dead_agencies == [X]
    for code, uplink, cause in ((C, "wrongkey", "VXP-401-BAD-SIGNATURE"), (D, "down", "VXP-TRANSPORT")):
        route, state, attempts, error = deliveries[code]
        assert (route, state, attempts) == (uplink, "pending", 1), deliveries[code]  # retried on the schedule
        assert cause in error, error
