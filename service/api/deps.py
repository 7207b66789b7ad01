"""Request dependencies: the gateway object and the authenticated caller (``Authorization: Bearer <key>``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.context import Gateway
from service.exchange.directory import Caller, authenticate, hash_key
from service.exchange.errors import Forbidden, Unauthorized

__all__ = ["CallerDep", "GatewayDep", "require_role"]

_bearer = HTTPBearer(auto_error=False, description="API key of a client system (edoc client add)")


def get_gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_caller(
    gw: GatewayDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """The caller of a key: from the process's cache on the event loop (no thread hop for the usual case), else
    checked against the database in the thread pool."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send 'Authorization: Bearer <api key>'", code="missing_api_key")
    cached = gw.callers.get(hash_key(credentials.credentials))
    if cached is not None:
        return cached
    return await run_in_threadpool(_authenticate, gw, credentials.credentials)


def _authenticate(gw: Gateway, key: str) -> Caller:
    with gw.sessions() as session:
        return authenticate(session, key, gw.callers)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_role(caller: Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}; the caller is {caller.role}", code="wrong_role")
