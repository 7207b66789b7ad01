"""Auditor search over the exchange log (issue 21 item 6) on SQLite and PostgreSQL, through the HTTP API:
filters (status code, sender, recipient, free text on subject and số/ký hiệu), sort, keyset cursors, streamed CSV
and JSON Lines exports, and the stable codes of bad parameters."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.support.exchange import header, submit
from tests.support.gateway import A, B, C, Env

HOSTILE = '=HYPERLINK("http://evil.example/","bấm vào đây"), Về việc "khẩn"'


def _exchange(env: Env) -> dict[str, Any]:
    """Three documents: A→B (acked: 01, then 03, 06), A→C (about a hostile subject), C→B (acked, 02)."""
    d1 = submit(env, "A", header(A, [B], number="12", notation="STTTT-VP")).json()
    d2 = submit(env, "A", header(A, [C], number="13", notation="STTTT-KHTC", subject=HOSTILE)).json()
    d3 = submit(env, "C", header(C, [B], number="7816", notation="VPCP-TTĐT",
                                 subject="Về việc chuyển đổi số cấp tỉnh")).json()
    env.deliver()
    for doc in (d1, d3):
        assert env.http.post(f"/api/v1/edocs/{doc['id']}/ack", headers=env.as_("B")).status_code in (200, 204)
    env.deliver()
    for code in ("03", "06"):
        resp = env.http.post(f"/api/v1/edocs/{d1['id']}/status", json={"code": code}, headers=env.as_("B"))
        assert resp.is_success, resp.text
    rejected = {"code": "02", "description": "Sai địa chỉ"}
    assert env.http.post(f"/api/v1/edocs/{d3['id']}/status", json=rejected, headers=env.as_("B")).is_success
    env.deliver()
    return {"d1": d1, "d2": d2, "d3": d3}


def _get(env: Env, **params: Any) -> Any:
    resp = env.http.get("/api/v1/events", params=params, headers=env.as_("auditor"))
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_filters(env: Env) -> None:
    docs = _exchange(env)
    d1, d3 = docs["d1"], docs["d3"]
    done = _get(env, status="06")["items"]
    assert {e["document_id"] for e in done} == {d1["document_id"]}
    assert {e["status_code"] for e in done} == {"06"}
    assert all(e["subject"] in (None, d1.get("subject"), header(A, [B])["subject"]) for e in done)
    refused = _get(env, status="02", kind="status")["items"]
    assert [e["document_id"] for e in refused] == [d3["document_id"]]
    assert refused[0]["detail"]["status_code"] == "02"
    # Sender / recipient: documents A sent; documents addressed to C
    assert {e["document_id"] for e in _get(env, sender=A)["items"]} == {d1["document_id"], docs["d2"]["document_id"]}
    assert {e["document_id"] for e in _get(env, recipient=C)["items"]} == {docs["d2"]["document_id"]}
    # Free text: the subject (Vietnamese, case-insensitive on PostgreSQL), and số/ký hiệu
    by_subject = _get(env, q="chuyển đổi số", kind="submitted")["items"]
    assert [e["document_id"] for e in by_subject] == [d3["document_id"]]
    assert by_subject[0]["subject"] == "Về việc chuyển đổi số cấp tỉnh"
    by_code = _get(env, q="7816/VPCP", kind="submitted")["items"]
    assert [e["document_id"] for e in by_code] == [d3["document_id"]]
    assert _get(env, q="100%_không-có")["items"] == []  # LIKE wildcards are matched literally
    # A document's whole history, including its status packages' events
    history = _get(env, document_id=d1["document_id"])["items"]
    assert [e["kind"] for e in history][:2] == ["submitted", "delivered"]
    assert "status" in {e["kind"] for e in history}


def test_sort_and_cursor_pages_are_stable(env: Env) -> None:
    _exchange(env)
    everything = _get(env, limit=1000)["items"]
    assert len(everything) >= 12
    ids_asc = [e["id"] for e in everything]
    for sort, expected in (("at", ids_asc), ("-at", ids_asc[::-1])):
        seen: list[int] = []
        params: dict[str, Any] = {"sort": sort, "limit": 5}
        while True:
            page = _get(env, **params)
            seen += [e["id"] for e in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == expected
    times = [e["at"] for e in _get(env, sort="-at", limit=1000)["items"]]
    assert times == sorted(times, reverse=True)


def test_csv_export_is_excel_safe(env: Env) -> None:
    _exchange(env)
    resp = env.http.get("/api/v1/events", params={"format": "csv", "sender": A}, headers=env.as_("auditor"))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    body = resp.content
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Vietnamese
    assert b"\r\n" in body
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["id", "at", "kind", "status_code", "package_id", "document_id", "agency", "actor", "subject",
                       "detail"]
    subjects = {r[8] for r in rows[1:]}
    assert "'" + HOSTILE in subjects  # the formula is text, the comma and quotes survive RFC 4180 quoting
    assert all(not cell.startswith(("=", "+", "@")) for r in rows[1:] for cell in r)
    api_count = len(_get(env, sender=A, limit=1000)["items"])
    assert len(rows) - 1 == api_count


def test_jsonl_export_by_accept_header(env: Env) -> None:
    _exchange(env)
    resp = env.http.get("/api/v1/events", params={"status": "01"},
                        headers={**env.as_("auditor"), "Accept": "application/jsonl"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in resp.text.splitlines()]
    assert lines and {e["status_code"] for e in lines} == {"01"}
    assert [e["id"] for e in lines] == [e["id"] for e in _get(env, status="01")["items"]]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"status": "99"}, "invalid_status_code"),
        ({"sender": "28.22.H17"}, "invalid_agency_code"),
        ({"sort": "subject"}, "invalid_sort"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"format": "xml"}, "invalid_format"),
        ({"q": "x" * 201}, "invalid_text"),
        ({"kind": "DROP TABLE"}, "invalid_kind"),
        ({"since": "2026-12-02T00:00:00+07:00", "until": "2026-12-01T00:00:00+07:00"}, "invalid_period"),
        ({"since": "2026-12-01T00:00:00"}, "naive_datetime"),
    ],
)
def test_bad_parameters_are_problems(sqlite_env: Env, params: dict[str, str], code: str) -> None:
    resp = sqlite_env.http.get("/api/v1/events", params=params, headers=sqlite_env.as_("auditor"))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == code


def test_cursor_of_another_sort_is_refused(sqlite_env: Env) -> None:
    _exchange(sqlite_env)
    cursor = _get(sqlite_env, sort="at", limit=2)["next_cursor"]
    resp = sqlite_env.http.get("/api/v1/events", params={"sort": "-at", "cursor": cursor},
                               headers=sqlite_env.as_("auditor"))
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_cursor"


def test_a_party_exports_only_its_agency(sqlite_env: Env) -> None:
    _exchange(sqlite_env)
    own = sqlite_env.http.get("/api/v1/events", params={"format": "jsonl"}, headers=sqlite_env.as_("C"))
    assert own.status_code == 200
    assert {json.loads(line)["agency"] for line in own.text.splitlines()} == {C}
    other = sqlite_env.http.get("/api/v1/events", params={"format": "csv", "agency": A}, headers=sqlite_env.as_("C"))
    assert other.status_code == 403 and other.json()["code"] == "wrong_role"
