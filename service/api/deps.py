"""Request dependencies: the gateway object and the authenticated caller (``Authorization: Bearer <key>``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.responses import Response

from service.context import Gateway
from service.exchange.directory import Caller, authenticate, hash_key
from service.exchange.errors import Forbidden, PayloadTooLarge, Unauthorized
from storage.aio import AsyncDriver

__all__ = [
    "AioDep",
    "CallerDep",
    "GatewayDep",
    "LeanRoute",
    "aio_of",
    "caller_of",
    "gateway_of",
    "header_param",
    "lean_doc",
    "read_limited_body",
    "require_role",
]

_bearer = HTTPBearer(auto_error=False, description="API key of a client system (edoc client add)")


def gateway_of(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


async def get_gateway(request: Request) -> Gateway:
    # async on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, a thread hop per request for
    # an attribute read.
    return gateway_of(request)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def aio_of(request: Request) -> AsyncDriver | None:
    """The event loop's PostgreSQL driver (storage/aio.py), or None (SQLite, or an app whose lifespan is not
    running): then routes run their synchronous path in the thread pool."""
    aio: AsyncDriver | None = getattr(request.app.state, "aio", None)
    return aio


async def get_aio(request: Request) -> AsyncDriver | None:
    return aio_of(request)


AioDep = Annotated[AsyncDriver | None, Depends(get_aio)]


async def get_caller(
    gw: GatewayDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """The caller of a key: from the process's cache on the event loop (no thread hop for the usual case), else
    checked against the database in the thread pool."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _missing_key()
    return await _caller_of_key(gw, credentials.credentials)


def _missing_key() -> Unauthorized:
    return Unauthorized("send 'Authorization: Bearer <api key>'", code="missing_api_key")


async def _caller_of_key(gw: Gateway, key: str) -> Caller:
    cached = gw.callers.get(hash_key(key))
    if cached is not None:
        return cached
    return await run_in_threadpool(_authenticate, gw, key)


async def caller_of(request: Request, gw: Gateway) -> Caller:
    """:func:`get_caller` for a :class:`LeanRoute`, which reads its own request: the same header parsing as
    FastAPI's ``HTTPBearer(auto_error=False)`` followed by :func:`get_caller`, so the same answers and errors."""
    scheme, key = get_authorization_scheme_param(request.headers.get("authorization"))
    if not (scheme and key) or scheme.lower() != "bearer":
        raise _missing_key()
    return await _caller_of_key(gw, key)


def _authenticate(gw: Gateway, key: str) -> Caller:
    with gw.sessions() as session:
        return authenticate(session, key, gw.callers)


CallerDep = Annotated[Caller, Depends(get_caller)]


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
    doc: dict[str, Any] = {"security": [{_bearer.scheme_name: []}], "responses": {"422": _VALIDATION_ERROR}}
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


def require_role(caller: Caller, *roles: str) -> None:
    """Refuse a caller whose role is not among ``roles``. The role matrix itself lives in service/access.py
    (``access.require(caller, Op.…)``, docs/roles.md); prefer that, so every rule stays in one table."""
    if caller.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}; the caller is {caller.role}", code="wrong_role")


async def read_limited_body(request: Request, limit: int, *, code: str, what: str) -> bytes:
    """The request body, refused with :class:`PayloadTooLarge` (``code``) once it exceeds ``limit`` bytes.

    A declared Content-Length over the limit is refused before reading; a body without one (chunked) is counted
    as it streams in, so an oversized upload is never held whole in memory.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the {what} is {declared} bytes; the limit is {limit}", code=code)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the {what} exceeds the limit of {limit} bytes", code=code)
        chunks.append(chunk)
    return b"".join(chunks)
