"""HTTP for the VXP facade: ``GET|POST /vxp/{operation}`` (STANDARDS.md §8) and the routing table's admin API.

Thin: the body is read (bounded by ``max_package_bytes``), the facade runs in the thread pool, its envelope is the
JSON answer whatever the status (the SDK reads the body of every answer). ``Server-Timing`` says how long the
call spent in authentication (``auth``) and in total (``app``), which ``bench/vxp.py`` sums. It goes to
authenticated callers only, in every environment: to anyone else it would time the authentication itself, a
side channel on what exists (issue 17, item 7; docs/roles.md).
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
from service.exchange import log
from service.vxp.facade import VxpFacade
from service.vxp.protocol import fail_envelope
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
    limit = facade.gw.settings.max_package_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return JSONResponse(fail_envelope("VXP-413-TOO-LARGE", f"the body exceeds {limit} bytes", None), 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return JSONResponse(fail_envelope("VXP-413-TOO-LARGE", f"the body exceeds {limit} bytes", None), 413)
        chunks.append(chunk)
    answer = await run_in_threadpool(
        facade.handle, request.method, operation, list(request.headers.items()), b"".join(chunks)
    )
    headers = {}
    if answer.authenticated:
        auth, total = answer.auth_seconds * 1000, answer.total_seconds * 1000
        headers["Server-Timing"] = f"auth;dur={auth:.3f}, app;dur={total:.3f}"
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
