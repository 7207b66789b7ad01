"""The whole exchange through the native HTTP API, on SQLite and on PostgreSQL (issue: "Done when", first point).

A sends a package with a PDF attachment to B and C; each finds it in its inbox exactly once, fetches it, acks;
B sends 03, 04, 05, 06 and A sees the history in order; C rejects with 02; A recalls from B (13), B answers 15,
after which B's copy is recalled; every step is in the exchange log.
"""

from __future__ import annotations

import sqlalchemy as sa

from schemas.edxml import parse_package, validate
from signing.xmldsig import verify_package
from storage.models import Package
from tests.support.exchange import header, inbox, record, status, submit
from tests.support.gateway import A, B, C, Env
from tests.support.pdfs import simple_pdf


def test_full_exchange(env: Env) -> None:
    pdf = simple_pdf(3)
    resp = submit(env, "A", header(A, [B, C]), files=[("cong-van-12.pdf", pdf)])
    assert resp.status_code == 202, resp.text
    sent = resp.json()
    doc = sent["id"]
    assert sent["document_id"] == f"{A},2026/11/20,12/STTTT-VP"
    assert sorted(sent["deliveries"], key=lambda d: d["to"]) == [
        {"to": C, "state": "pending"},
        {"to": B, "state": "pending"},
    ]

    assert inbox(env, "B") == []  # nothing before the worker ran
    assert env.deliver() >= 2  # two deliveries (and the attachment's signature check)
    assert env.deliver() == 0  # nothing twice
    for who in ("B", "C"):
        items = inbox(env, who)
        assert [(i["id"], i["kind"], i["from"]) for i in items] == [(doc, "edoc", A)]
        assert items[0]["subject"].startswith("Về việc triển khai")

        edxml = env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_(who))
        assert edxml.status_code == 200
        assert validate(edxml.content) == ()
        check = verify_package(edxml.content)
        assert check.code == "valid" and check.digest_algorithm and "sha256" in check.digest_algorithm.lower()
        parsed = parse_package(edxml.content)
        assert parsed.edoc is not None and [t.organ_id for t in parsed.edoc.trace] == [env.gw.settings.node_id]
        att = env.http.get(f"/api/v1/edocs/{doc}/attachments/0", headers=env.as_(who))
        assert att.status_code == 200 and att.content == pdf

        ack = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_(who))
        assert ack.status_code == 200 and ack.json()["state"] == "acked"
        assert inbox(env, who) == []

    env.deliver()  # the automatic 01 statuses travel back to A
    a_items = inbox(env, "A")
    assert sorted((i["kind"], i["code"], i["response_for"]) for i in a_items) == [("status", "01", doc)] * 2

    for code in ("03", "04", "05", "06"):
        resp = status(env, "B", doc, code, description=f"B: {code}")
        assert resp.status_code == 202, resp.text
    resp = status(env, "C", doc, "02", description="Gửi nhầm đơn vị")
    assert resp.status_code == 202, resp.text
    env.deliver()

    rec = record(env, "A", doc)
    b_codes = [h["code"] for h in rec["history"] if h["agency"] == B]
    c_codes = [h["code"] for h in rec["history"] if h["agency"] == C]
    assert b_codes == ["01", "03", "04", "05", "06"]
    assert c_codes == ["01", "02"]
    states = {d["to"]: (d["state"], d["business_status"]) for d in rec["deliveries"]}
    assert states == {B: ("acked", "06"), C: ("acked", "02")}

    # Nothing after 06 but an answer to a recall.
    again = status(env, "B", doc, "05")
    assert again.status_code == 422 and again.json()["code"] == "status_transition"
    early = status(env, "B", doc, "15")
    assert early.status_code == 422 and early.json()["code"] == "no_pending_recall"

    recall = env.http.post(
        f"/api/v1/edocs/{doc}/recall", json={"to": [B], "reason": "Văn bản ban hành nhầm"}, headers=env.as_("A")
    )
    assert recall.status_code == 202, recall.text
    env.deliver()
    b_items = inbox(env, "B")
    recall_items = [i for i in b_items if i["kind"] == "edoc" and i["business_type"] == 1]
    assert len(recall_items) == 1
    assert status(env, "B", doc, "15", description="Đồng ý thu hồi").status_code == 202
    env.deliver()

    rec = record(env, "A", doc)
    b_delivery = next(d for d in rec["deliveries"] if d["to"] == B)
    assert (b_delivery["recall_state"], b_delivery["recall_kind"]) == ("recalled", "recall")
    assert [h["code"] for h in rec["history"] if h["agency"] == B][-2:] == ["13", "15"]
    gone = env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_("B"))
    assert gone.status_code == 410 and gone.json()["code"] == "document_recalled"
    assert env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_("C")).status_code == 200

    events = env.http.get("/api/v1/events", params={"package_id": doc, "limit": 1000}, headers=env.as_("auditor"))
    kinds = [e["kind"] for e in events.json()["items"]]
    assert kinds[0] == "submitted"
    assert kinds.count("delivered") == 2 and kinds.count("acked") == 2
    codes = [e["detail"].get("status_code") for e in events.json()["items"] if e["kind"] == "status"]
    assert codes.count("06") == 1 and codes.count("02") == 1 and codes.count("13") == 1 and codes.count("15") == 1


def test_inbox_pages_oldest_first(env: Env) -> None:
    ids = []
    for n in range(5):
        resp = submit(env, "A", header(A, [B], number=str(100 + n)))
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
        env.deliver()
    seen, after = [], None
    while True:
        params = {"limit": 2, **({"after": after} if after else {})}
        page = env.http.get("/api/v1/inbox", params=params, headers=env.as_("B")).json()
        seen += [i["id"] for i in page["items"]]
        after = page["next_cursor"]
        if not after:
            break
    assert seen == ids


def test_submit_a_complete_package_as_xml(env: Env) -> None:
    first = submit(env, "A", header(A, [B]))
    env.deliver()
    xml = env.http.get(f"/api/v1/edocs/{first.json()['id']}/edxml", headers=env.as_("A")).content
    # The same document again, as a whole signed package under another idempotency key: the same document
    # (issue 17, item 1), answered as the first submit's replay.
    resp = env.http.post(
        "/api/v1/edocs",
        content=xml,
        headers={**env.as_("A"), "Content-Type": "application/xml", "Idempotency-Key": "relay-1"},
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["id"] == first.json()["id"] and resp.headers["Idempotent-Replayed"] == "true"
    # A complete package of another document (a relayed one, signed by this node): accepted, its signature
    # checked and kept, re-signed with this node's TraceHeader appended.
    other = submit(env, "A", header(A, [B], number="14"))
    relayed = env.http.get(f"/api/v1/edocs/{other.json()['id']}/edxml", headers=env.as_("A")).content
    with env.gw.writes() as session, session.begin():  # its DocumentId freed, as on a node that never saw it
        session.execute(sa.update(Package).where(Package.id == other.json()["id"]).values(document_key=None))
    resp = env.http.post(
        "/api/v1/edocs",
        content=relayed,
        headers={**env.as_("A"), "Content-Type": "application/xml", "Idempotency-Key": "relay-2"},
    )
    assert resp.status_code == 202, resp.text
    env.deliver()
    again = env.http.get(f"/api/v1/edocs/{resp.json()['id']}/edxml", headers=env.as_("B")).content
    trace = parse_package(again).edoc.trace  # type: ignore[union-attr]
    assert len(trace) == 2
    assert record(env, "A", resp.json()["id"])["xml_signature"]["incoming"]["code"] == "valid"


def test_automatic_01_gives_way_to_a_status_the_recipient_already_sent(env: Env) -> None:
    doc = submit(env, "A", header(A, [B, C])).json()["id"]
    env.deliver()
    for who in ("B", "C"):
        assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_(who)).status_code == 200
    assert status(env, "B", doc, "03").status_code == 202  # before the worker sends B's automatic 01
    env.deliver()
    env.deliver()
    history = [(h["agency"], h["code"]) for h in record(env, "A", doc)["history"]]
    assert [code for agency, code in history if agency == B] == ["01", "03"]  # 01 first, once (issue 16 item 5)
    assert [code for agency, code in history if agency == C] == ["01"]
    codes = sorted(i["code"] for i in inbox(env, "A"))
    assert codes == ["01", "01", "03"]
    assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B")).json()["already"] is True


def test_a_resent_status_is_answered_as_a_replay_not_refused(env: Env) -> None:
    doc = submit(env, "A", header(A, [B])).json()["id"]
    env.deliver()
    headers = {**env.as_("B"), "Idempotency-Key": "st-03-once"}
    first = env.http.post(f"/api/v1/edocs/{doc}/status", json={"code": "03"}, headers=headers)
    again = env.http.post(f"/api/v1/edocs/{doc}/status", json={"code": "03"}, headers=headers)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = env.http.post(f"/api/v1/edocs/{doc}/status", json={"code": "03"}, headers=env.as_("B"))
    assert other.status_code == 422 and other.json()["code"] == "status_transition"  # a new 03 after 03
    assert [h["code"] for h in record(env, "A", doc)["history"]] == ["01", "03"]  # the 01 it implies, once


def test_a_packages_bytes_are_served_only_to_its_sender_and_recipients(env: Env) -> None:
    resp = submit(env, "A", header(A, [B]))
    assert resp.status_code == 202, resp.text
    doc = resp.json()["id"]
    env.deliver()
    for who in ("A", "B"):
        assert env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_(who)).status_code == 200
    for who, target in (("C", doc), ("B", "0" * 32)):  # not addressed to C; no such package
        refused = env.http.get(f"/api/v1/edocs/{target}/edxml", headers=env.as_(who))
        assert refused.status_code == 404 and refused.json()["code"] == "unknown_package", refused.text
