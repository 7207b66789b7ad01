"""Every cell of the role matrix of docs/roles.md (issue 17, item 6), through the HTTP API.

Rows are operations, columns who calls: the sender's DMS and clerk, a recipient's DMS and clerk, a DMS of an
agency with nothing to do with the document (``stranger``), an auditor, an admin. Each cell runs on a document
of its own (A → B, one PDF, delivered), so no cell depends on another. The table here is written out by hand
from docs/roles.md, not read from service/access.py, so that the code is checked against the document.

Reproduced before the fix: auditors and admins were served a package's bytes and attachments without any
reason, and an admin could submit, send statuses and recall.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service.exchange.directory import create_client
from storage.models import ExchangeEvent
from tests.support.exchange import header, status, submit
from tests.support.gateway import A, B, C, D, Env, gateway_env
from tests.support.pdfs import simple_pdf

ACTORS = ("sender", "sender_clerk", "recipient", "recipient_clerk", "stranger", "auditor", "admin")
KEYS = {"sender": "A", "sender_clerk": "clerk", "recipient": "B", "recipient_clerk": "clerk-b",
        "stranger": "stranger", "auditor": "auditor", "admin": "admin"}
OWN = {"sender": A, "sender_clerk": A, "recipient": B, "recipient_clerk": B, "stranger": D}
REASON = "Thanh tra theo Quyết định số 12/QĐ-TTr"
ROLE_OK = "role ok"  # the role passed the gate: any answer but 401/403 (the body is empty on purpose)
_numbers = itertools.count(100)


@pytest.fixture(scope="module")
def matrix_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp: Path = tmp_path_factory.mktemp("matrix")
    for env in gateway_env(f"sqlite:///{tmp / 'edoc.sqlite3'}", tmp):
        with env.gw.writes() as session, session.begin():
            env.keys["clerk-b"] = create_client(session, name="test-clerk-b", role="clerk", agencies=[B])[1]
            env.keys["stranger"] = create_client(session, name="test-stranger", role="dms", agencies=[D])[1]
        yield env


def _document(env: Env) -> str:
    resp = submit(env, "A", header(A, [B], number=str(next(_numbers))), files=[("cv.pdf", simple_pdf(1))])
    assert resp.status_code == 202, resp.text
    env.deliver()
    return str(resp.json()["id"])


Op = Callable[[Env, str, str], Any]


def _get(path: str) -> Op:
    return lambda env, who, doc: env.http.get(path.format(doc=doc), headers=env.as_(KEYS[who]))


def _submit(env: Env, who: str, _doc: str) -> Any:
    return submit(env, KEYS[who], header(OWN.get(who, A), [C], number=str(next(_numbers))))


def _ack(env: Env, who: str, doc: str) -> Any:
    return env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_(KEYS[who]))


def _status(code: str) -> Op:
    return lambda env, who, doc: status(env, KEYS[who], doc, code)


def _recall(env: Env, who: str, doc: str) -> Any:
    return env.http.post(f"/api/v1/edocs/{doc}/recall", json={}, headers=env.as_(KEYS[who]))


def _post_agency(env: Env, who: str, _doc: str) -> Any:
    body = json.dumps({"code": "000.00.14.H53", "name": "Sở Y tế tỉnh Tây Ninh", "parent": "000.00.00.H53"})
    headers = {**env.as_(KEYS[who]), "Content-Type": "application/json"}
    return env.http.post("/api/v1/agencies", content=body, headers=headers)


def _put_routes(env: Env, who: str, _doc: str) -> Any:
    return env.http.put("/api/v1/routes", json={"rules": []}, headers=env.as_(KEYS[who]))


def _post_empty(path: str) -> Op:
    return lambda env, who, _doc: env.http.post(path, headers=env.as_(KEYS[who]))


#           sender sender_clerk recipient recipient_clerk stranger auditor admin
OPERATIONS: dict[str, tuple[Op, tuple[Any, ...]]] = {
    "submit": (_submit, (202, 202, 202, 202, 202, 403, 403)),
    "inbox": (_get("/api/v1/inbox"), (200, 200, 200, 200, 200, 403, 403)),
    "record": (_get("/api/v1/edocs/{doc}"), (200, 200, 200, 200, 404, 200, 403)),
    "edxml": (_get("/api/v1/edocs/{doc}/edxml"), (200, 200, 200, 200, 404, 403, 403)),
    "edxml with reason": (_get("/api/v1/edocs/{doc}/edxml?reason=" + REASON), (200, 200, 200, 200, 404, 200, 403)),
    "attachment": (_get("/api/v1/edocs/{doc}/attachments/0"), (200, 200, 200, 200, 404, 403, 403)),
    "attachment with reason": (
        _get("/api/v1/edocs/{doc}/attachments/0?reason=" + REASON), (200, 200, 200, 200, 404, 200, 403)
    ),
    "verification report": (
        _get("/api/v1/edocs/{doc}/attachments/0/verification"), (200, 200, 200, 200, 404, 200, 403)
    ),
    "ack": (_ack, (404, 404, 200, 200, 404, 403, 403)),
    "status 03": (_status("03"), (404, 404, 202, 202, 404, 403, 403)),
    "status 13": (_status("13"), (202, 202, 403, 403, 404, 403, 403)),
    "recall": (_recall, (202, 202, 403, 403, 404, 403, 403)),
    "events of B": (_get(f"/api/v1/events?agency={B}"), (403, 403, 200, 200, 403, 200, 200)),
    "agencies": (_get("/api/v1/agencies"), (200, 200, 200, 200, 200, 200, 200)),
    "add agency": (_post_agency, (403, 403, 403, 403, 403, 403, 201)),
    "clients": (_get("/api/v1/clients"), (403, 403, 403, 403, 403, 403, 200)),
    "routes": (_get("/api/v1/routes"), (403, 403, 403, 403, 403, 200, 200)),
    "set routes": (_put_routes, (403, 403, 403, 403, 403, 403, 200)),
    "verify a PDF": (_post_empty("/api/v1/verify"), (ROLE_OK,) * 7),
    "sign a PDF": (_post_empty("/api/v1/sign"), (403, ROLE_OK, 403, ROLE_OK, 403, 403, ROLE_OK)),
}
CELLS = [(op, actor) for op in OPERATIONS for actor in ACTORS]


@pytest.mark.parametrize(("operation", "actor"), CELLS, ids=[f"{op}-{actor}" for op, actor in CELLS])
def test_cell(matrix_env: Env, operation: str, actor: str) -> None:
    call, expected_row = OPERATIONS[operation]
    expected = expected_row[ACTORS.index(actor)]
    resp = call(matrix_env, actor, _document(matrix_env))
    if expected == ROLE_OK:
        assert resp.status_code not in (401, 403), resp.text
    else:
        assert resp.status_code == expected, resp.text
    if resp.status_code == 403:
        assert resp.json()["code"] in ("wrong_role", "reason_required", "not_document_sender", "not_your_agency")


def test_an_auditors_reading_is_in_the_exchange_log(matrix_env: Env) -> None:
    env, doc = matrix_env, _document(matrix_env)
    assert env.http.get(f"/api/v1/edocs/{doc}/edxml?reason={REASON}", headers=env.as_("auditor")).status_code == 200
    short = env.http.get(f"/api/v1/edocs/{doc}/edxml?reason=xem", headers=env.as_("auditor"))
    assert short.status_code == 403 and short.json()["code"] == "reason_required"
    with env.gw.sessions() as session:
        rows = session.execute(
            sa.select(ExchangeEvent).where(ExchangeEvent.kind == "content_read", ExchangeEvent.package_id == doc)
        ).scalars().all()
    assert [(r.actor, r.detail["reason"], r.detail["what"]) for r in rows] == [("test-auditor", REASON, "edxml")]


def test_a_recipient_sees_its_own_delivery_unless_the_sender_shares(matrix_env: Env) -> None:
    env = matrix_env
    for share in (False, True):
        hdr = header(A, [B, C], number=str(next(_numbers)), **({"share_statuses": True} if share else {}))
        doc = submit(env, "A", hdr).json()["id"]
        env.deliver()
        assert status(env, "C", doc, "02", description="Gửi nhầm đơn vị, đề nghị thu hồi").status_code == 202
        env.deliver()
        seen_by_b = env.http.get(f"/api/v1/edocs/{doc}", headers=env.as_("B")).json()
        b_deliveries = {d["to"] for d in seen_by_b["deliveries"]}
        b_comments = [h["description"] for h in seen_by_b["history"] if h["agency"] == C]
        if share:
            assert b_deliveries == {B, C} and "Gửi nhầm đơn vị, đề nghị thu hồi" in b_comments
        else:
            assert b_deliveries == {B} and b_comments == []
        for who in ("A", "auditor"):
            full = env.http.get(f"/api/v1/edocs/{doc}", headers=env.as_(who)).json()
            assert {d["to"] for d in full["deliveries"]} == {B, C}
            assert "Gửi nhầm đơn vị, đề nghị thu hồi" in [h["description"] for h in full["history"]]
