"""sendEdoc headers as the national-axis SDK and its integrators really send them (issue 16, item 3), and a
recalled document leaving getReceivedEdocList (item 4); on SQLite and PostgreSQL.

The SDK writes each header value as its JSON serialiser writes a string (STANDARDS.md §8): ``to`` given as ``""``
arrives as the two characters ``""``, a list given as a string arrives as a JSON string holding a JSON array, and
integrators also leave ``to`` out; ``from`` often carries the caller's system id instead of an agency code.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from storage.models import Delivery
from tests.integration.test_vxp_sdk_flow import vxp_system
from tests.support.gateway import A, B, C, D, Env
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml, sdk_hash_file, status_xml


def send(client: SdkClient, body: bytes, **params: str | None) -> dict:
    """sendEdoc with exactly these parameters (a None value: the header is left out)."""
    values = {"from": A, "servicetype": "eDoc", "messagetype": "edoc", "hash-file": sdk_hash_file(body), **params}
    wanted = {k: v for k, v in values.items() if v is not None}
    return client.send_raw("sendEdoc", client.headers(wanted, "application/octet-stream"), body)


def recipients(env: Env, doc_id: str) -> list[str]:
    with env.gw.sessions() as session:
        rows = session.execute(sa.select(Delivery.to_code).where(Delivery.package_id == doc_id)).scalars()
        return sorted(rows)


def refused(answer: dict, code: str) -> None:
    assert (answer["status"], answer["ErrorCode"]) == ("FAIL", code), answer


def test_to_in_every_shape_the_sdk_sends(env: Env) -> None:
    sdk = vxp_system(env, "shapes", [A])
    to_b = json.dumps([B], separators=(",", ":"))
    shapes: list[tuple[str | None, list[str]]] = [
        (None, [B, C]),  # left out: the package's To list
        ("", [B, C]),
        ('""', [B, C]),  # "" as the SDK's serialiser writes it
        ("[]", [B, C]),
        (to_b, [B]),  # a JSON array
        (json.dumps(to_b), [B]),  # a JSON string holding a JSON array
        (json.dumps(B), [B]),  # a JSON string holding one code
        (B, [B]),  # one bare code
    ]
    for number, (to, expected) in enumerate(shapes, start=100):
        answer = SdkClient.ok(send(sdk, edoc_xml(A, [B, C], str(number)), to=to))
        assert recipients(env, answer["DocId"]) == sorted(expected), to


def test_from_may_be_the_callers_system_id(env: Env) -> None:
    sdk = vxp_system(env, "sysfrom", [A])
    answer = SdkClient.ok(send(sdk, edoc_xml(A, [B], "201"), **{"from": sdk.systemid}))
    assert recipients(env, answer["DocId"]) == [B]
    env.deliver()
    # A status sent the same way: from = system id, to = "" (the original's sender is the recipient).
    other = vxp_system(env, "sysfrom-b", [B])
    document_id = f"{A},2026/11/20,201/SDK-VP"
    status = send(other, status_xml(B, document_id, "01"), **{"from": other.systemid, "to": '""',
                                                              "messagetype": "status"})
    assert recipients(env, SdkClient.ok(status)["DocId"]) == [A]


def test_what_is_still_refused(env: Env) -> None:
    sdk, other = vxp_system(env, "strict", [A]), vxp_system(env, "strict-b", [B])
    # from = the caller's system id, but the package's From is an agency the system does not act for.
    refused(send(sdk, edoc_xml(B, [A], "301"), **{"from": sdk.systemid}), "VXP-403-NOT-YOUR-AGENCY")
    # from = another system's id, or neither a code nor the caller's id.
    refused(send(sdk, edoc_xml(A, [B], "302"), **{"from": other.systemid}), "VXP-400-BAD-FROM")
    refused(send(sdk, edoc_xml(A, [B], "303"), **{"from": "not a code"}), "VXP-400-BAD-FROM")
    # from = an agency code that is not the package's From, or one the caller does not own.
    refused(send(sdk, edoc_xml(A, [B], "304"), **{"from": C}), "VXP-403-NOT-YOUR-AGENCY")
    refused(send(other, edoc_xml(A, [B], "305"), **{"from": B}), "VXP-400-FROM-MISMATCH")
    # to naming an agency outside the package's To, in every shape.
    for number, to in enumerate([json.dumps([D]), json.dumps(json.dumps([B, D])), json.dumps(D), D], start=310):
        refused(send(sdk, edoc_xml(A, [B], str(number)), to=to), "VXP-400-TO-MISMATCH")
    # to that is not a list of codes, nested, or too large to be one.
    too_many = json.dumps([B] * 600)  # over the 500 codes a `to` may name, under the head limit
    nested = "[" * 5_000 + "]" * 5_000
    for number, to in enumerate(['"', "[1]", "{}", '[["x"]]', json.dumps(json.dumps(json.dumps([B]))), too_many,
                                 nested, "[\"000.00.00.G2\"]"], start=320):
        refused(send(sdk, edoc_xml(A, [B], str(number)), to=to), "VXP-400-BAD-TO")
    # Past the head limit (service/edge/server.py) the edge answers before VXP parses anything.
    huge = "[" * 50_000 + "]" * 50_000
    refused(send(sdk, edoc_xml(A, [B], "330"), to=huge), "VXP-431-HEADERS-TOO-LARGE")
    with env.gw.sessions() as session:
        assert session.execute(sa.text("select count(*) from package")).scalar_one() == 0


def test_a_recalled_document_leaves_the_received_list(env: Env) -> None:
    sdk_a, sdk_b = vxp_system(env, "rc-a", [A]), vxp_system(env, "rc-b", [B])
    doc = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B], "401"), A, [B]))["DocId"]
    kept = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B], "402"), A, [B]))["DocId"]
    env.deliver()
    assert [r["docId"] for r in sdk_b.received("edoc")] == [doc, kept]
    recall = env.http.post(f"/api/v1/edocs/{doc}/recall", json={"reason": "Ban hành nhầm"}, headers=env.as_("A"))
    assert recall.status_code == 202, recall.text
    env.deliver()
    listed = [r["docId"] for r in sdk_b.received("edoc")]
    assert listed == [doc, kept, recall.json()["id"]]  # the request to take it back is listed too
    document_id = f"{A},2026/11/20,401/SDK-VP"
    SdkClient.ok(sdk_b.send_edoc(status_xml(B, document_id, "15"), B, [A], messagetype="status"))
    env.deliver()
    assert [r["docId"] for r in sdk_b.received("edoc")] == [kept, recall.json()["id"]]
    assert sdk_b.count("edoc") == 2
    gone = sdk_b.call("getEdoc", {"docId": doc})
    assert (gone["ErrorCode"], gone["_http"]) == ("VXP-410-DOCUMENT-RECALLED", 410)
    # The native inbox of the same agency agrees.
    assert doc not in [i["id"] for i in env.http.get("/api/v1/inbox", headers=env.as_("B")).json()["items"]]
