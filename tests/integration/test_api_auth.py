"""Every /api/ operation checks the API key, and the OpenAPI document says so."""

from __future__ import annotations

import pytest

from tests.support.gateway import Env


def _api_operations(env: Env) -> list[tuple[str, str]]:
    schema = env.http.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/")
        for method in operations
    ]


def test_openapi_declares_the_bearer_key_on_every_api_operation(sqlite_env: Env) -> None:
    schema = sqlite_env.http.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "API key of a client system (edoc client add)",
    }
    operations = _api_operations(sqlite_env)
    assert len(operations) >= 15
    for method, path in operations:
        assert schema["paths"][path][method.lower()]["security"] == [{"HTTPBearer": []}], (method, path)
    assert "security" not in schema["paths"]["/healthz"]["get"]


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer   "])
def test_every_api_operation_refuses_a_request_without_a_bearer_key(sqlite_env: Env, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, path in _api_operations(sqlite_env):
        url = path.replace("{package_id}", "0" * 32).replace("{n}", "0")
        resp = sqlite_env.http.request(method, url, headers=headers)
        assert resp.status_code == 401, (method, path, resp.status_code, resp.text)
        assert resp.json()["code"] == "missing_api_key", (method, path)


def test_every_openapi_operation_has_its_own_operation_id(sqlite_env: Env) -> None:
    """Client generators refuse a document where two operations share an operationId (the VXP route serves GET
    and POST; each method is its own operation)."""
    schema = sqlite_env.http.get("/openapi.json").json()
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values() if "operationId" in op]
    assert len(ids) >= 20
    assert sorted(ids) == sorted(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert {"vxp_get", "vxp_post"} <= set(ids)
