"""Hostile and wrong input at submit: each gets a clear problem+json with a stable code, and nothing is stored."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from storage.models import Delivery, Package, SmallBlob
from tests.support.exchange import header, inbox, submit
from tests.support.gateway import A, B, C, Env

XML = {"Content-Type": "application/xml"}


def _post_xml(env: Env, who: str, body: bytes, **headers: str) -> object:
    return env.http.post("/api/v1/edocs", content=body, headers={**env.as_(who), **XML, **headers})


def _nothing_stored(env: Env) -> None:
    with env.gw.sessions() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Package)).scalar_one() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(SmallBlob)).scalar_one() == 0


def _problem(resp: object, status: int, code: str) -> dict[str, object]:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    assert resp.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = resp.json()  # type: ignore[attr-defined]
    assert body["code"] == code, body
    assert body["detail"]
    return body


def test_xxe_is_refused(sqlite_env: Env) -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>"""
    _problem(_post_xml(sqlite_env, "A", body), 400, "xml_forbidden_construct")
    _nothing_stored(sqlite_env)


def test_billion_laughs_is_refused_fast(sqlite_env: Env) -> None:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    body = f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">{entities}]><edXML>&l9;</edXML>'.encode()
    started = time.perf_counter()
    _problem(_post_xml(sqlite_env, "A", body), 400, "xml_forbidden_construct")
    assert time.perf_counter() - started < 2.0


def test_empty_body(sqlite_env: Env) -> None:
    _problem(_post_xml(sqlite_env, "A", b""), 422, "empty_body")


def test_not_xml(sqlite_env: Env) -> None:
    _problem(_post_xml(sqlite_env, "A", b"%PDF-1.7 not a package"), 400, "malformed_xml")


def test_package_over_the_size_limit(sqlite_env: Env) -> None:
    sqlite_env.gw.settings.max_package_bytes = 10_000
    body = b"<edXML>" + b" " * 20_000 + b"</edXML>"
    _problem(_post_xml(sqlite_env, "A", body), 413, "package_too_large")
    multipart = submit(sqlite_env, "A", header(A, [B]), files=[("big.pdf", b"%PDF" + b"0" * 20_000)])
    assert multipart.status_code == 413, multipart.text
    _nothing_stored(sqlite_env)


def test_sender_must_own_from(sqlite_env: Env) -> None:
    _problem(submit(sqlite_env, "B", header(A, [C])), 403, "not_your_agency")
    _nothing_stored(sqlite_env)


def test_unknown_recipient(env: Env) -> None:
    body = _problem(submit(env, "A", header(A, [B, "000.00.99.H53"])), 422, "unknown_recipient")
    assert body["agency"] == "000.00.99.H53"
    _nothing_stored(env)


def test_malformed_agency_code(sqlite_env: Env) -> None:
    body = _problem(submit(sqlite_env, "A", header(A, ["28.22.H17"])), 400, "invalid_agency_code")
    assert "28.22.H17" in str(body["detail"])


@pytest.mark.parametrize("marking", ["Mật", "TỐI MẬT", " tuyệt   mật "])
def test_secret_document_is_refused_and_not_stored(sqlite_env: Env, marking: str) -> None:
    resp = submit(sqlite_env, "A", header(A, [B], security_level=marking))
    _problem(resp, 422, "secret_document")
    resp = submit(sqlite_env, "A", header(A, [B], sphere_of_promulgation=marking))
    _problem(resp, 422, "secret_document")
    _nothing_stored(sqlite_env)
    objects = sqlite_env.gw.settings.data_dir / "objects"
    assert objects.is_dir()
    assert not [p for p in objects.rglob("*") if p.is_file() and p.relative_to(objects).parts[0] != "tmp"]


def test_security_wording_in_the_subject_is_not_secret(sqlite_env: Env) -> None:
    resp = submit(sqlite_env, "A", header(A, [B], subject="Về việc bảo mật thông tin và an toàn hệ thống"))
    assert resp.status_code == 202, resp.text


def _signed_package(env: Env) -> bytes:
    first = submit(env, "A", header(A, [B]))
    assert first.status_code == 202, first.text
    resp = env.http.get(f"/api/v1/edocs/{first.json()['id']}/edxml", headers=env.as_("A"))
    return bytes(resp.content)


def test_forged_xml_signature_is_refused(sqlite_env: Env) -> None:
    xml = _signed_package(sqlite_env)
    forged = xml.replace("Về việc triển khai".encode(), "Về việc hủy bỏ".encode(), 1)
    assert forged != xml
    _problem(_post_xml(sqlite_env, "A", forged, **{"Idempotency-Key": "forged"}), 422, "xml_signature_invalid")


def test_unsigned_package_is_refused_under_the_strict_policy(sqlite_env: Env) -> None:
    from signing.xmldsig import verify_package

    xml = _signed_package(sqlite_env)
    assert verify_package(xml).code == "valid"
    start, end = xml.index(b"<ds:Signature") if b"<ds:Signature" in xml else xml.index(b"<Signature"), None
    end = (
        xml.index(b"</ds:Signature>") + len(b"</ds:Signature>")
        if b"</ds:Signature>" in xml
        else (xml.index(b"</Signature>") + len(b"</Signature>"))
    )
    unsigned = xml[:start] + xml[end:]
    # Another document (number 13), not a resend of the signed one (which would be answered as its replay).
    unsigned = unsigned.replace(b"12/STTTT-VP", b"13/STTTT-VP").replace(b"CodeNumber>12<", b"CodeNumber>13<")
    sqlite_env.gw.settings.xml_signature_policy = "reject"
    _problem(_post_xml(sqlite_env, "A", unsigned, **{"Idempotency-Key": "u1"}), 422, "xml_signature_absent")
    sqlite_env.gw.settings.xml_signature_policy = "warn"
    resp = _post_xml(sqlite_env, "A", unsigned, **{"Idempotency-Key": "u2"})
    assert resp.status_code == 202 and resp.json()["warnings"] == ["package not signed"]  # type: ignore[attr-defined]


def test_replayed_submit_returns_the_first_answer(env: Env) -> None:
    hdr = header(A, [B, C])
    first = submit(env, "A", hdr, key="k-1")
    again = submit(env, "A", hdr, key="k-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    # Without a key, or with another one, the DocumentId + sender identify the document (issue 17, item 1).
    third = submit(env, "A", hdr)
    assert third.status_code == 202
    assert third.json()["id"] == first.json()["id"] and third.headers["Idempotent-Replayed"] == "true"
    fourth = submit(env, "A", hdr, key="k-other")
    assert fourth.json()["id"] == first.json()["id"]
    env.deliver()
    assert len(inbox(env, "B")) == 1
    with env.gw.sessions() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Delivery)).scalar_one() == 2


def test_same_key_different_package_is_a_conflict(sqlite_env: Env) -> None:
    assert submit(sqlite_env, "A", header(A, [B]), key="k-2").status_code == 202
    body = _problem(submit(sqlite_env, "A", header(A, [B], number="13"), key="k-2"), 409, "idempotency_conflict")
    assert body["existing_id"]


def test_unauthorised_callers(sqlite_env: Env) -> None:
    no_key = sqlite_env.http.get("/api/v1/inbox")
    _problem(no_key, 401, "missing_api_key")
    bad = sqlite_env.http.get("/api/v1/inbox", headers={"Authorization": "Bearer edk_not-a-real-key"})
    _problem(bad, 401, "invalid_api_key")
    other = sqlite_env.http.get("/api/v1/inbox", params={"agency": B}, headers=sqlite_env.as_("A"))
    _problem(other, 403, "not_your_agency")
    admin_only = sqlite_env.http.post("/api/v1/clients", json={"name": "x", "role": "dms"}, headers=sqlite_env.as_("A"))
    _problem(admin_only, 403, "wrong_role")


def test_bad_header_json(sqlite_env: Env) -> None:
    resp = sqlite_env.http.post("/api/v1/edocs", data={"header": "{not json"}, headers=sqlite_env.as_("A"))
    _problem(resp, 422, "invalid_header")
    resp = sqlite_env.http.post("/api/v1/edocs", data={"header": json.dumps({"from": A})}, headers=sqlite_env.as_("A"))
    _problem(resp, 422, "invalid_header")


@pytest.mark.parametrize("same_body", [True, False])
def test_a_submit_that_loses_the_race_answers_as_the_winners_replay(
    env: Env, monkeypatch: pytest.MonkeyPatch, same_body: bool
) -> None:
    """Two identical submits both pass the replay check before either commits; the database's unique
    (from, idempotency key) refuses the second INSERT, which answers as the first one's replay (or as a conflict
    when the bodies differ). The window is opened by hiding the first submit from the second one's early check."""
    from service.exchange import submit as submit_module

    first = submit(env, "A", header(A, [B, C]), key="race-1")
    assert first.status_code == 202, first.text
    real = submit_module.find_replay
    calls = []

    def early_check_misses(gw: object, plan: object, *rest: object) -> object:
        calls.append(1)
        return None if len(calls) == 1 else real(gw, plan, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(submit_module, "find_replay", early_check_misses)
    hdr = header(A, [B, C]) if same_body else header(A, [B], subject="Một văn bản khác")
    second = submit(env, "A", hdr, key="race-1")
    assert len(calls) == 2  # the early check (hidden), then the answer after the refused INSERT
    if same_body:
        assert second.status_code == 202, second.text
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert second.json()["id"] == first.json()["id"]
    else:
        _problem(second, 409, "idempotency_conflict")
    with env.gw.sessions() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Package)).scalar_one() == 1
        assert session.execute(sa.select(sa.func.count()).select_from(Delivery)).scalar_one() == 2
