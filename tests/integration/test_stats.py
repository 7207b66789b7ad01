"""Statistics per agency and period (issue 21 item 7) on SQLite and PostgreSQL, against hand-computed figures.

The rows are written with chosen times (Vietnam time, UTC+7) so that the calendar edges are exercised: a document
of 1 November 06:30 +07:00 (still 31 October in UTC) counts in November; a 01 at 00:10 the next Vietnamese day
(the same UTC day) makes a delivery overdue (NĐ 30/2020 Điều 21: receipt notified the same day); a delivery of
"today" without a 01 is not overdue yet.

| package | from → to | created / delivered (+07:00) | statuses (+07:00) |
|---|---|---|---|
| P_out | A → B | 2026-10-31 23:00 | — (outside the period) |
| P0 | A → B | 2026-11-01 06:30, delivered 06:30, acked | 01 at 06:31 (60 s) |
| P1 | A → B | 2026-11-03 09:00, acked | 01 09:05 (300 s), 03, 06 on 11-04 09:00 (86,400 s) |
| P2 | A → B, C | 2026-11-03 23:30; B acked | B: 01 on 11-04 00:10 (2,400 s, overdue); C: none (overdue) |
| P3 | A → C | 2026-12-01 10:00, acked | 01 10:01 (60 s), 02 10:30 |
| R1 | A (recall) | 2026-12-02 08:00 | — |
| P4 | B → A | 2026-12-10 08:00 ("today") | none (not overdue yet) |

"now" is 2026-12-10 12:00 +07:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from storage.models import DELIVERIES, PACKAGES, StatusEntry, new_id
from storage.stats import StatsQuery, exchange_stats
from tests.support.gateway import A, B, C, Env

VN = timezone(timedelta(hours=7))
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=VN)


def t(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00+07:00").astimezone(UTC)


def _package(session: Any, frm: str, created: datetime, *, business_type: int = 0) -> str:
    pid = new_id()
    session.execute(sa.insert(PACKAGES), {
        "id": pid, "kind": "edoc", "document_id": f"{frm},{pid}", "from_code": frm, "business_type": business_type,
        "subject": "Về việc thống kê", "blob_sha256": "0" * 64, "size": 1, "request_sha256": "0" * 64,
        "idempotency_key": pid,
        "created_at": created, "summary": {}, "signature": {}, "oddities": [],
    })
    return pid


def _delivery(session: Any, pid: str, to: str, delivered: datetime, *, acked: bool,
              statuses: tuple[tuple[str, datetime], ...] = ()) -> None:
    session.execute(sa.insert(DELIVERIES), {
        "id": new_id(), "package_id": pid, "to_code": to, "state": "acked" if acked else "delivered",
        "delivered_at": delivered, "acked_at": delivered + timedelta(seconds=5) if acked else None,
        "created_at": delivered,
    })
    for code, at in statuses:
        session.add(StatusEntry(package_id=pid, agency_code=to, code=code, created_at=at))


def _seed(env: Env) -> None:
    with env.gw.writes() as session, session.begin():
        out = _package(session, A, t("2026-10-31", "23:00"))
        _delivery(session, out, B, t("2026-10-31", "23:00"), acked=False)
        p0 = _package(session, A, t("2026-11-01", "06:30"))
        _delivery(session, p0, B, t("2026-11-01", "06:30"), acked=True, statuses=(("01", t("2026-11-01", "06:31")),))
        p1 = _package(session, A, t("2026-11-03", "09:00"))
        _delivery(session, p1, B, t("2026-11-03", "09:00"), acked=True, statuses=(
            ("01", t("2026-11-03", "09:05")), ("03", t("2026-11-03", "10:00")), ("06", t("2026-11-04", "09:00"))))
        p2 = _package(session, A, t("2026-11-03", "23:30"))
        _delivery(session, p2, B, t("2026-11-03", "23:30"), acked=True, statuses=(("01", t("2026-11-04", "00:10")),))
        _delivery(session, p2, C, t("2026-11-03", "23:30"), acked=False)
        p3 = _package(session, A, t("2026-12-01", "10:00"))
        _delivery(session, p3, C, t("2026-12-01", "10:00"), acked=True, statuses=(
            ("01", t("2026-12-01", "10:01")), ("02", t("2026-12-01", "10:30"))))
        _package(session, A, t("2026-12-02", "08:00"), business_type=1)
        p4 = _package(session, B, t("2026-12-10", "08:00"))
        _delivery(session, p4, A, t("2026-12-10", "08:00"), acked=False)


def _table(env: Env, **kw: Any) -> dict[tuple[str, str], dict[str, Any]]:
    query = StatsQuery(first=kw.pop("first", datetime(2026, 11, 1).date()),
                       last=kw.pop("last", datetime(2026, 12, 31).date()), now=NOW, **kw)
    with env.gw.sessions() as session:
        rows = exchange_stats(session, query)
    return {(r.agency, r.period): {
        "sent": r.sent, "received": r.received, "acked": r.acked, "processed": r.processed, "rejected": r.rejected,
        "recalled": r.recalled, "overdue": r.overdue, "to_01": r.median_to_01, "to_06": r.median_to_06,
    } for r in rows}


def _expect(**kw: Any) -> dict[str, Any]:
    base = {"sent": 0, "received": 0, "acked": 0, "processed": 0, "rejected": 0, "recalled": 0, "overdue": 0,
            "to_01": None, "to_06": None}
    return base | kw


def test_by_month(env: Env) -> None:
    _seed(env)
    assert _table(env, group="month") == {
        (A, "2026-11"): _expect(sent=3),
        (A, "2026-12"): _expect(sent=1, recalled=1, received=1),
        (B, "2026-11"): _expect(received=3, acked=3, processed=1, overdue=1, to_01=300.0, to_06=86400.0),
        (B, "2026-12"): _expect(sent=1),
        (C, "2026-11"): _expect(received=1, overdue=1),
        (C, "2026-12"): _expect(received=1, acked=1, rejected=1, to_01=60.0),
    }


def test_by_quarter_day_and_agency(env: Env) -> None:
    _seed(env)
    quarter = _table(env, group="quarter")
    assert quarter[(A, "2026-Q4")] == _expect(sent=4, recalled=1, received=1)
    # medians of 60, 300 and 2,400 s
    assert quarter[(B, "2026-Q4")] == _expect(sent=1, received=3, acked=3, processed=1, overdue=1, to_01=300.0,
                                              to_06=86400.0)
    by_day = _table(env, group="day", agency=B)
    assert set(by_day) == {(B, "2026-11-01"), (B, "2026-11-03"), (B, "2026-12-10")}
    assert by_day[(B, "2026-11-03")] == _expect(received=2, acked=2, processed=1, overdue=1, to_01=1350.0,
                                                to_06=86400.0)
    only_c = _table(env, group="month", agency=C, first=datetime(2026, 12, 1).date())
    assert only_c == {(C, "2026-12"): _expect(received=1, acked=1, rejected=1, to_01=60.0)}


def test_stats_api_json_csv_and_scope(env: Env) -> None:
    _seed(env)
    params = {"from": "2026-11-01", "to": "2026-12-31", "group": "month"}
    resp = env.http.get("/api/v1/stats", params=params, headers=env.as_("auditor"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["group"] == "month" and body["time_zone"] == "+07:00"
    row = next(r for r in body["items"] if r["agency"] == B and r["period"] == "2026-11")
    assert row["received"] == 3 and row["median_to_06_s"] == 86400.0
    csv = env.http.get("/api/v1/stats", params={**params, "format": "csv"}, headers=env.as_("auditor"))
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("agency,period,sent,received") and len(lines) == 1 + len(body["items"])
    own = env.http.get("/api/v1/stats", params=params, headers=env.as_("B")).json()["items"]
    assert {r["agency"] for r in own} == {B}
    bad = env.http.get("/api/v1/stats", params={**params, "group": "week"}, headers=env.as_("auditor"))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_group"
    empty = env.http.get("/api/v1/stats", params={"from": "2026-12-02", "to": "2026-12-01"},
                         headers=env.as_("auditor"))
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_period"
