"""The submit, fetch and ack routes read their own request (service.api.deps.LeanRoute): they document, check and
refuse what the FastAPI signature they replace did."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from service.api.deps import LeanRoute
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, C, Env
from tests.support.pdfs import simple_pdf


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


def test_an_over_long_idempotency_key_is_refused_as_fastapi_refused_it(sqlite_env: Env) -> None:
    resp = submit(sqlite_env, "A", header(A, [B], number="9001"), key="k" * 201)
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"] == [
        {
            "loc": ["header", "Idempotency-Key"],
            "msg": "String should have at most 200 characters",
            "type": "string_too_long",
        }
    ]
    assert submit(sqlite_env, "A", header(A, [B], number="9002"), key="k" * 200).status_code == 202


def test_the_ack_takes_its_agency_from_the_query(sqlite_env: Env) -> None:
    """A client acting for several agencies names the one acking; an agency it does not act for is refused."""
    doc = submit(sqlite_env, "A", header(A, [B, C], number="9003"), files=[("vb.pdf", simple_pdf(1))]).json()["id"]
    sqlite_env.deliver()
    refused = sqlite_env.http.post(f"/api/v1/edocs/{doc}/ack?agency={C}", headers=sqlite_env.as_("B"))
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_agency", refused.text
    acked = sqlite_env.http.post(f"/api/v1/edocs/{doc}/ack?agency={B}", headers=sqlite_env.as_("B"))
    assert acked.status_code == 200 and acked.json()["agency"] == B


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
