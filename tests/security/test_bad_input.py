"""Issue 17 item 3: bad input is refused as problem+json with a stable code, never a 500, on SQLite and PostgreSQL.

Reproduces the attack run: an integer beyond 64 bits in ``after_id``, a ``%00`` in a path or query parameter of
every route psycopg refused with ``DataError``, a NUL in a client or agency name, deeply nested JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import postgres_admin_url, postgres_available, temporary_postgres_database
from tests.support.env import require
from tests.support.gateway import A, Env, gateway_env

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One gateway per database kind for the whole module: every case here is refused, nothing is changed."""
    tmp: Path = tmp_path_factory.mktemp(f"bad-input-{request.param}")
    if request.param == "sqlite":
        yield from gateway_env(f"sqlite:///{tmp / 'edoc.sqlite3'}", tmp)
        return
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()} (set EDOC_TEST_POSTGRES_URL)")
    with temporary_postgres_database() as url:
        yield from gateway_env(url, tmp)


def _refused(resp: object, *codes: str) -> None:
    status = resp.status_code  # type: ignore[attr-defined]
    assert 400 <= status < 500, (status, resp.text)  # type: ignore[attr-defined]
    assert resp.headers["content-type"].startswith(PROBLEM), resp.headers  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert body["code"] in codes, body


def test_after_id_beyond_64_bits(env: Env) -> None:
    resp = env.http.get("/api/v1/events", params={"after_id": str(2**63)}, headers=env.as_("auditor"))
    _refused(resp, "value_out_of_range", "invalid_value", "validation_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/edocs/x%00y"),
        ("GET", "/api/v1/edocs/x%00y/edxml"),
        ("POST", "/api/v1/edocs/x%00y/ack"),
        ("POST", "/api/v1/edocs/x%00y/status"),
        ("POST", "/api/v1/edocs/x%00y/recall"),
        ("GET", "/api/v1/events?agency=x%00y"),
        ("GET", "/api/v1/events?kind=x%00y"),
        ("GET", "/api/v1/agencies?suffix=x%00y"),
        ("GET", "/api/v1/inbox?agency=x%00y"),
        ("POST", "/api/v1/edocs/x/ack?agency=x%00y"),
    ],
)
def test_nul_in_path_or_query(env: Env, method: str, path: str) -> None:
    body = {"code": "03"} if path.endswith("/status") else {}
    who = "auditor" if "events" in path else "A"
    resp = env.http.request(method, path, headers=env.as_(who), json=body if method == "POST" else None)
    _refused(resp, "nul_character")


def test_nul_in_client_name(env: Env) -> None:
    resp = env.http.post("/api/v1/clients", json={"name": "dms\u0000x", "role": "dms", "agencies": [A]},
                         headers=env.as_("admin"))
    _refused(resp, "nul_character", "invalid_value")


def test_nul_in_agency_name(env: Env) -> None:
    resp = env.http.post("/api/v1/agencies", json={"code": "000.00.31.H53", "name": "Sở\u0000"},
                         headers=env.as_("admin"))
    _refused(resp, "nul_character", "invalid_value")


def test_deeply_nested_json(env: Env) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    json_type = {**env.as_("admin"), "content-type": "application/json"}
    resp = env.http.post("/api/v1/agencies", content=body, headers=json_type)
    _refused(resp, "json_too_deep")
    resp = env.http.post("/api/v1/clients", content=body, headers=env.as_("admin"))  # no Content-Type: read as JSON
    _refused(resp, "json_too_deep")


def test_deeply_nested_multipart_header(env: Env) -> None:
    """The native submit's 'header' is a form field, out of the edge guard's sight: checked where it is parsed."""
    resp = env.http.post("/api/v1/edocs", data={"header": "[" * 50_000}, headers=env.as_("A"))
    _refused(resp, "invalid_header")
