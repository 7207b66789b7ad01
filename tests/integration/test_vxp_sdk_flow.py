"""The whole SDK flow (STANDARDS.md §8) against a real gateway, on SQLite and PostgreSQL, with a client written in
the test suite from §8 alone (tests/unit/vxp/sdk_client.py), next to a DMS on the native API.

A (SDK) sends a package to B (SDK) and C (native API); B lists, gets, acknowledges (done) and sends status
packages 01 and 03 back; C acknowledges and answers 03 natively; A reads the four statuses over VXP, and
getSentEdocList shows both recipients' states. Then the other way: C (native) sends to B (SDK).
"""

from __future__ import annotations

import json

from schemas.edxml import parse_package
from service.exchange.directory import create_client, set_vxp_secret
from tests.support.exchange import header, inbox, status, submit
from tests.support.gateway import A, B, C, Env
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml, status_xml


def vxp_system(env: Env, name: str, agencies: list[str], *, role: str = "dms") -> SdkClient:
    """Register a client system with a VXP systemid (as ``edoc client add --vxp-systemid`` does)."""
    with env.gw.writes() as session, session.begin():
        client, _key = create_client(session, name=name, role=role, agencies=agencies)
        secret = set_vxp_secret(session, client, systemid=f"vxp.{name}",
                                secret_key=env.gw.settings.secret_key.get_secret_value())
    return SdkClient(env.http, f"vxp.{name}", secret)


def test_sdk_flow_with_a_native_dms(env: Env) -> None:
    sdk_a, sdk_b = vxp_system(env, "sdk-a", [A]), vxp_system(env, "sdk-b", [B])
    package = edoc_xml(A, [B, C], "15")
    sent = SdkClient.ok(sdk_a.send_edoc(package, A, [B, C]))
    doc = sent["DocId"]
    assert SdkClient.ok(sdk_a.send_edoc(package, A, [B, C]))["DocId"] == doc  # a resend is the same document
    assert env.deliver() == 2

    # B on the SDK: count, list, get, done, statuses 01 and 03.
    assert sdk_b.count("edoc") == 1
    rows = sdk_b.received("edoc")
    assert [(r["docId"], r["from"], r["to"], r["messageType"], r["status"]) for r in rows] == [
        (doc, A, B, "edoc", "initial")]
    edxml = parse_package(sdk_b.get_edoc(doc)).edoc
    assert edxml is not None and str(edxml.header.document_id) == f"{A},2026/11/20,15/SDK-VP"
    assert [t.organ_id for t in edxml.trace] == [env.gw.settings.node_id]
    assert edxml.attachments[0].data == "Nội dung văn bản số 15".encode()
    SdkClient.ok(sdk_b.update_status(doc, "done"))
    assert sdk_b.received("edoc") == [] and sdk_b.count("edoc") == 0
    document_id = str(edxml.header.document_id)
    for code in ("01", "03"):
        SdkClient.ok(sdk_b.send_edoc(status_xml(B, document_id, code), B, [A], messagetype="status"))

    # C on the native API: inbox, ack (sends 01 automatically), 03.
    assert [i["id"] for i in inbox(env, "C")] == [doc]
    assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("C")).status_code == 200
    env.deliver()
    assert status(env, "C", doc, "03", description="Đã vào sổ").status_code == 202
    env.deliver()

    # A reads the statuses over VXP.
    assert sdk_a.count("status") == 4
    statuses = []
    for row in sdk_a.received("status"):
        parsed = parse_package(sdk_a.get_edoc(row["docId"])).status
        assert parsed is not None and parsed.response_for is not None
        assert str(parsed.response_for.document_id) == document_id
        statuses.append((row["from"], parsed.status_code))
        SdkClient.ok(sdk_a.update_status(row["docId"], "done"))
    assert sorted(statuses) == sorted([(B, "01"), (B, "03"), (C, "01"), (C, "03")])
    assert sdk_a.received("status") == []

    rows = sdk_a.sent(doc)
    states = {r["toCode"]: (r["sendStatus"], r["receiveStatus"], r["receiveStatusDesc"]) for r in rows}
    assert states == {B: ("done", "03", "Đã tiếp nhận"), C: ("done", "03", "Đã tiếp nhận")}
    assert {r["senderDocId"] for r in rows} == {doc} and rows[0]["notation"] == "15/SDK-VP"
    assert doc in {r["senderDocId"] for r in sdk_a.sent()}

    # The other way: C (native) sends to B (SDK); B answers with updateStatus(acceptance) after 01.
    resp = submit(env, "C", header(C, [B], number="88", notation="VPCP-TTĐT"))
    assert resp.status_code == 202, resp.text
    native_doc = resp.json()["id"]
    env.deliver()
    assert [r["docId"] for r in sdk_b.received("edoc")] == [native_doc]
    SdkClient.ok(sdk_b.update_status(native_doc, "done"))
    SdkClient.ok(sdk_b.update_status(native_doc, "inbox"))
    SdkClient.ok(sdk_b.update_status(native_doc, "acceptance"))
    env.deliver()
    assert sorted(i["code"] for i in inbox(env, "C") if i["kind"] == "status") == ["01", "03"]


def test_directory_operations(env: Env) -> None:
    admin, dms = vxp_system(env, "sdk-admin", [], role="admin"), vxp_system(env, "sdk-dms", [A])
    codes = {a["code"] for a in dms.agencies()}
    assert {A, B, C} <= codes
    record = json.dumps({"id": "", "pcode": "000.00.00.H53", "code": "000.00.13.H53", "name": "Sở Y tế", "mail": "",
                         "mobile": "", "fax": ""}, ensure_ascii=False).encode("utf-8")
    refused = dms.call("registerAgency", {}, record)
    assert (refused["status"], refused["ErrorCode"]) == ("FAIL", "VXP-403-WRONG-ROLE")
    SdkClient.ok(admin.call("registerAgency", {}, record))
    row = next(a for a in dms.agencies() if a["code"] == "000.00.13.H53")
    assert (row["name"], row["pid"]) == ("Sở Y tế", "000.00.00.H53")
    SdkClient.ok(admin.call("deleteAgency", {"AgencyCode": "000.00.13.H53"}))
    assert "000.00.13.H53" not in {a["code"] for a in dms.agencies()}


def test_update_status_done_and_fail_settle_only_the_callers_delivered_copy(env: Env) -> None:
    import sqlalchemy as sa

    from storage.models import Delivery, ExchangeEvent

    sdk_a, sdk_b = vxp_system(env, "sdk-a", [A]), vxp_system(env, "sdk-b", [B])
    done = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B, C], "61"), A, [B, C]))["DocId"]
    failed = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B], "62"), A, [B]))["DocId"]
    assert env.deliver() == 3

    unknown = sdk_b.update_status("no-such-doc", "done")
    assert (unknown["status"], unknown["ErrorCode"], unknown["_http"]) == ("FAIL", "VXP-404-UNKNOWN-PACKAGE", 404)
    not_addressed = sdk_a.update_status(done, "done")  # the sender's system is no recipient of it
    assert (not_addressed["ErrorCode"], not_addressed["_http"]) == ("VXP-404-UNKNOWN-PACKAGE", 404)
    SdkClient.ok(sdk_b.update_status(done, "done"))
    SdkClient.ok(sdk_b.update_status(done, "done"))  # already settled: nothing to do, not an error
    SdkClient.ok(sdk_b.update_status(failed, "fail"))

    with env.gw.sessions() as session:
        rows = session.execute(sa.select(Delivery.package_id, Delivery.to_code, Delivery.state, Delivery.last_error,
                                         Delivery.acked_at)).all()
        events = session.execute(sa.select(ExchangeEvent).where(ExchangeEvent.kind.in_(["acked", "fetch_failed"])))
        logged = [(e.kind, e.package_id, e.agency_code, e.actor, e.detail.get("channel")) for e in events.scalars()]
    states = {(r.package_id, r.to_code): (r.state, r.last_error, r.acked_at is not None) for r in rows}
    assert states == {
        (done, B): ("acked", None, True),
        (done, C): ("delivered", None, False),
        (failed, B): ("failed", "the recipient system sdk-b reported the package unusable (fail)", True),
    }
    assert sorted(logged) == sorted([("acked", done, B, "sdk-b", "vxp"), ("fetch_failed", failed, B, "sdk-b", "vxp")])
    assert [r["docId"] for r in sdk_b.received("edoc")] == []


def test_the_received_list_describes_each_waiting_document(env: Env) -> None:
    import datetime as dt

    from service.exchange.clock import VN
    from service.vxp.facade import SEND_STATES

    sdk_a, sdk_b = vxp_system(env, "list-a", [A]), vxp_system(env, "list-b", [B])
    first = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B], "71"), A, [B]))["DocId"]
    second = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B], "72"), A, [B]))["DocId"]
    assert sdk_b.received("edoc") == []  # nothing before delivery
    assert env.deliver() == 2
    rows = sdk_b.received("edoc")
    assert [r["docId"] for r in rows] == [first, second]  # in delivery order
    status, desc = SEND_STATES["delivered"]
    now = dt.datetime.now(VN)
    for row in rows:
        assert (row["serviceType"], row["messageType"], row["from"], row["to"]) == ("eDoc", "edoc", A, B)
        assert (row["status"], row["status_desc"]) == (status, desc)
        for key in ("created_time", "updated_time"):  # Vietnam time, as the SDK shows it
            moment = dt.datetime.strptime(row[key], "%Y-%m-%d %H:%M:%S").replace(tzinfo=VN)
            assert abs((now - moment).total_seconds()) < 120, row
    assert sdk_b.received("status") == []
    SdkClient.ok(sdk_b.update_status(first, "done"))
    assert [r["docId"] for r in sdk_b.received("edoc")] == [second]
