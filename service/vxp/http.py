"""HTTP for the VXP facade: ``GET|POST /vxp/{operation}`` (STANDARDS.md §8) and the routing table's admin API.

Thin, and careful about what an unknown caller can make it hold (issue 17): an unknown operation or method is
answered before any byte of the body is read; an operation with a body (sendEdoc, registerAgency) has its headers
authenticated first when the body is over :data:`PRECHECK_BYTES` or chunked (:meth:`VxpFacade.precheck`), then
its body read, bounded by ``max_package_bytes`` (the edge guard, service/edge/guard.py, stops a chunked body at
that limit too); an operation without one takes at most :data:`SMALL_BODY` bytes (the SDK posts ``{}``). Each
refusal of an unauthenticated call counts against the caller's address; past ``vxp_refusals_per_minute`` the
address is answered 429 before anything else (the guard). The facade runs in the thread pool, its envelope is the
JSON answer whatever the status (the SDK reads the body of every answer). ``Server-Timing`` says how long the call
spent in authentication (``auth``) and in total (``app``), which ``bench/vxp.py`` sums. It goes to authenticated
callers only, in every environment: to anyone else it would time the authentication itself, a side channel on
what exists (issue 17, item 7; docs/roles.md).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from service.access import Op, require
from service.api.deps import CallerDep, GatewayDep
from service.edge.guard import unread_body_is_large
from service.errors import RETRY_AFTER_SECONDS
from service.exchange import log
from service.vxp.facade import Answer, VxpFacade
from service.vxp.protocol import OPERATIONS, fail_envelope
from service.vxp.routes import Rule, replace_rules, rules_of

__all__ = ["facade_of", "router"]

router = APIRouter(tags=["VXP (national-axis protocol)"])
_lock = threading.Lock()


def facade_of(request: Request) -> VxpFacade:
    state = request.app.state
    with _lock:
        facade = getattr(state, "vxp_facade", None)
        if facade is None:
            facade = state.vxp_facade = VxpFacade(state.gateway)
    return facade


_SUMMARY = "A VXP operation (sendEdoc, getReceivedEdocList, getEdoc, updateStatus, …), XroadVnpt-* headers"


# One handler, registered once per method: a route with two methods would give both operations the same
# operationId in the OpenAPI document, which client generators refuse.
@router.get("/vxp/{operation}", summary=_SUMMARY, operation_id="vxp_get")
@router.post("/vxp/{operation}", summary=_SUMMARY, operation_id="vxp_post")
async def vxp_call(operation: str, request: Request) -> JSONResponse:
    facade = facade_of(request)
    headers = list(request.headers.items())
    op = OPERATIONS.get(operation)
    if op is None or request.method not in op.accepted_methods:  # the body stays unread
        return _answer(request, facade.handle(request.method, operation, headers, b""), unread=True)
    limit = facade.gw.settings.max_package_bytes if op.body else SMALL_BODY
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(limit)
    if op.body and ("transfer-encoding" in request.headers or (declared.isdigit() and int(declared) > PRECHECK_BYTES)):
        refusal = await run_in_threadpool(facade.precheck, operation, headers)
        if refusal is not None:
            return _answer(request, refusal, unread=True)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return _too_large(limit)
        chunks.append(chunk)
    answer = await run_in_threadpool(facade.handle, request.method, operation, headers, b"".join(chunks))
    return _answer(request, answer)


#: The most a VXP operation without a body of its own may carry (SDK count calls post ``{}``).
SMALL_BODY = 64 * 1024
#: Bodies above this size (or chunked) are received only after the headers were authenticated. Below it the body
#: is read first and authenticated once, as before: a second authentication costs about 0.1 ms of CPU plus a trip
#: to the thread pool (0.3-0.4 ms), and a megabyte per connection is what any caller may make the node hold.
PRECHECK_BYTES = 1024 * 1024


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(fail_envelope("VXP-413-TOO-LARGE", f"the body exceeds {limit} bytes", None), 413)


def _answer(request: Request, answer: Answer, *, unread: bool = False) -> JSONResponse:
    if answer.status in (401, 404, 405):  # the caller is not known: count it against its address
        edge = getattr(request.app.state, "edge", None)
        if edge is not None:
            edge.vxp_refusals.allow(request.client.host if request.client else None)
    headers = {}
    if answer.authenticated:
        auth, total = answer.auth_seconds * 1000, answer.total_seconds * 1000
        headers["Server-Timing"] = f"auth;dur={auth:.3f}, app;dur={total:.3f}"
    if answer.status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if unread and unread_body_is_large(request.scope):
        headers["Connection"] = "close"  # rather than reading a body nobody will use to its end
    return JSONResponse(answer.envelope, status_code=answer.status, headers=headers)


class RuleIn(BaseModel):
    pattern: str = Field(examples=["*.G22"], max_length=32)
    target: str = Field(examples=["axis"], max_length=64)


class RulesIn(BaseModel):
    rules: list[RuleIn]


def _routes_json(gw: Any) -> dict[str, Any]:
    settings = gw.settings
    return {
        "rules": [{"pattern": r.pattern, "target": r.target} for r in rules_of(gw.sessions)],
        "settings": [{"pattern": r.pattern, "target": r.target} for r in settings.routes],
        "default": settings.default_route,
        "uplinks": sorted(settings.uplinks),
    }


@router.get("/api/v1/routes", tags=["routing"], summary="The routing table: admin rules, then settings, then default")
def get_routes(gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    require(caller, Op.ROUTES_READ)
    return _routes_json(gw)


@router.put("/api/v1/routes", tags=["routing"], summary="Replace the admin rules (first match wins)")
def put_routes(body: RulesIn, gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    require(caller, Op.ROUTES_WRITE)
    rules = replace_rules(gw, [Rule(r.pattern, r.target) for r in body.rules])
    with gw.writes() as session, session.begin():
        log.record(session, "routes_changed", actor=caller.name, rules=[[r.pattern, r.target] for r in rules])
    return _routes_json(gw)
