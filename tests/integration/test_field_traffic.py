"""Field traffic goes through (issue 16 item 1): packages from real DMS, with quirks that do not affect routing, are
accepted through the native XML submit and VXP ``sendEdoc``, relayed as received plus this node's TraceHeader,
and their oddities are listed on the recipient's inbox item and on the record. What breaks routing or safety is
still refused: malformed or unknown From/To codes, secret documents, forged signatures, hostile XML, size limits.

The kit's samples (``../shared/samples/edxml``) come from other agencies than the test directory's, so they are
added to it here; the recall, update and replacement samples refer to document 7816/VPCP-TTĐT of Văn phòng Chính
phủ, which is sent natively first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.edxml import parse_package
from service.exchange.directory import AgencyInput, create_client, import_agencies, set_vxp_secret
from signing.xmldsig import sign_package, verify_package
from tests.support.exchange import header, inbox, record, submit
from tests.support.gateway import A, B, C, Env
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml, status_xml

H13, H51, H41, H14, G17 = "002.00.20.H13", "000.00.15.H51", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
FIELD_AGENCIES = {H13: "UBND xã Hòa Tiến", H51: "Trung tâm test", H41: "UBND tỉnh Nghệ An", H14: "UBND tỉnh Cao Bằng",
                  G17: "Bộ Xây dựng"}
CHANNELS = ("native", "vxp")


def _field_directory(env: Env) -> None:
    """The samples' agencies, a native key per agency (as env.keys[code]) and a VXP system per agency."""
    with env.gw.writes() as session, session.begin():
        import_agencies(session, [AgencyInput(code=code, name=name) for code, name in FIELD_AGENCIES.items()])
        for code in FIELD_AGENCIES:
            _client, env.keys[code] = create_client(session, name=f"field-{code}", role="dms", agencies=[code])
        env.keys[A], env.keys[B], env.keys[C] = env.keys["A"], env.keys["B"], env.keys["C"]
        for code in (*FIELD_AGENCIES, A, B, C):
            client, _key = create_client(session, name=f"sdk-{code}", role="dms", agencies=[code])
            env.keys[f"vxp:{code}"] = set_vxp_secret(
                session, client, systemid=f"vxp.{code}", secret_key=env.gw.settings.secret_key.get_secret_value()
            )


def _send(env: Env, channel: str, frm: str, raw: bytes, who: str | None = None) -> tuple[str, str | None]:
    """Submit ``raw`` from ``frm`` as the client system of agency ``who`` (default: ``frm``); returns
    ("accepted", id) or ("refused", the error code in lower snake case)."""
    who = who or frm
    if channel == "native":
        resp = env.http.post("/api/v1/edocs", content=raw, headers={**env.as_(who), "Content-Type": "application/xml"})
        if resp.status_code == 202:
            return "accepted", resp.json()["id"]
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
        return "refused", resp.json()["code"]
    sdk = SdkClient(env.http, f"vxp.{who}", env.keys[f"vxp:{who}"])
    answer = sdk.send_edoc(raw, frm, [], messagetype="status" if b"StatusCode>" in raw else "edoc")
    if answer["status"] == "OK":
        return "accepted", answer["DocId"]
    return "refused", answer["ErrorCode"].split("-", 2)[2].lower().replace("-", "_")


def _accepted(outcome: tuple[str, str | None]) -> str:
    assert outcome[0] == "accepted", outcome
    assert outcome[1] is not None
    return outcome[1]


def _received(env: Env, who: str, package_id: str, expected: set[str], raw: bytes, *, keep: bytes) -> None:
    """``who`` sees the package in its inbox with the expected oddities, on the record too, and its bytes are the
    package as received (``keep`` is a piece of it) plus this node's TraceHeader, signed by the node."""
    items = {i["id"]: i for i in inbox(env, who)}
    assert package_id in items, items
    listed = {o["code"] for o in items[package_id].get("oddities", [])}
    assert expected <= listed, (expected, listed)
    assert expected <= {o["code"] for o in record(env, who, package_id)["oddities"]}
    relayed = env.http.get(f"/api/v1/edocs/{package_id}/edxml", headers=env.as_(who)).content
    assert keep in raw and keep in relayed
    parsed = parse_package(relayed)
    assert parsed.edoc is not None
    assert parsed.edoc.trace[-1].organ_id == env.gw.settings.node_id
    assert verify_package(relayed).code == "valid"


# --------------------------------------------------------------------------------------------- the samples


def _original_7816(env: Env) -> None:
    """Document 7816/VPCP-TTĐT of 2015/09/30 from Văn phòng Chính phủ, which the recall/update/replace samples name."""
    resp = submit(env, C, header(C, [H41, H14, G17], number="7816", notation="VPCP-TTĐT", date="2015-09-30"))
    assert resp.status_code == 202, resp.text
    env.deliver()


SAMPLES: dict[str, tuple[str, str, set[str], bytes, Callable[[bytes], bytes]]] = {
    # name: (sender, a recipient, oddities it must show, a piece of the original it must keep, fix-up)
    "edoc.edxml": (H13, H51, {"invalid_document_id", "malformed_agency_code", "invalid_base64", "element_order",
                              "undeclared_prefix"}, b"<!-- XML 102 -->", lambda raw: raw),
    "edoc_new.edxml": (H13, H51, {"impossible_date", "signature_default_namespace", "unprefixed_attachment"},
                       "UBND xã Hòa Tiến".encode(), lambda raw: raw.replace(b"28.22.H17", H51.encode())),
    "edoc_revocation.edxml": (C, H41, {"signature_default_namespace"}, b"267/VPCP", lambda raw: raw),
    "edoc_update.edxml": (C, H14, {"impossible_date"}, b"2014/02/30", lambda raw: raw),
    "edoc_replacement.edxml": (C, G17, {"unprefixed_attachment"}, b"ReplacementInfoList", lambda raw: raw),
}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_document_samples_are_relayed_with_their_oddities(env: Env, samples_dir: Path, name: str, channel: str) -> None:
    _field_directory(env)
    frm, to, expected, keep, fix = SAMPLES[name]
    if frm == C:
        _original_7816(env)
    raw = fix((samples_dir / name).read_bytes())
    package_id = _accepted(_send(env, channel, frm, raw))
    env.deliver()
    _received(env, to, package_id, expected | {"xml_signature_unverifiable"}, raw, keep=keep)
    kept = record(env, frm, package_id)["xml_signature"]
    assert kept["incoming"]["code"] == "invalid" and kept["original_sha256"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_edoc_new_as_sent_is_refused_for_its_malformed_recipient_code(
    env: Env, samples_dir: Path, channel: str
) -> None:
    _field_directory(env)
    outcome = _send(env, channel, H13, (samples_dir / "edoc_new.edxml").read_bytes())
    assert outcome == ("refused", "invalid_agency_code")


@pytest.mark.parametrize("channel", CHANNELS)
def test_status_samples_answer_the_document_they_name(env: Env, samples_dir: Path, channel: str) -> None:
    """The status samples answer 7816/VPCP-TTĐT: 01 from Nghệ An after it received the document."""
    _field_directory(env)
    _original_7816(env)
    original = next(i["id"] for i in inbox(env, H41))
    assert env.http.post(f"/api/v1/edocs/{original}/ack", headers=env.as_(H41)).status_code == 200
    env.deliver()
    outcome = _send(env, channel, H41, (samples_dir / "status_acceptance_03.edxml").read_bytes())
    _accepted(outcome)


# ------------------------------------------------------------------------------------- synthetic quirk classes


def _docid(number: str, date: str = "2026/11/20") -> str:
    return f"{A},{date},{number}/SDK-VP"


def _quirk(number: str, change: Callable[[bytes, str], bytes]) -> bytes:
    return change(edoc_xml(A, [B], number), number)


def _insert_before(tag: bytes, piece: str) -> Callable[[bytes, str], bytes]:
    return lambda raw, _n: raw.replace(tag, piece.encode() + tag, 1)


QUIRKS: dict[str, tuple[Callable[[bytes, str], bytes], set[str]]] = {
    "uuid_document_id": (
        lambda raw, n: raw.replace(_docid(n).encode(), str(uuid.uuid5(uuid.NAMESPACE_URL, n)).encode()),
        {"invalid_document_id"},
    ),
    "day_first_promulgation_date": (
        lambda raw, _n: raw.replace(b"<edXML:PromulgationDate>2026/11/20<", b"<edXML:PromulgationDate>20/11/2026<"),
        {"day_first_date"},
    ),
    "impossible_date_in_response_for": (
        _insert_before(b"</edXML:MessageHeader>",
                       f"<edXML:ResponseFor><edXML:OrganId>{C}</edXML:OrganId><edXML:Code>7/VPCP</edXML:Code>"
                       f"<edXML:PromulgationDate>2026/02/30</edXML:PromulgationDate>"
                       f"<edXML:DocumentId>{C},2026/02/30,7/VPCP</edXML:DocumentId></edXML:ResponseFor>"),
        {"impossible_date"},
    ),
    "impossible_date_in_bussiness": (
        lambda raw, n: raw.replace(b"<edXML:Bussiness>",
                                   f"<edXML:Bussiness><edXML:DocumentId>{_docid(n, '2026/02/30')}</edXML:DocumentId>"
                                   .encode()),
        {"impossible_date"},
    ),
    "over_long_optional_fields": (
        _insert_before(b"<edXML:SignerInfo>", f"<edXML:Content>{'Nội dung dài. ' * 50}</edXML:Content>"),
        {"too_long"},
    ),
}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_synthetic_quirks_are_relayed_with_their_oddities(env: Env, quirk: str, channel: str) -> None:
    _field_directory(env)
    change, expected = QUIRKS[quirk]
    raw = _quirk(str(40 + sorted(QUIRKS).index(quirk)), change)
    package_id = _accepted(_send(env, channel, A, raw))
    env.deliver()
    _received(env, B, package_id, expected, raw, keep="V/v thử nghiệm liên thông".encode())


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_impossible_date_in_replacement_info_is_relayed(env: Env, channel: str) -> None:
    _field_directory(env)
    resp = submit(env, "A", header(A, [B], number="50", notation="SDK-VP"))
    assert resp.status_code == 202, resp.text
    env.deliver()
    replaced = _docid("50", "2026/02/30")
    replacement = edoc_xml(A, [B], "50").replace(b"<edXML:BussinessDocType>0<", b"<edXML:BussinessDocType>3<").replace(
        b"</edXML:Paper>",
        f"</edXML:Paper><edXML:ReplacementInfoList><edXML:ReplacementInfo><edXML:DocumentId>{replaced}"
        f"</edXML:DocumentId><edXML:OrganIdList><edXML:OrganId>{B}</edXML:OrganId></edXML:OrganIdList>"
        "</edXML:ReplacementInfo></edXML:ReplacementInfoList>".encode(),
    )
    package_id = _accepted(_send(env, channel, A, replacement))
    env.deliver()
    _received(env, B, package_id, {"impossible_date"}, replacement, keep=b"ReplacementInfoList")


def test_the_identity_is_derived_from_the_header_fields(sqlite_env: Env) -> None:
    env = sqlite_env
    raw = _quirk("61", QUIRKS["uuid_document_id"][0])
    _field_directory(env)
    package_id = _accepted(_send(env, "native", A, raw))
    summary = record(env, "A", package_id)["summary"]
    assert summary["identity"] == {"organ_id": A, "date": "2026-11-20", "code": "61/SDK-VP"}


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_strict_relay_policy_refuses_field_quirks(env: Env, channel: str) -> None:
    _field_directory(env)
    env.gw.settings.relay_policy = "strict"
    raw = _quirk("70", QUIRKS["uuid_document_id"][0])
    assert _send(env, channel, A, raw) == ("refused", "package_check_failed")


# ------------------------------------------------------------------------------------- what is still refused


def _forged(env: Env) -> bytes:
    signed = sign_package(edoc_xml(A, [B], "81"), env.gw.node_key)
    assert verify_package(signed).code == "valid"
    return signed.replace("số 81".encode(), "số 18".encode(), 1)


REFUSALS: dict[str, tuple[Callable[[Env], bytes], str]] = {
    "malformed_to": (lambda env: edoc_xml(A, ["28.22.H17"], "82"), "invalid_agency_code"),
    "unknown_to": (lambda env: edoc_xml(A, ["000.00.99.H53"], "83"), "unknown_recipient"),
    "foreign_from": (lambda env: edoc_xml(A, [B], "84").replace(A.encode(), C.encode(), 1), "not_your_agency"),
    "secret_mat": (lambda env: _quirk("85", _insert_before(
        b"</edXML:MessageHeader>",
        "<edXML:OtherInfo><edXML:SphereOfPromulgation>MAT</edXML:SphereOfPromulgation></edXML:OtherInfo>")),
        "secret_document"),
    "secret_toi_mat": (lambda env: _quirk("86", _insert_before(
        b"</edXML:MessageHeader>",
        "<edXML:OtherInfo><edXML:SphereOfPromulgation>Toi mat</edXML:SphereOfPromulgation></edXML:OtherInfo>")),
        "secret_document"),
    "forged_signature": (_forged, "xml_signature_invalid"),
    "doctype": (lambda env: b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<edXML>&x;</edXML>", "xml_forbidden_construct"),
    "too_large": (lambda env: edoc_xml(A, [B], "87") + b" " * 40_000, "package_too_large"),
}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_what_breaks_routing_or_safety_is_still_refused(env: Env, case: str, channel: str) -> None:
    _field_directory(env)
    env.gw.settings.max_package_bytes = 30_000
    make, code = REFUSALS[case]
    frm = C if case == "foreign_from" else A
    outcome, refusal = _send(env, channel, frm, make(env), who=A)
    assert outcome == "refused" and refusal is not None
    assert refusal == code or (case == "too_large" and refusal.endswith("too_large")), refusal
    assert inbox(env, "B") == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_unverifiable_signature_is_refused_when_the_signature_policy_rejects(
    env: Env, samples_dir: Path, channel: str
) -> None:
    _field_directory(env)
    env.gw.settings.xml_signature_policy = "reject"
    raw = (samples_dir / "edoc.edxml").read_bytes()
    assert _send(env, channel, H13, raw) == ("refused", "xml_signature_unverifiable")



def test_a_recall_names_a_uuid_document_by_its_header_identity(env: Env) -> None:
    """The original went out with a UUID DocumentId; the recall names it in ResponseFor by sender, số/ký hiệu and
    date (and a DocumentId in the standard form): the gateway finds it from the header fields."""
    _field_directory(env)
    original = _accepted(_send(env, "native", A, _quirk("62", QUIRKS["uuid_document_id"][0])))
    env.deliver()
    recall = edoc_xml(A, [B], "63").replace(b"<edXML:BussinessDocType>0<", b"<edXML:BussinessDocType>1<")
    recall = _insert_before(b"</edXML:MessageHeader>",
                            f"<edXML:ResponseFor><edXML:OrganId>{A}</edXML:OrganId><edXML:Code>62/SDK-VP</edXML:Code>"
                            f"<edXML:PromulgationDate>2026/11/20</edXML:PromulgationDate>"
                            f"<edXML:DocumentId>{_docid('62')}</edXML:DocumentId></edXML:ResponseFor>")(recall, "63")
    recalled = _accepted(_send(env, "vxp", A, recall))
    assert record(env, A, recalled)["response_for"] == original


def test_a_status_answers_a_uuid_document(env: Env) -> None:
    _field_directory(env)
    original = _accepted(_send(env, "native", A, _quirk("64", QUIRKS["uuid_document_id"][0])))
    env.deliver()
    assert env.http.post(f"/api/v1/edocs/{original}/ack", headers=env.as_(B)).status_code == 200
    env.deliver()
    uuid_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "64"))
    answer = status_xml(B, _docid("64"), "03").replace(f"<edXML:DocumentId>{_docid('64')}<".encode(),
                                                         f"<edXML:DocumentId>{uuid_id}<".encode())
    status_id = _accepted(_send(env, "vxp", B, answer))
    assert record(env, B, status_id)["response_for"] == original


def test_a_uuid_document_can_be_recalled_natively(sqlite_env: Env) -> None:
    env = sqlite_env
    _field_directory(env)
    original = _accepted(_send(env, "native", A, _quirk("65", QUIRKS["uuid_document_id"][0])))
    env.deliver()
    resp = env.http.post(f"/api/v1/edocs/{original}/recall", json={"reason": "Thu hồi để sửa"}, headers=env.as_(A))
    assert resp.status_code == 202, resp.text
    env.deliver()
    recall = next(i for i in inbox(env, B) if i["id"] == resp.json()["id"])
    assert recall["business_type"] == 1


@pytest.mark.parametrize("marking", ["Mat", "MAT", "Toi mat", "tuyet MAT"])
def test_secret_markings_without_accents_are_refused_natively(sqlite_env: Env, marking: str) -> None:
    for field in ("security_level", "sphere_of_promulgation"):
        resp = submit(sqlite_env, "A", header(A, [B], **{field: marking}))
        assert resp.status_code == 422 and resp.json()["code"] == "secret_document", resp.text
    assert inbox(sqlite_env, "B") == []


@pytest.mark.parametrize("sphere", ["Bảo mật", "Bao mat", "Mát", "Format"])
def test_words_that_merely_contain_mat_are_not_refused(sqlite_env: Env, sphere: str) -> None:
    resp = submit(sqlite_env, "A", header(A, [B], sphere_of_promulgation=sphere, security_level=sphere))
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_large_field_package_is_relayed_as_received_by_the_streaming_signer(env: Env, channel: str) -> None:
    """Over SIGN_IN_MEMORY_MAX_BYTES the relay signs through temporary files; the package is the same."""
    import base64
    import os

    from service.exchange.submit import SIGN_IN_MEMORY_MAX_BYTES

    _field_directory(env)
    content = os.urandom(SIGN_IN_MEMORY_MAX_BYTES)
    raw = _quirk("90", QUIRKS["uuid_document_id"][0]).replace(
        base64.b64encode("Nội dung văn bản số 90".encode()), base64.b64encode(content))
    assert len(raw) > SIGN_IN_MEMORY_MAX_BYTES
    package_id = _accepted(_send(env, channel, A, raw))
    env.deliver()
    _received(env, B, package_id, {"invalid_document_id"}, raw, keep="V/v thử nghiệm liên thông".encode())
    relayed = parse_package(env.http.get(f"/api/v1/edocs/{package_id}/edxml", headers=env.as_(B)).content)
    assert relayed.edoc is not None and relayed.edoc.attachments[0].data == content


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_a_field_package_sent_again_is_a_replay_and_its_fetched_copy_too(env: Env, quirk: str) -> None:
    """A package relayed as received (issue 16 item 1) is identified as any other document (issue 17 item 1): the
    same bytes under another key, over the other channel, and the copy the sender fetches back are one document."""
    _field_directory(env)
    change, _expected = QUIRKS[quirk]
    raw = _quirk(str(60 + sorted(QUIRKS).index(quirk)), change)
    first = _accepted(_send(env, "native", A, raw))
    again = env.http.post(
        "/api/v1/edocs", content=raw,
        headers={**env.as_(A), "Content-Type": "application/xml", "Idempotency-Key": f"other-{quirk}"},
    )
    assert (again.status_code, again.json()["id"]) == (202, first), again.text
    assert _accepted(_send(env, "vxp", A, raw)) == first
    env.deliver()
    fetched = env.http.get(f"/api/v1/edocs/{first}/edxml", headers=env.as_(A)).content
    assert _accepted(_send(env, "native", A, fetched)) == first
    assert [i["id"] for i in inbox(env, B)].count(first) == 1
