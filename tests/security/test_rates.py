"""Issue 17 item 2: per-address rates on what needs no credential (POST /verify, refused VXP calls), and the
bounded log of unauthenticated refusals."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import sqlalchemy as sa

from service.vxp.refusals import RefusalLog
from tests.security.conftest import Served
from tests.support.gateway import Env


def test_verify_page_is_rate_limited_per_address(throttled: Served) -> None:
    statuses = []
    with httpx.Client(base_url=throttled.base) as client:
        for _ in range(12):
            resp = client.post("/verify", files={"file": ("x.pdf", b"not a pdf", "application/pdf")})
            statuses.append(resp.status_code)
            if resp.status_code == 429:
                assert int(resp.headers["retry-after"]) >= 1
                assert resp.json()["code"] == "too_many_requests"
    assert 429 in statuses and statuses[0] != 429, statuses


def test_refused_vxp_calls_are_rate_limited_per_address(throttled: Served) -> None:
    codes = []
    with httpx.Client(base_url=throttled.base) as client:
        for _ in range(25):
            resp = client.post("/vxp/getReceivedEdocList", headers={"XroadVnpt-systemid": "flooder"})
            codes.append(json.loads(resp.content)["ErrorCode"])
    assert codes[0] == "VXP-401-MISSING-HEADER"
    assert codes[-1] == "VXP-429-TOO-MANY-REFUSALS", codes


def test_repeated_refusals_become_one_counted_event(sqlite_env: Env, tmp_path: Path) -> None:
    now = [0.0]
    refusals = RefusalLog(sqlite_env.gw, window=60, clock=lambda: now[0])
    for _ in range(500):
        refusals.note(operation="getEdoc", code="VXP-401-BAD-SIGNATURE", claimed="vxp.x", message="bad")
    for i in range(200):  # many claimed system ids: bounded kinds per window
        refusals.note(operation="getEdoc", code="VXP-401-UNKNOWN-SYSTEM", claimed=f"spray-{i}", message="?")
    now[0] = 61.0
    refusals.note(operation="getEdoc", code="VXP-401-BAD-SIGNATURE", claimed="vxp.x", message="bad")
    with sqlite_env.gw.sessions() as session:
        rows = session.execute(sa.text("SELECT detail FROM exchange_event WHERE kind = 'vxp_refused'")).all()
    details = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    assert len(details) <= 50 + 50 + 1 + 1, len(details)  # firsts (bounded) + counted repeats + the new window's first
    repeated = {(d["code"]): d.get("repeated") for d in details if d.get("repeated")}
    assert repeated["VXP-401-BAD-SIGNATURE"] == 499


def test_addresses_are_counted_by_host_or_ipv6_prefix() -> None:
    from service.edge.ratelimit import RateLimiter, client_key

    assert client_key("127.0.0.1") == "127.0.0.1"
    assert client_key("::ffff:10.0.0.7") == "10.0.0.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    now = [0.0]
    limiter = RateLimiter(60, burst=3, clock=lambda: now[0], max_clients=100)
    assert [limiter.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("10.0.0.2")
    now[0] = 1.0
    assert limiter.allow("10.0.0.1") and not limiter.allow("10.0.0.1")  # one token a second
    for i in range(500):
        limiter.allow(f"10.1.{i // 256}.{i % 256}")
    assert len(limiter._buckets) <= 100
