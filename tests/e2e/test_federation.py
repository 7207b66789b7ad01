"""Two nodes on loopback, each a real ``edoc serve`` with its own database (SQLite, and PostgreSQL: one temporary
database per node): node 1 serves *.H53 and routes *.G22 to node 2; node 2 serves *.G22 and routes *.H53 to node 1.
Each is the other's VXP client (uplink) and a ``node`` client system of the other. DMS are the independent §8
client of the tests.

A package from an H53 agency to a G22 agency arrives exactly once with both nodes' TraceHeaders, its statuses come
back; node 2 stopped for a while and started again loses nothing and duplicates nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.edxml import parse_package
from tests.support.gateway import A, B, C
from tests.support.server import GatewayProcess, free_port
from tests.unit.vxp.federation_kit import NODE1, NODE2, Uplink, database_urls, node_process, prepare, wait_for
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml, status_xml

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, GatewayProcess, dict[str, SdkClient]]]:
    p1, p2 = free_port(), free_port()
    d1, d2 = tmp_path / "node1", tmp_path / "node2"
    with database_urls(request.param, tmp_path, ["node1", "node2"]) as urls:
        db1, db2 = urls["node1"], urls["node2"]
        s1 = prepare(db1, d1, [("sdk-a", "dms", [A]), ("sdk-b", "dms", [B]), ("node2", "node", [])])
        s2 = prepare(db2, d2, [("sdk-c", "dms", [C]), ("node1", "node", [])])
        n1 = node_process(d1, db1, port=p1, node_id=NODE1, uplinks={"node2": Uplink(p2, "vxp.node1", s2["node1"])},
                          routes=[("*.G22", "node2")])
        n2 = node_process(d2, db2, port=p2, node_id=NODE2, uplinks={"node1": Uplink(p1, "vxp.node2", s1["node2"])},
                          routes=[("*.H53", "node1")])
        n1.start(), n2.start()
        h1, h2 = httpx.Client(base_url=n1.base, timeout=30), httpx.Client(base_url=n2.base, timeout=30)
        clients = {"A": SdkClient(h1, "vxp.sdk-a", s1["sdk-a"]), "B": SdkClient(h1, "vxp.sdk-b", s1["sdk-b"]),
                   "C": SdkClient(h2, "vxp.sdk-c", s2["sdk-c"])}
        try:
            yield n1, n2, clients
        finally:
            h1.close(), h2.close()
            n1.stop(), n2.stop()


def test_a_package_crosses_two_nodes_and_its_statuses_come_back(nodes: Any) -> None:
    _n1, n2, dms = nodes
    a, b, c = dms["A"], dms["B"], dms["C"]
    doc = SdkClient.ok(a.send_edoc(edoc_xml(A, [B, C], "101"), A, [B, C]))["DocId"]

    rows = wait_for(lambda: c.received("edoc"))
    assert [(r["from"], r["to"]) for r in rows] == [(A, C)], "exactly once at node 2"
    assert [r["docId"] for r in wait_for(lambda: b.received("edoc"))] == [doc]  # B is local to node 1
    remote = rows[0]["docId"]
    package = parse_package(c.get_edoc(remote)).edoc
    assert package is not None and [t.organ_id for t in package.trace] == [NODE1, NODE2]
    document_id = str(package.header.document_id)

    SdkClient.ok(c.update_status(remote, "done"))
    for code in ("01", "03"):
        SdkClient.ok(c.send_edoc(status_xml(C, document_id, code), C, [A], messagetype="status"))
    statuses = wait_for(lambda: len(a.received("status")) >= 2 and a.received("status"))
    assert sorted(parse_package(a.get_edoc(r["docId"])).status.status_code for r in statuses) == ["01", "03"]
    assert {r["from"] for r in statuses} == {C}
    sent = {r["toCode"]: r for r in a.sent(doc)}
    assert (sent[C]["sendStatus"], sent[C]["receiveStatus"], sent[C]["receiverDocId"]) == ("done", "03", remote)
    assert sent[B]["sendStatus"] == "initial"

    # Node 2 goes away; A keeps sending; node 2 comes back: everything arrives, once.
    n2.stop()
    docs = [SdkClient.ok(a.send_edoc(edoc_xml(A, [C], str(n)), A, [C]))["DocId"] for n in (102, 103)]
    time.sleep(2)  # several failed pushes, retried on the schedule
    n2.start()
    rows = wait_for(lambda: len(c.received("edoc")) >= 2 and c.received("edoc"), timeout=25)
    numbers = sorted(str(parse_package(c.get_edoc(r["docId"])).edoc.header.document_id) for r in rows)
    assert numbers == [f"{A},2026/11/20,102/SDK-VP", f"{A},2026/11/20,103/SDK-VP"]
    time.sleep(2)  # retries or polls that would duplicate have had their chance
    assert len(c.received("edoc")) == 2
    assert c.count("edoc") == 2
    assert {r["toCode"]: r["sendStatus"] for d in docs for r in a.sent(d)} == {C: "initial"}  # handed over
    assert all(r["receiverDocId"] != d for d in docs for r in a.sent(d))  # the remote DocId was recorded
