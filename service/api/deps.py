"""Request dependencies: the gateway object and the authenticated caller (``Authorization: Bearer <key>``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.context import Gateway
from service.exchange.directory import Caller, authenticate, hash_key
from service.exchange.errors import Forbidden, PayloadTooLarge, Unauthorized

__all__ = [
    "BEARER",
    "CallerDep",
    "GatewayDep",
    "caller_of_key",
    "gateway_of",
    "missing_key",
    "read_limited_body",
    "require_role",
]

BEARER = HTTPBearer(auto_error=False, description="API key of a client system (edoc client add)")


def gateway_of(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


async def get_gateway(request: Request) -> Gateway:
    # async on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, a thread hop per request for
    # an attribute read.
    return gateway_of(request)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_caller(
    gw: GatewayDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Caller:
    """The caller of a key: from the process's cache on the event loop (no thread hop for the usual case), else
    checked against the database in the thread pool."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise missing_key()
    return await caller_of_key(gw, credentials.credentials)


def missing_key() -> Unauthorized:
    return Unauthorized("send 'Authorization: Bearer <api key>'", code="missing_api_key")


async def caller_of_key(gw: Gateway, key: str) -> Caller:
    cached = gw.callers.get(hash_key(key))
    if cached is not None:
        return cached
    return await run_in_threadpool(_authenticate, gw, key)


def _authenticate(gw: Gateway, key: str) -> Caller:
    with gw.sessions() as session:
        return authenticate(session, key, gw.callers)


CallerDep = Annotated[Caller, Depends(get_caller)]


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
