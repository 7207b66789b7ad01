"""One document per (sender, DocumentId), whatever the idempotency key and whatever the channel (issue 17, item 1).

Reproduces the two attacks of the issue: (a) a submit with ``Idempotency-Key: k-500``, then the same header and
file without a key; (b) the sender fetches its own delivered package (``GET …/edxml``, the node's TraceHeader and
signature added) and submits it as ``application/xml``. Both used to answer 202 with a new id and put the
DocumentId twice in the recipient's inbox. Now a resend is a replay (the first answer) and a different package
under the same DocumentId is a 409 ``document_id_conflict``; updates, replacements and recalls keep working.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from schemas.edxml import Business, BusinessDocType, ReplacementInfo, ResponseFor, build_edoc, parse_package
from service.exchange.directory import Caller
from service.exchange.errors import Conflict
from service.exchange.submit import submit_package
from storage.models import Package
from tests.integration.test_vxp_sdk_flow import vxp_system
from tests.support.exchange import header, inbox, submit
from tests.support.gateway import A, B, Env, gateway_env
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml

XML = {"Content-Type": "application/xml"}


def _document_ids(env: Env, who: str) -> list[str]:
    return [i["document_id"] for i in inbox(env, who) if i["kind"] == "edoc"]


def _post_xml(env: Env, who: str, raw: bytes, key: str | None = None) -> Any:
    headers = {**env.as_(who), **XML, **({"Idempotency-Key": key} if key else {})}
    return env.http.post("/api/v1/edocs", content=raw, headers=headers)


def test_a_resend_without_the_key_is_a_replay(env: Env) -> None:
    first = submit(env, "A", header(A, [B]), key="k-500")
    assert first.status_code == 202, first.text
    again = submit(env, "A", header(A, [B]))
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other_key = submit(env, "A", header(A, [B]), key="k-501")
    assert other_key.json()["id"] == first.json()["id"]
    env.deliver()
    assert _document_ids(env, "B") == [first.json()["document_id"]]


def test_the_senders_own_delivered_package_resubmitted_is_a_replay(env: Env) -> None:
    first = submit(env, "A", header(A, [B]))
    assert first.status_code == 202, first.text
    doc = first.json()["id"]
    env.deliver()
    delivered = env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_("A"))
    assert delivered.status_code == 200
    again = _post_xml(env, "A", delivered.content)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == doc
    env.deliver()
    assert _document_ids(env, "B") == [first.json()["document_id"]]


def test_a_different_package_under_the_same_document_id_is_a_conflict(env: Env) -> None:
    first = submit(env, "A", header(A, [B]))
    assert first.status_code == 202, first.text
    changed = submit(env, "A", header(A, [B], subject="Một trích yếu khác"))
    assert changed.status_code == 409, changed.text
    problem = changed.json()
    assert problem["code"] == "document_id_conflict" and problem["existing_id"] == first.json()["id"]
    other_file = submit(env, "A", header(A, [B]), files=[("khac.pdf", b"%PDF-1.4 another file")], key="k-9")
    assert other_file.status_code == 409 and other_file.json()["code"] == "document_id_conflict"
    env.deliver()
    assert _document_ids(env, "B") == [first.json()["document_id"]]


def test_vxp_resends_with_other_bytes_replay_and_other_content_conflicts(env: Env) -> None:
    sdk_a = vxp_system(env, "sdk-a", [A])
    package = edoc_xml(A, [B], "41")
    doc = SdkClient.ok(sdk_a.send_edoc(package, A, [B]))["DocId"]
    reformatted = package.replace(b"><edXML:edXMLEnvelope>", b">\n  <edXML:edXMLEnvelope>")
    assert SdkClient.ok(sdk_a.send_edoc(reformatted, A, [B]))["DocId"] == doc
    native = _post_xml(env, "A", reformatted, key="native-key")  # the same document through the native API
    assert native.status_code == 202 and native.json()["id"] == doc
    changed = package.replace("số 41".encode(), "số 41 (sửa)".encode())
    refused = sdk_a.send_edoc(changed, A, [B])
    assert (refused["status"], refused["ErrorCode"], refused["_http"]) == (
        "FAIL", "VXP-409-DOCUMENT-ID-CONFLICT", 409
    ), refused
    env.deliver()
    assert _document_ids(env, "B") == [f"{A},2026/11/20,41/SDK-VP"]


def _variant(raw: bytes, business: Business, **header: Any) -> bytes:
    pkg = parse_package(raw).edoc
    assert pkg is not None
    return build_edoc(dataclasses.replace(pkg, header=dataclasses.replace(pkg.header, **header), business=business))


def test_updates_replacements_and_recalls_still_go_through(env: Env) -> None:
    original = edoc_xml(A, [B], "42")
    first = _post_xml(env, "A", original)
    assert first.status_code == 202, first.text
    document_id = first.json()["document_id"]
    env.deliver()
    update = _variant(original, Business(doc_type=BusinessDocType.UPDATE, document_id=document_id, paper=0),
                      subject="Đính chính số 42")
    assert (resp := _post_xml(env, "A", update)).status_code == 202, resp.text
    assert resp.json()["id"] != first.json()["id"]
    assert _post_xml(env, "A", update).json()["id"] == resp.json()["id"]  # a resent update is its replay
    reformatted = update.replace(b"<edXML:edXMLEnvelope>", b"<edXML:edXMLEnvelope>\n\n", 1)
    assert _post_xml(env, "A", reformatted).json()["id"] == resp.json()["id"]  # in other bytes too
    second = _variant(original, Business(doc_type=BusinessDocType.UPDATE, document_id=document_id, paper=0),
                      subject="Đính chính lần hai số 42")
    assert (again := _post_xml(env, "A", second)).status_code == 202, again.text  # a second update is new
    assert again.json()["id"] not in (first.json()["id"], resp.json()["id"])
    env.deliver()
    replacement_id = f"{A},2026/11/21,43/SDK-VP"
    replacement = _variant(
        original,
        Business(doc_type=BusinessDocType.REPLACE, paper=0, replacements=(ReplacementInfo(document_id=document_id),)),
        document_id=replacement_id,
        response_for=(ResponseFor(organ_id=A, document_id=document_id),),
    )
    assert (resp := _post_xml(env, "A", replacement)).status_code == 202, resp.text
    env.deliver()
    other = _post_xml(env, "A", edoc_xml(A, [B], "44"))
    assert other.status_code == 202, other.text
    env.deliver()
    recall = env.http.post(f"/api/v1/edocs/{other.json()['id']}/recall", json={}, headers=env.as_("A"))
    assert recall.status_code == 202, recall.text
    env.deliver()
    assert sorted(_document_ids(env, "B")) == sorted(
        [document_id] * 3 + [replacement_id] + [other.json()["document_id"]] * 2
    )  # the original and its two updates, the replacement, the other document and its recall


def test_a_header_without_a_date_names_the_same_document_the_next_day(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.exchange import compose
    from service.exchange.clock import vn_wall_clock

    undated = header(A, [B])
    del undated["date"]
    yesterday = vn_wall_clock() - dt.timedelta(days=1)
    monkeypatch.setattr(compose, "vn_wall_clock", lambda: yesterday)
    first = submit(env, "A", undated, key="k-700")
    assert first.status_code == 202, first.text
    monkeypatch.undo()
    again = submit(env, "A", undated)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]


@pytest.fixture
def pg_env(tmp_path: Path) -> Any:
    from tests.support.databases import postgres_admin_url, postgres_available, temporary_postgres_database
    from tests.support.env import require

    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()}")
    with temporary_postgres_database() as url:
        yield from gateway_env(url, tmp_path)


def test_concurrent_submits_of_one_document_id_make_one_document(pg_env: Env) -> None:
    """On PostgreSQL, 8 threads submit the same DocumentId under 8 different keys, half of them with another
    subject: exactly one package is stored, every same-content answer is it, every other one a conflict."""
    env = pg_env
    same, other = edoc_xml(A, [B], "77"), edoc_xml(A, [B], "77").replace(b"(s\xe1\xbb\x91 77)", b"(kh\xc3\xa1c)")
    assert same != other
    with env.gw.sessions() as session:
        from service.exchange.directory import authenticate

        caller: Caller = authenticate(session, env.keys["A"], env.gw.callers)
    barrier, results = threading.Barrier(8), []

    def run(n: int) -> None:
        barrier.wait()
        try:
            raw = same if n % 2 == 0 else other
            results.append((n % 2, submit_package(env.gw, caller=caller, raw=raw, idempotency_key=f"race-{n}").id))
        except Conflict as exc:
            results.append((n % 2, exc.code))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with env.gw.sessions() as session:
        stored = session.execute(
            sa.select(Package.id).where(Package.document_id == f"{A},2026/11/20,77/SDK-VP")
        ).scalars().all()
    assert len(stored) == 1, results
    winner_parity = next(p for p, outcome in results if outcome == stored[0])
    for parity, outcome in results:
        assert outcome == (stored[0] if parity == winner_parity else "document_id_conflict"), results
