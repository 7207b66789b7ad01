"""Directory, client systems, exchange-log queries and readiness through the native API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.exchange import header, submit
from tests.support.gateway import A, B, Env


def test_agencies_import_json_and_csv(env: Env) -> None:
    admin = env.as_("admin")
    resp = env.http.post(
        "/api/v1/agencies",
        json=[{"code": "000.00.13.H53", "name": "Sở Tài chính", "parent": "000.00.00.H53"}],
        headers=admin,
    )
    assert resp.status_code == 201 and resp.json()["added"] == ["000.00.13.H53"]
    csv = (
        "code,name,parent\n"
        "000.00.13.H53,Sở Tài chính tỉnh Tây Ninh,000.00.00.H53\n"
        "000.00.14.H53,Sở Y tế,000.00.00.H53\n"
    )
    resp = env.http.post("/api/v1/agencies", content=csv.encode(), headers={**admin, "Content-Type": "text/csv"})
    assert resp.status_code == 201
    assert resp.json() == {"added": ["000.00.14.H53"], "changed": ["000.00.13.H53"], "unchanged": []}
    listed = env.http.get("/api/v1/agencies", params={"suffix": "H53"}, headers=env.as_("A")).json()["items"]
    by_code = {a["code"]: a for a in listed}
    assert by_code["000.00.13.H53"]["name"] == "Sở Tài chính tỉnh Tây Ninh"
    assert by_code["000.00.14.H53"]["parent"] == "000.00.00.H53"
    bad = env.http.post("/api/v1/agencies", json={"code": "28.22.H17", "name": "x"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_agency_code"
    assert (
        env.http.post("/api/v1/agencies", json={"code": "000.00.15.H53", "name": "x"}, headers=env.as_("A")).status_code
        == 403
    )


def test_admin_creates_a_client_whose_key_works(env: Env) -> None:
    resp = env.http.post(
        "/api/v1/clients", json={"name": "dms-new", "role": "dms", "agencies": [B]}, headers=env.as_("admin")
    )
    assert resp.status_code == 201
    key = resp.json()["api_key"]
    inbox = env.http.get("/api/v1/inbox", headers={"Authorization": f"Bearer {key}"})
    assert inbox.status_code == 200
    clients = env.http.get("/api/v1/clients", headers=env.as_("admin")).json()["items"]
    assert "dms-new" in [c["name"] for c in clients]
    assert all("api_key" not in c for c in clients)


def test_events_filters(env: Env) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    doc = submit(env, "A", header(A, [B])).json()
    env.deliver()
    auditor = env.as_("auditor")
    items = env.http.get("/api/v1/events", params={"document_id": doc["document_id"]}, headers=auditor).json()["items"]
    assert [e["kind"] for e in items][:2] == ["submitted", "delivered"]
    delivered = env.http.get("/api/v1/events", params={"kind": "delivered", "agency": B}, headers=auditor).json()
    assert [e["package_id"] for e in delivered["items"]] == [doc["id"]]
    window = {"since": before.isoformat(), "until": (datetime.now(UTC) + timedelta(seconds=5)).isoformat()}
    assert len(env.http.get("/api/v1/events", params=window, headers=auditor).json()["items"]) >= 2
    future = {"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    assert env.http.get("/api/v1/events", params=future, headers=auditor).json()["items"] == []
    naive = env.http.get("/api/v1/events", params={"since": "2026-11-25T08:00:00"}, headers=auditor)
    assert naive.status_code == 422 and naive.json()["code"] == "naive_datetime"
    # A DMS sees its own agency's events only.
    own = env.http.get("/api/v1/events", headers=env.as_("B"))
    assert own.status_code == 200 and {e["agency"] for e in own.json()["items"]} == {B}
    other = env.http.get("/api/v1/events", params={"agency": A}, headers=env.as_("B"))
    assert other.status_code == 403


def test_readiness_reports_a_missing_database(env: Env) -> None:
    assert env.http.get("/readyz").json() == {"status": "ok", "checks": {"database": "ok", "objects": "ok"}}
    from storage.db import create_engine

    env.gw.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    resp = env.http.get("/readyz")
    assert resp.status_code == 503 and resp.json()["checks"]["database"].startswith("fail")
    assert env.http.get("/healthz").status_code == 200
