"""Pull mode between two real ``edoc serve`` nodes on loopback: the remote never pushes, this node polls.

Node 2 serves *.G22 and has **no uplink**: what it holds for the H53 agencies stays in its own inboxes, readable
by the client system ``node1`` (role ``node``, linked to A and B: "a downstream node that collects by polling").
Node 1 serves *.H53 and has the uplink ``node2``; its poller lists node 2's edoc and status items, fetches each,
submits it locally, acknowledges it (updateStatus done), and remembers it in ``uplink_receipt``.

Exactly once is checked across a SIGKILL of node 1 while node 2 holds fresh packages, plus two injected faults on
the real databases: an acknowledgement node 2 lost (the item is listed again: node 1 must only re-acknowledge it)
and a receipt node 1 lost (crash between the local commit and the receipt: the submit's own idempotency must
answer with the same package).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from schemas.edxml import parse_package
from tests.support.gateway import A, B, C
from tests.support.server import GatewayProcess, free_port
from tests.unit.vxp.federation_kit import NODE1, NODE2, Uplink, node_process, prepare, sql, wait_for
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml, status_xml

pytestmark = pytest.mark.slow


@dataclass
class Pull:
    n1: GatewayProcess
    n2: GatewayProcess
    a: SdkClient
    b: SdkClient
    c: SdkClient
    node1_at_2: SdkClient  # what node 1's poller sees at node 2


@pytest.fixture
def pull(tmp_path: Path) -> Iterator[Pull]:
    p1, p2 = free_port(), free_port()
    d1, d2 = tmp_path / "node1", tmp_path / "node2"
    d1.mkdir(), d2.mkdir()
    db1, db2 = f"sqlite:///{d1 / 'edoc.sqlite3'}", f"sqlite:///{d2 / 'edoc.sqlite3'}"
    s1 = prepare(db1, d1, [("sdk-a", "dms", [A]), ("sdk-b", "dms", [B])])
    s2 = prepare(db2, d2, [("sdk-c", "dms", [C]), ("node1", "node", [A, B])])
    n1 = node_process(d1, db1, port=p1, node_id=NODE1, uplinks={"node2": Uplink(p2, "vxp.node1", s2["node1"])},
                      routes=[("*.G22", "node2")])
    n2 = node_process(d2, db2, port=p2, node_id=NODE2)  # no uplink: it cannot push to node 1
    n2.start(), n1.start()
    h1, h2 = httpx.Client(base_url=n1.base, timeout=30), httpx.Client(base_url=n2.base, timeout=30)
    try:
        yield Pull(n1, n2, SdkClient(h1, "vxp.sdk-a", s1["sdk-a"]), SdkClient(h1, "vxp.sdk-b", s1["sdk-b"]),
                   SdkClient(h2, "vxp.sdk-c", s2["sdk-c"]), SdkClient(h2, "vxp.node1", s2["node1"]))
    finally:
        h1.close(), h2.close()
        n1.stop(), n2.stop()


def _numbers(client: SdkClient, kind: str = "edoc") -> list[str]:
    """Document numbers (or status codes) of what ``client`` has not acknowledged yet, sorted."""
    out = []
    for row in client.received(kind):
        parsed = parse_package(client.get_edoc(row["docId"]))
        out.append(parsed.edoc.header.code.number if parsed.edoc else parsed.status.status_code)  # type: ignore[union-attr]
    return sorted(out)


def test_node1_pulls_what_node2_holds_for_its_agencies_exactly_once_across_a_restart(pull: Pull) -> None:
    db1, db2 = pull.n1.env["EDOC_DATABASE_URL"], pull.n2.env["EDOC_DATABASE_URL"]
    a, b, c = pull.a, pull.b, pull.c

    # 1. C (node 2) sends to A and B (node 1): node 2 keeps it; node 1 pulls it, once for both recipients.
    doc1 = SdkClient.ok(c.send_edoc(edoc_xml(C, [A, B], "201"), C, [A, B]))["DocId"]
    rows = wait_for(lambda: a.received("edoc"))
    assert [(r["from"], r["to"]) for r in rows] == [(C, A)]
    assert [(r["from"], r["to"]) for r in wait_for(lambda: b.received("edoc"))] == [(C, B)]
    pulled = parse_package(a.get_edoc(rows[0]["docId"])).edoc
    assert pulled is not None and [t.organ_id for t in pulled.trace] == [NODE2, NODE1]
    # node 1 acknowledged it at node 2 (updateStatus done): nothing left to list there, and C sees "done".
    assert wait_for(lambda: pull.node1_at_2.received("edoc") == [] and c.sent(doc1))
    assert wait_for(lambda: {r["toCode"]: r["sendStatus"] for r in c.sent(doc1)} == {A: "done", B: "done"})
    receipts = sql(db1, "select remote_doc_id, outcome, acked_at is not null from uplink_receipt")
    assert receipts == [(doc1, "accepted", 1)]

    # 2. A sends to C (pushed over node 1's uplink); C's status 01 stays at node 2 and is pulled as a status.
    sent = SdkClient.ok(a.send_edoc(edoc_xml(A, [C], "301"), A, [C]))["DocId"]
    remote = wait_for(lambda: c.received("edoc"))[0]["docId"]
    document_id = str(parse_package(c.get_edoc(remote)).edoc.header.document_id)  # type: ignore[union-attr]
    SdkClient.ok(c.update_status(remote, "done"))
    SdkClient.ok(c.send_edoc(status_xml(C, document_id, "01"), C, [A], messagetype="status"))
    assert wait_for(lambda: _numbers(a, "status")) == ["01"]
    assert wait_for(lambda: {r["toCode"]: (r["sendStatus"], r["receiveStatus"]) for r in a.sent(sent)}
                    == {C: ("done", "01")})  # our forwarded copy counts as received once its status came back
    status_doc = sql(db2, "select id from package where kind = 'status'")[0][0]

    # 3. Two more packages; node 1 is killed straight away (perhaps in the middle of pulling them).
    for number in ("202", "203"):
        SdkClient.ok(c.send_edoc(edoc_xml(C, [A], number), C, [A]))
    pull.n1.kill()
    # Fault 1: node 2 lost node 1's ack of doc1 (it lists it again); node 1 still has its receipt.
    sql(db2, "update delivery set state = 'delivered', acked_at = null where package_id = :p", p=doc1)
    # Fault 2: node 2 lost the ack of the status, and node 1 lost its receipt (crash before remembering it).
    sql(db2, "update delivery set state = 'delivered', acked_at = null where package_id = :p", p=status_doc)
    sql(db1, "delete from uplink_receipt where remote_doc_id = :p", p=status_doc)
    assert {r["docId"] for r in pull.node1_at_2.received("edoc")} >= {doc1}
    pull.n1.start()

    # Everything is taken in once, and everything is acknowledged at node 2 again.
    assert wait_for(lambda: pull.node1_at_2.received("edoc") == [] and pull.node1_at_2.received("status") == [],
                    timeout=25)
    assert _numbers(a) == ["201", "202", "203"]
    assert _numbers(b) == ["201"]
    assert _numbers(a, "status") == ["01"]
    pulled_rows = sql(db1, "select count(*) from package where from_code = :c", c=C)
    assert pulled_rows == [(4,)]  # three documents and one status, however often listed or restarted
    outcomes = sql(db1, "select outcome, count(*) from uplink_receipt group by outcome")
    assert outcomes == [("accepted", 4)]
    assert sql(db1, "select count(*) from uplink_receipt where acked_at is null") == [(0,)]


def test_an_item_the_remote_cannot_serve_does_not_hold_up_the_rest(pull: Pull) -> None:
    """Node 2 lost the stored copy of the first package it lists for node 1, so its getEdoc answers FAIL for that
    one: node 1 still takes in every package listed after it, and the statuses, and keeps retrying the broken
    one (not refused, not acknowledged) until node 2 can serve it again; then it is taken in once."""
    db1, db2 = pull.n1.env["EDOC_DATABASE_URL"], pull.n2.env["EDOC_DATABASE_URL"]
    a, c = pull.a, pull.c
    # A sends to C first, so that C's status 01 for it will wait at node 2 behind the broken package.
    sent = SdkClient.ok(a.send_edoc(edoc_xml(A, [C], "500"), A, [C]))["DocId"]
    remote = wait_for(lambda: c.received("edoc"))[0]["docId"]
    document_id = str(parse_package(c.get_edoc(remote)).edoc.header.document_id)  # type: ignore[union-attr]
    SdkClient.ok(c.update_status(remote, "done"))

    pull.n1.stop()  # node 1 is away while node 2 collects three packages and a status for it
    docs = [SdkClient.ok(c.send_edoc(edoc_xml(C, [A], number), C, [A]))["DocId"] for number in ("501", "502", "503")]
    SdkClient.ok(c.send_edoc(status_xml(C, document_id, "01"), C, [A], messagetype="status"))

    def listed_at_2() -> list[str] | None:  # accepted is not yet delivered: node 2's worker delivers shortly
        ids = [r["docId"] for r in pull.node1_at_2.received("edoc")]
        return ids if len(ids) == len(docs) else None

    assert wait_for(listed_at_2) == docs  # oldest first: the broken one is listed first
    sha = sql(db2, "select blob_sha256 from package where id = :p", p=docs[0])[0][0]
    # The package is small, so node 2 keeps it in its database (storage/blobs.py): move that row out of the way.
    assert sql(db2, "select count(*) from small_blob where sha256 = :s", s=sha) == [(1,)]
    sql(db2, "update small_blob set sha256 = :aside where sha256 = :s", s=sha, aside="x" + sha[1:])
    answer = pull.node1_at_2.call("getEdoc", {"docId": docs[0], "filePath": "D:/edoc"})
    assert answer["status"] == "FAIL", answer  # node 2 really cannot serve it
    pull.n1.start()

    assert wait_for(lambda: _numbers(a) == ["502", "503"])
    assert wait_for(lambda: _numbers(a, "status") == ["01"])
    assert wait_for(lambda: {r["toCode"]: r["receiveStatus"] for r in a.sent(sent)} == {C: "01"})
    time.sleep(2.5)  # two more polling rounds (1 s each): the broken item is retried, never refused or acked
    assert [r["docId"] for r in pull.node1_at_2.received("edoc")] == [docs[0]]
    assert sql(db1, "select count(*) from uplink_receipt where remote_doc_id = :p", p=docs[0]) == [(0,)]
    assert _numbers(a) == ["502", "503"]

    # node 2 can serve it again: taken in once, acknowledged, nothing left listed
    sql(db2, "update small_blob set sha256 = :s where sha256 = :aside", s=sha, aside="x" + sha[1:])
    assert wait_for(lambda: _numbers(a) == ["501", "502", "503"])
    assert wait_for(lambda: pull.node1_at_2.received("edoc") == [] and pull.node1_at_2.received("status") == [])
    assert sql(db1, "select outcome, count(*) from uplink_receipt group by outcome") == [("accepted", 4)]
    assert sql(db1, "select count(*) from package where from_code = :c", c=C) == [(4,)]
