"""The submit, fetch and ack routes read their own request (service.api.lean.LeanRoute): they document, check and
refuse what the FastAPI signature they replace did."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from service.api.lean import LeanRoute
from tests.support.gateway import Env


def _operation(env: Env, path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = env.http.get("/openapi.json").json()["paths"][path][method]
    return operation


def test_the_lean_routes_document_their_parameters_as_fastapi_derived_them(sqlite_env: Env) -> None:
    schema = sqlite_env.http.get("/openapi.json").json()
    optional = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    package_id = {
        "in": "path",
        "name": "package_id",
        "required": True,
        "schema": {"title": "Package Id", "type": "string"},
    }

    submit_op = _operation(sqlite_env, "/api/v1/edocs", "post")
    assert submit_op["parameters"] == [
        {"in": "query", "name": "share_statuses", "required": False, "schema": {**optional, "title": "Share Statuses"}},
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"anyOf": [{"type": "string", "maxLength": 200}, {"type": "null"}], "title": "Idempotency-Key"},
        }
    ]
    assert set(submit_op["requestBody"]["content"]) == {"application/xml", "multipart/form-data"}
    assert _operation(sqlite_env, "/api/v1/edocs/{package_id}/edxml", "get")["parameters"] == [
        package_id,
        {"in": "query", "name": "reason", "required": False, "schema": {**optional, "title": "Reason"}},
    ]
    assert _operation(sqlite_env, "/api/v1/edocs/{package_id}/ack", "post")["parameters"] == [
        package_id,
        {"in": "query", "name": "agency", "required": False, "schema": {**optional, "title": "Agency"}},
    ]
    for path, method, operation_id in (
        ("/api/v1/edocs", "post", "submit_api_v1_edocs_post"),
        ("/api/v1/edocs/{package_id}/edxml", "get", "get_edxml_api_v1_edocs__package_id__edxml_get"),
        ("/api/v1/edocs/{package_id}/ack", "post", "ack_api_v1_edocs__package_id__ack_post"),
    ):
        operation = schema["paths"][path][method]
        assert operation["operationId"] == operation_id  # generated clients keep their method names
        assert operation["security"] == [{"HTTPBearer": []}]
        ref = operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[-1] in schema["components"]["schemas"]  # the reference resolves


def test_a_lean_route_refuses_an_endpoint_it_would_call_wrongly() -> None:
    router = APIRouter(route_class=LeanRoute)

    async def with_parameters(request: Request, package_id: str) -> Response:
        return Response()

    def blocking(request: Request) -> Response:
        return Response()

    async def fine(request: Request) -> Response:
        return Response()

    with pytest.raises(TypeError, match="LeanRoute endpoint"):
        router.add_api_route("/x/{package_id}", with_parameters)
    with pytest.raises(TypeError, match="LeanRoute endpoint"):
        router.add_api_route("/x", blocking)
    with pytest.raises(TypeError, match="would not run"):
        router.add_api_route("/x", fine, dependencies=[Depends(lambda: None)])
    router.add_api_route("/x", fine)
