"""The sender sees 01 (đã đến) before any later status of a recipient, every time (issue 16, item 5); on SQLite and
PostgreSQL.

The automatic 01 that a transport ack implies is sent by the worker a moment after the ack; a recipient that
reports 03 within that moment, or a VXP recipient that skips 01 altogether, used to leave the sender with 03 and
never 01. The first status of a recipient other than 01 now brings its 01 first, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.exchange.delivery import DeliveryWorker
from storage.models import Delivery, OutboxMessage, Package
from tests.integration.test_vxp_sdk_flow import vxp_system
from tests.support.exchange import header, inbox, record, status, submit
from tests.support.gateway import A, B, C, Env, gateway_env
from tests.support.server import free_port
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml, status_xml


def history(env: Env, doc: str, agency: str) -> list[str]:
    return [h["code"] for h in record(env, "A", doc)["history"] if h["agency"] == agency]


def senders_inbox(env: Env, doc: str) -> list[tuple[str, str]]:
    """(recipient, code) of the status packages about ``doc`` in A's inbox, in the order A receives them."""
    return [(i["from"], i["code"]) for i in inbox(env, "A") if i["kind"] == "status" and i["response_for"] == doc]


def test_a_status_sent_right_after_the_ack_comes_after_its_01(env: Env) -> None:
    doc = submit(env, "A", header(A, [B, C])).json()["id"]
    env.deliver()
    for who in ("B", "C"):
        assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_(who)).status_code == 200
    assert status(env, "B", doc, "03").status_code == 202  # before the worker sends B's automatic 01
    env.deliver()
    env.deliver()
    assert history(env, doc, B) == ["01", "03"]
    assert history(env, doc, C) == ["01"]
    assert [x for x in senders_inbox(env, doc) if x[0] == B] == [(B, "01"), (B, "03")]
    assert len(senders_inbox(env, doc)) == 3  # no second 01 for B when the worker comes round


def test_a_vxp_recipient_that_skips_01(env: Env) -> None:
    sdk_a, sdk_b = vxp_system(env, "order-a", [A]), vxp_system(env, "order-b", [B])
    doc = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B], "501"), A, [B]))["DocId"]
    env.deliver()
    SdkClient.ok(sdk_b.update_status(doc, "done"))
    SdkClient.ok(sdk_b.update_status(doc, "acceptance"))  # 03 at once; the SDK flow would have sent 01 first
    env.deliver()
    assert history(env, doc, B) == ["01", "03"]
    received = [parse_code(sdk_a, row["docId"]) for row in sdk_a.received("status")]
    assert received == ["01", "03"]


def test_a_recipient_that_sends_01_itself_gets_no_second_one(env: Env) -> None:
    sdk_a, sdk_b = vxp_system(env, "own-a", [A]), vxp_system(env, "own-b", [B])
    doc = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B], "502"), A, [B]))["DocId"]
    env.deliver()
    document_id = f"{A},2026/11/20,502/SDK-VP"
    for code in ("01", "03", "05"):
        SdkClient.ok(sdk_b.send_edoc(status_xml(B, document_id, code), B, [A], messagetype="status"))
    env.deliver()
    assert history(env, doc, B) == ["01", "03", "05"]
    assert [parse_code(sdk_a, row["docId"]) for row in sdk_a.received("status")] == ["01", "03", "05"]


def test_an_answer_to_a_recall_on_a_copy_not_yet_acknowledged(env: Env) -> None:
    doc = submit(env, "A", header(A, [B])).json()["id"]
    env.deliver()
    assert env.http.post(f"/api/v1/edocs/{doc}/recall", json={}, headers=env.as_("A")).status_code == 202
    env.deliver()
    assert status(env, "B", doc, "16", description="Đã xử lý xong").status_code == 202
    env.deliver()
    assert history(env, doc, B) == ["13", "01", "16"]
    assert [code for _who, code in senders_inbox(env, doc)] == ["01", "16"]


def test_the_ack_and_the_status_racing_the_worker(env: Env) -> None:
    """B acks and reports 03 while the worker runs: whichever wins, A sees 01 then 03, once each."""
    for n in range(6):
        doc = submit(env, "A", header(A, [B], number=str(600 + n))).json()["id"]
        env.deliver()
        assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B")).status_code == 200
        with ThreadPoolExecutor(2) as pool:
            worker = pool.submit(env.deliver)
            answer = pool.submit(status, env, "B", doc, "03")
            assert answer.result().status_code == 202
            worker.result()
        env.deliver()
        assert history(env, doc, B) == ["01", "03"], n
        assert [code for _who, code in senders_inbox(env, doc)] == ["01", "03"], n
        for item in inbox(env, "A"):
            assert env.http.post(f"/api/v1/edocs/{item['id']}/ack", headers=env.as_("A")).status_code == 200


def parse_code(client: SdkClient, doc_id: str) -> str:
    from schemas.edxml import parse_package

    parsed = parse_package(client.get_edoc(doc_id)).status
    assert parsed is not None
    return str(parsed.status_code)


@pytest.fixture
def remote_sender(empty_database_url: str, tmp_path: Path) -> Iterator[Env]:
    """A gateway on which A, the sender, lives behind the uplink ``node2`` (nothing listens there)."""
    uplink = {"endpoint": f"http://127.0.0.1:{free_port()}/vxp", "systemid": "vxp.h53", "secret": "s"}
    yield from gateway_env(empty_database_url, tmp_path, uplinks={"node2": uplink},
                           routes=[{"pattern": A, "target": "node2"}])


def test_a_sender_behind_an_uplink_is_pushed_01_first(remote_sender: Env) -> None:
    env = remote_sender
    doc = submit(env, "A", header(A, [B])).json()["id"]
    DeliveryWorker(env.gw, name="once").run_once()  # B's copy is local: delivered in the claim
    assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B")).status_code == 200
    assert status(env, "B", doc, "03").status_code == 202
    with env.gw.sessions() as session:
        queued = session.execute(
            sa.select(OutboxMessage.payload).where(OutboxMessage.done_at.is_(None), OutboxMessage.topic == "deliver")
            .order_by(OutboxMessage.id)).scalars().all()
        codes = []
        for payload in queued:
            delivery = session.get(Delivery, payload["delivery_id"])
            assert delivery is not None and delivery.route == "node2"
            codes.append(session.get(Package, delivery.package_id).status_code)  # type: ignore[union-attr]
    assert codes == ["01", "03"]  # the worker pushes in this order
