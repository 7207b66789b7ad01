"""``LeanRoute``: the one module of the API that goes around FastAPI, for the three requests every document costs
several times over (the submit, and the fetch and ack at each recipient). Kept because it earned its place in a
paired run of the whole exchange (issue 19 item 5, docs/performance.md: 0.88x the documents/s without it); the
helpers here read a request the way the FastAPI signatures they replace did, and ``tests/integration/
test_lean_routes.py`` holds them to that."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from starlette.responses import Response

from service.api.deps import BEARER, caller_of_key, missing_key
from service.context import Gateway
from service.exchange.directory import Caller

__all__ = ["LeanRoute", "caller_of", "header_param", "lean_doc"]


async def caller_of(request: Request, gw: Gateway) -> Caller:
    """:func:`get_caller` for a :class:`LeanRoute`, which reads its own request: the same header parsing as
    FastAPI's ``HTTPBearer(auto_error=False)`` followed by :func:`get_caller`, so the same answers and errors."""
    scheme, key = get_authorization_scheme_param(request.headers.get("authorization"))
    if not (scheme and key) or scheme.lower() != "bearer":
        raise missing_key()
    return await caller_of_key(gw, key)


class LeanRoute(APIRoute):
    """A route for the requests every document costs several times over: the submit, and the fetch and ack at
    each recipient. Its endpoint takes the :class:`Request` and returns a :class:`Response` itself (reading the
    gateway, the caller and its parameters with the helpers here), and is called as it is: FastAPI's per-request
    handler, which solves the dependency tree, validates parameters and wraps the result, is skipped. The middleware,
    the routing and the exception handlers are FastAPI's as for every route, so errors are the same problem+json.

    That handler cost 0.14 ms of CPU per request against 0.38 for an ack-shaped route with the gateway, driver and
    caller dependencies, a path and a query parameter, under uvicorn on the 2-core machine (medians of 3 rounds of
    6,000 requests, no access log), where a whole ack costs about 1 ms.

    FastAPI cannot read such an endpoint's parameters from its signature, so they are documented with
    :func:`lean_doc` in ``openapi_extra``. An endpoint with any other signature, or route dependencies (which
    would not run), is refused when the route is made."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        params = list(inspect.signature(endpoint).parameters.values())
        if len(params) != 1 or not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"a LeanRoute endpoint is `async def {endpoint.__name__}(request: Request) -> Response`")
        if kwargs.get("dependencies"):
            raise TypeError(f"LeanRoute {path}: route dependencies would not run; read them in the endpoint")
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return handler


def _string_schema(title: str, max_length: int | None = None) -> dict[str, Any]:
    text: dict[str, Any] = {"type": "string"}
    if max_length is not None:
        text["maxLength"] = max_length
    return {"anyOf": [text, {"type": "null"}], "title": title}


def lean_doc(
    *, path: tuple[str, ...] = (), query: tuple[str, ...] = (), headers: dict[str, int] | None = None
) -> dict[str, Any]:
    """The OpenAPI operation fields of a :class:`LeanRoute` that FastAPI would have derived from a signature:
    its string ``path`` and optional ``query`` parameters, its optional ``headers`` (name: max length), and the
    bearer key, and the 422 answer. The same shapes FastAPI gives a ``str`` path parameter and a ``str | None``
    query or header."""
    params: list[dict[str, Any]] = [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": {"title": name.replace("_", " ").title(), "type": "string"},
        }
        for name in path
    ]
    params += [
        {"in": "query", "name": name, "required": False, "schema": _string_schema(name.replace("_", " ").title())}
        for name in query
    ]
    params += [
        {"in": "header", "name": name, "required": False, "schema": _string_schema(name, max_length)}
        for name, max_length in (headers or {}).items()
    ]
    doc: dict[str, Any] = {"security": [{BEARER.scheme_name: []}], "responses": {"422": _VALIDATION_ERROR}}
    if params:
        doc["parameters"] = params
    return doc


# What FastAPI documents for an operation with parameters (the schema is in the document's components, from the
# other routes).
_VALIDATION_ERROR = {
    "description": "Validation Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
}


def header_param(request: Request, name: str, *, max_length: int) -> str | None:
    """An optional header of a :class:`LeanRoute`, refused as FastAPI refuses a ``Header(max_length=...)``."""
    value = request.headers.get(name)
    if value is not None and len(value) > max_length:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("header", name),
                    "msg": f"String should have at most {max_length} characters",
                    "input": value,
                    "ctx": {"max_length": max_length},
                }
            ]
        )
    return value
