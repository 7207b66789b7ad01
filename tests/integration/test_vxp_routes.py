"""``GET|PUT /api/v1/routes``: the admin API's routing rules, on a real gateway (SQLite and PostgreSQL).

A PUT changes where the *next* submit for a matching code goes (``Delivery.route``, fixed at submit); rules are
checked (pattern syntax, known target) and refused as problem+json; only an admin may change them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service.exchange.directory import AgencyInput, upsert_agency
from storage.models import Delivery, ExchangeEvent
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, C, Env, gateway_env
from tests.support.server import free_port

X = "000.00.05.G22"
UPLINK = {"endpoint": f"http://127.0.0.1:{free_port()}/vxp", "systemid": "vxp.h53", "secret": "s"}


@pytest.fixture
def env(empty_database_url: str, tmp_path: Path) -> Iterator[Env]:
    yield from gateway_env(empty_database_url, tmp_path, uplinks={"node2": UPLINK, "axis": UPLINK})


def put(env: Env, rules: list[tuple[str, str]], who: str = "admin") -> Any:
    body = {"rules": [{"pattern": p, "target": t} for p, t in rules]}
    return env.http.put("/api/v1/routes", json=body, headers=env.as_(who))


def routes_of(env: Env, to: list[str], number: str) -> dict[str, str]:
    resp = submit(env, "A", header(A, to, number=number))
    assert resp.status_code == 202, resp.text
    with env.gw.sessions() as session:
        rows = session.execute(sa.select(Delivery.to_code, Delivery.route).where(
            Delivery.package_id == resp.json()["id"])).all()
    return dict(rows)  # type: ignore[arg-type]


def test_a_put_routes_the_next_submit(env: Env) -> None:
    assert routes_of(env, [B, C], "1") == {B: "local", C: "local"}

    resp = put(env, [(C, "local"), ("*.G22", "node2")])  # first match wins
    assert resp.status_code == 200, resp.text
    assert resp.json()["rules"] == [{"pattern": C, "target": "local"}, {"pattern": "*.G22", "target": "node2"}]
    assert resp.json()["uplinks"] == ["axis", "node2"] and resp.json()["default"] == "local"
    with env.gw.writes() as session, session.begin():
        upsert_agency(session, AgencyInput(code=X, name="Cục Kiểm soát TTHC"))
    first = routes_of(env, [B, C, X], "2")
    assert first == {B: "local", C: "local", X: "node2"}

    assert put(env, [("*", "axis")]).status_code == 200
    assert routes_of(env, [B, X], "3") == {B: "axis", X: "axis"}
    assert env.http.get("/api/v1/routes", headers=env.as_("auditor")).json()["rules"] == [
        {"pattern": "*", "target": "axis"}]
    with env.gw.sessions() as session:  # earlier deliveries keep the route fixed at their submit
        assert session.execute(sa.select(sa.func.count()).where(
            Delivery.to_code == X, Delivery.route == "node2")).scalar_one() == 1
        changes = session.execute(sa.select(ExchangeEvent.actor).where(ExchangeEvent.kind == "routes_changed")).all()
    assert len(changes) == 2

    assert put(env, []).status_code == 200
    assert routes_of(env, [X], "4") == {X: "local"}


def test_only_an_admin_changes_routes(env: Env) -> None:
    for who in ("A", "clerk", "auditor"):
        resp = put(env, [("*", "node2")], who)
        assert resp.status_code == 403, (who, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert env.http.get("/api/v1/routes", headers=env.as_("A")).status_code == 403
    assert env.http.put("/api/v1/routes", json={"rules": []}).status_code == 401
    assert env.http.get("/api/v1/routes", headers=env.as_("admin")).json()["rules"] == []
    assert routes_of(env, [C], "5") == {C: "local"}


@pytest.mark.parametrize(
    ("pattern", "target", "code"),
    [
        ("*.g22", "node2", "bad_route"),  # lower case
        ("*.G22; DROP", "node2", "bad_route"),
        ("", "node2", "bad_route"),
        ("000.00.00", "node2", None),  # no wildcard, not an agency code
        ("*.G22", "nowhere", "bad_route"),  # not a configured uplink
        ("*.G22", "LOCAL", "bad_route"),
    ],
)
def test_a_bad_rule_is_refused_and_changes_nothing(env: Env, pattern: str, target: str, code: str | None) -> None:
    assert put(env, [("*.H53", "axis")]).status_code == 200
    resp = put(env, [("*.H53", "local"), (pattern, target)])
    assert resp.status_code in (400, 422), resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    problem = resp.json()
    assert problem["status"] == resp.status_code and problem["code"], problem
    if code is not None:
        assert problem["code"] == code, problem
    assert env.http.get("/api/v1/routes", headers=env.as_("admin")).json()["rules"] == [
        {"pattern": "*.H53", "target": "axis"}]
