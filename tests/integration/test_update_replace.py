"""Update (BussinessDocType 2) and replacement (type 3) through the native API, the whole 13 → 15/16 flow
(QĐ 28/2018, STANDARDS.md §2; issue 16 item 6), on SQLite and PostgreSQL, and the refusals of bad requests as
problem+json with stable codes.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.edxml import BusinessDocType, parse_package
from tests.integration.test_vxp_sdk_flow import vxp_system
from tests.support.exchange import header, inbox, record, status, submit
from tests.support.gateway import A, B, C, D, Env
from tests.support.pdfs import simple_pdf


def sent_to_b_and_c(env: Env, number: str) -> str:
    doc = submit(env, "A", header(A, [B, C], number=number)).json()["id"]
    env.deliver()
    for who in ("B", "C"):
        assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_(who)).status_code == 200
    env.deliver()
    return doc


def update(env: Env, doc: str, who: str = "A", **body: Any) -> Any:
    return env.http.post(f"/api/v1/edocs/{doc}/update", json=body, headers=env.as_(who))


def replace(env: Env, doc: str, hdr: dict[str, Any], who: str = "A", **fields: str) -> Any:
    pdf = [("files", ("thay-the.pdf", simple_pdf(1), "application/pdf"))]
    data = {"header": json.dumps(hdr, ensure_ascii=False), **fields}
    return env.http.post(f"/api/v1/edocs/{doc}/replace", data=data, files=pdf, headers=env.as_(who))


def fetched(env: Env, who: str, package_id: str) -> Any:
    resp = env.http.get(f"/api/v1/edocs/{package_id}/edxml", headers=env.as_(who))
    assert resp.status_code == 200, resp.text
    return parse_package(resp.content).edoc


def recipient_states(env: Env, doc: str) -> dict[str, tuple[str | None, str | None]]:
    return {d["to"]: (d["recall_state"], d["recall_kind"]) for d in record(env, "A", doc)["deliveries"]}


def test_update_13_then_15_and_16(env: Env) -> None:
    doc = sent_to_b_and_c(env, "41")
    resp = update(env, doc, subject="Về việc triển khai (sửa đổi thời hạn)", due_date="2026-12-31",
                  reason="Sửa thời hạn", receivers=[{"agency": B, "type": 0}, {"agency": C, "type": 1}])
    assert resp.status_code == 202, resp.text
    upd = resp.json()["id"]
    assert recipient_states(env, doc) == {B: ("requested", "update"), C: ("requested", "update")}
    env.deliver()

    for who, code in (("B", "15"), ("C", "16")):
        items = [i for i in inbox(env, who) if i["kind"] == "edoc"]
        assert [(i["id"], i["business_type"]) for i in items] == [(upd, 2)]
        package = fetched(env, who, upd)
        business = package.business
        assert business.doc_type == BusinessDocType.UPDATE and str(business.document_id) == str(
            package.header.document_id) == record(env, "A", doc)["document_id"]
        assert business.doc_reason == "Sửa thời hạn"
        info = business.document_info
        assert (info.document_info, info.document_receiver) == (1, 1)
        assert [(r.organ_id, r.receiver_type) for r in info.receivers] == [(B, 0), (C, 1)]
        assert package.header.subject.endswith("(sửa đổi thời hạn)") and str(package.header.due_date) == "2026-12-31"
        assert len(package.attachments) == 1  # the document's file travels with its update
        assert status(env, who, upd, code).status_code == 202  # answering the update package itself
    env.deliver()

    rec = record(env, "A", doc)
    assert {a: [h["code"] for h in rec["history"] if h["agency"] == a] for a in (B, C)} == {
        B: ["01", "13", "15"], C: ["01", "13", "16"]}
    assert recipient_states(env, doc) == {B: ("updated", "update"), C: ("refused", "update")}
    answers = {(i["from"], i["code"]) for i in inbox(env, "A") if i["code"] in ("15", "16")}
    assert answers == {(B, "15"), (C, "16")}
    assert fetched(env, "B", doc) is not None  # an updated copy is still served; the update says what changed


def test_replace_13_then_15_and_16(env: Env) -> None:
    doc = sent_to_b_and_c(env, "42")
    new_header = {"code": {"number": "43", "notation": "STTTT-VP"}, "subject": "Thay thế công văn số 42",
                  "date": "2026-11-25"}
    resp = replace(env, doc, new_header, reason="Ban hành nhầm phụ lục")
    assert resp.status_code == 202, resp.text
    new = resp.json()
    assert new["document_id"] == f"{A},2026/11/25,43/STTTT-VP"
    assert sorted(d["to"] for d in new["deliveries"]) == sorted([B, C])
    env.deliver()

    sdk_b = vxp_system(env, "repl-b", [B])
    assert new["id"] in [r["docId"] for r in sdk_b.received("edoc")]
    for who, code in (("B", "15"), ("C", "16")):
        package = fetched(env, who, new["id"])
        business = package.business
        assert business.doc_type == BusinessDocType.REPLACE and business.doc_reason == "Ban hành nhầm phụ lục"
        assert [(str(r.document_id), sorted(r.organ_ids)) for r in business.replacements] == [
            (record(env, "A", doc)["document_id"], sorted([B, C]))]
        assert package.header.subject == "Thay thế công văn số 42" and len(package.attachments) == 1
        assert status(env, who, doc, code).status_code == 202  # answering about the replaced document
    env.deliver()

    assert recipient_states(env, doc) == {B: ("replaced", "replace"), C: ("refused", "replace")}
    rec = record(env, "A", doc)
    assert [h["code"] for h in rec["history"] if h["agency"] == B] == ["01", "13", "15"]
    gone = env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_("B"))
    assert gone.status_code == 410 and gone.json()["code"] == "document_recalled"
    assert env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_("C")).status_code == 200
    assert doc not in [r["docId"] for r in sdk_b.received("edoc")]
    assert fetched(env, "B", new["id"]) is not None  # the replacing document is B's now


def test_bad_requests_are_refused_with_stable_codes(env: Env) -> None:
    doc = sent_to_b_and_c(env, "44")
    new_header = {"code": {"number": "45", "notation": "STTTT-VP"}, "subject": "Văn bản thay thế"}

    def refused(resp: Any, http: int, code: str) -> None:
        assert resp.status_code == http and resp.json()["code"] == code, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")

    refused(update(env, "0" * 32, subject="x"), 404, "unknown_package")
    refused(replace(env, "0" * 32, new_header), 404, "unknown_package")
    refused(update(env, doc, who="B", subject="x"), 403, "not_document_sender")
    refused(replace(env, doc, new_header, who="B"), 403, "not_your_agency")  # B may not send for A
    refused(replace(env, doc, {**new_header, "from": B}, who="B"), 403, "not_document_sender")
    refused(update(env, doc), 422, "empty_update")
    refused(update(env, doc, subject="x", to=[D]), 422, "not_a_recipient")
    refused(replace(env, doc, {**new_header, "to": [D]}), 422, "not_a_recipient")
    refused(update(env, doc, priority=9), 422, "validation_error")
    refused(update(env, doc, receivers=[{"agency": "not-a-code"}]), 400, "invalid_agency_code")
    refused(env.http.post(f"/api/v1/edocs/{doc}/replace", json={"reason": "x"}, headers=env.as_("A")), 422,
            "invalid_header")
    refused(replace(env, doc, {"subject": "no number"}), 422, "invalid_header")

    assert env.http.post(f"/api/v1/edocs/{doc}/recall", json={"to": [B]}, headers=env.as_("A")).status_code == 202
    refused(update(env, doc, subject="x", to=[B]), 422, "recall_pending")
    env.deliver()
    assert status(env, "B", doc, "15").status_code == 202
    env.deliver()
    refused(update(env, doc, subject="x", to=[B]), 409, "already_recalled")
    refused(replace(env, doc, {**new_header, "to": [B]}), 409, "already_recalled")
    again = {"to": [B], "reason": "Thu hồi lần nữa"}  # (the first request again would be answered as its replay)
    refused(env.http.post(f"/api/v1/edocs/{doc}/recall", json=again, headers=env.as_("A")), 409, "already_recalled")
    # By default only the copies still held are concerned: C's.
    resp = update(env, doc, subject="Chỉ gửi C")
    assert resp.status_code == 202 and [d["to"] for d in resp.json()["deliveries"]] == [C], resp.text
    upd = resp.json()["id"]
    refused(update(env, upd, who="A", subject="y"), 422, "recall_pending")  # the update package names the original
    status_pkg = next(i for i in inbox(env, "A") if i["kind"] == "status")["id"]
    refused(update(env, status_pkg, subject="y"), 404, "unknown_package")


def test_a_retried_update_is_answered_as_a_replay(env: Env) -> None:
    doc = sent_to_b_and_c(env, "46")
    headers = {**env.as_("A"), "Idempotency-Key": "upd-46"}
    first = env.http.post(f"/api/v1/edocs/{doc}/update", json={"subject": "Sửa"}, headers=headers)
    again = env.http.post(f"/api/v1/edocs/{doc}/update", json={"subject": "Sửa"}, headers=headers)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = env.http.post(f"/api/v1/edocs/{doc}/update", json={"subject": "Khác"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    plain = update(env, doc, subject="Sửa")  # without the key: a new request, refused while the first is pending
    assert plain.status_code == 422 and plain.json()["code"] == "recall_pending"
    retried = update(env, doc, subject="Sửa")
    assert retried.status_code == 422 and retried.json()["code"] == "recall_pending"


def test_a_replacement_without_files_as_json(env: Env) -> None:
    doc = sent_to_b_and_c(env, "47")
    body = {"header": {"code": {"number": "48", "notation": "STTTT-VP"}, "subject": "Thay thế", "to": [C]},
            "reason": "Thay cho C"}
    resp = env.http.post(f"/api/v1/edocs/{doc}/replace", json=body, headers=env.as_("A"))
    assert resp.status_code == 202, resp.text
    assert [d["to"] for d in resp.json()["deliveries"]] == [C]
    assert recipient_states(env, doc) == {B: (None, None), C: ("requested", "replace")}
    too_long = env.http.post(f"/api/v1/edocs/{doc}/replace", json={**body, "reason": "x" * 501}, headers=env.as_("A"))
    assert too_long.status_code == 422 and too_long.json()["code"] == "invalid_header"
