"""Directory (agencies), client systems, the exchange log, health.

Client systems are disabled, enabled and rotated with ``POST /clients/{ref}/disable|enable|rotate`` (``ref``: id or
name), not ``DELETE``: a client system is never removed (the exchange log and its packages name it), and a disabled
one can be enabled again (service/exchange/clients.py)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from service.access import Op, require
from service.api.deps import CallerDep, GatewayDep
from service.context import Gateway
from service.exchange import clients, directory, log
from service.exchange.directory import Caller
from service.exchange.errors import Conflict
from storage.db import ping

logger = logging.getLogger("edoc.http")
router = APIRouter(prefix="/api/v1", tags=["directory and audit"])
health = APIRouter(tags=["health"])


class AgencyIn(BaseModel):
    code: str = Field(examples=["000.00.11.H53"])
    name: str = Field(max_length=200)
    parent: str | None = None
    email: str | None = Field(None, max_length=100)
    telephone: str | None = Field(None, max_length=20)
    fax: str | None = Field(None, max_length=20)
    address: str | None = Field(None, max_length=500)


class ClientIn(BaseModel):
    name: str = Field(max_length=100)
    role: Literal["dms", "clerk", "auditor", "admin"]
    agencies: list[str] = []


def _agency_json(row: Any) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "parent": row.parent_code,
        "email": row.email,
        "telephone": row.telephone,
        "fax": row.fax,
        "address": row.address,
    }


@router.get("/agencies", summary="The agency directory")
def list_agencies(gw: GatewayDep, caller: CallerDep, suffix: str | None = None) -> dict[str, Any]:
    with gw.sessions() as session:
        return {"items": [_agency_json(a) for a in directory.list_agencies(session, prefix=suffix)]}


@router.post("/agencies", summary="Add or update agencies (one object, a list, or a CSV/JSON file body)")
async def post_agencies(request: Request, gw: GatewayDep, caller: CallerDep) -> JSONResponse:
    require(caller, Op.DIRECTORY_WRITE)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if ctype == "text/csv":
        items = directory.parse_agency_file(body, fmt="csv")
    else:
        items = directory.parse_agency_file(body if body.strip().startswith(b"[") else b"[" + body + b"]", fmt="json")
    with gw.writes() as session, session.begin():
        report = directory.import_agencies(session, items)
        log.record(session, "directory_import", actor=caller.name, added=len(report.added), changed=len(report.changed))
    return JSONResponse(
        {"added": report.added, "changed": report.changed, "unchanged": report.unchanged},
        status_code=201 if report.added else 200,
    )


@router.post("/clients", status_code=201, summary="Create a client system; its API key is shown once")
def post_client(body: ClientIn, gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    require(caller, Op.CLIENTS)
    with gw.writes() as session, session.begin():
        client, key = directory.create_client(session, name=body.name, role=body.role, agencies=body.agencies)
        log.record(session, "client_created", actor=caller.name, client=client.name, role=client.role)
        return {"id": client.id, "name": client.name, "role": client.role, "agencies": body.agencies, "api_key": key}


@router.get("/clients", summary="Client systems (never their keys: a key's first characters only)")
def list_clients(gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    require(caller, Op.CLIENTS)
    with gw.sessions() as session:
        return {"items": clients.list_clients(session)}


class RotateIn(BaseModel):
    credential: Literal["api_key", "vxp_secret"] = Field("api_key", description="which one to replace")
    grace_seconds: float = Field(
        clients.DEFAULT_GRACE.total_seconds(), ge=0, le=90 * 86400,
        description="how long the replaced credential keeps working (0: it stops at once, e.g. a leaked key)",
    )


def _set_active(gw: Gateway, caller: Caller, ref: str, active: bool) -> dict[str, Any]:
    with gw.writes() as session, session.begin():
        client = clients.find_client(session, ref)
        if not active and client.id == caller.client_id:
            raise Conflict("a client system cannot disable itself (it would lock its admin out)", code="self_disable")
        if clients.set_active(session, client, active):
            kind = "client_enabled" if active else "client_disabled"
            log.record(session, kind, actor=caller.name, client=client.name)
        view = clients.client_view(session, client)
    gw.callers.clear()  # this process at once; the others within EDOC_AUTH_CACHE_SECONDS
    return view


@router.post(
    "/clients/{ref}/disable",
    summary="Disable a client system: its API keys and VXP secret stop working (other processes: within the "
    "auth cache's lifetime, EDOC_AUTH_CACHE_SECONDS)",
)
def disable_client(ref: str, gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    require(caller, Op.CLIENTS)
    return _set_active(gw, caller, ref, False)


@router.post("/clients/{ref}/enable", summary="Enable a disabled client system again")
def enable_client(ref: str, gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    require(caller, Op.CLIENTS)
    return _set_active(gw, caller, ref, True)


@router.post(
    "/clients/{ref}/rotate",
    summary="Replace a client system's API key or VXP secret; the new one is shown once, the old one works for "
    "grace_seconds",
)
def rotate_client(ref: str, gw: GatewayDep, caller: CallerDep, body: RotateIn | None = None) -> dict[str, Any]:
    require(caller, Op.CLIENTS)
    body = body or RotateIn()
    grace = timedelta(seconds=body.grace_seconds)
    with gw.writes() as session, session.begin():
        client = clients.find_client(session, ref)
        if body.credential == "api_key":
            rotation = clients.rotate_api_key(session, client, grace=grace)
        else:
            sealing_key = gw.settings.secret_key.get_secret_value()
            rotation = clients.rotate_vxp_secret(session, client, secret_key=sealing_key, grace=grace)
        log.record(session, "client_key_rotated", actor=caller.name, client=client.name, credential=body.credential,
                   grace_seconds=body.grace_seconds)
    gw.callers.clear()
    until = rotation.previous_valid_until
    return {
        "id": rotation.client_id,
        body.credential: rotation.credential,
        "previous_valid_until": None if until is None else until.isoformat(),
    }


@health.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    # async: answered from the event loop. A plain def would wait for a thread of the pool, which under load is
    # full of submits, and a liveness probe timing out there would get a live process restarted.
    return {"status": "ok"}


@health.get("/readyz", summary="The database, the object stores and the broker answer")
def readyz(gw: GatewayDep) -> JSONResponse:
    checks: dict[str, str] = {}
    probes = [("database", lambda: ping(gw.engine)), ("objects", gw.store.check)]
    # each archive copy by its position in EDOC_ARCHIVE_URLS: which store is down, without its address
    probes += [(f"archive-{n}", store.check) for n, store in enumerate(gw.archive_stores, 1)]
    # A broker bus (amqp://) has a broker to name when it is away; db:// has none (its queue is the database).
    # Named, but not a reason to take this API out of service: submissions go to the outbox and reach the broker
    # once it is back (docs/configuration.md "When a dependency is down").
    broker = getattr(gw.bus, "check", None)
    if broker is not None:
        probes.append(("broker", broker))
    for name, probe in probes:
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:
            # the failure's kind only: anyone may call /readyz, and the driver's text names hosts, ports and paths
            logger.warning("readiness: %s fails: %s", name, exc)
            checks[name] = f"fail: {getattr(exc, 'code', type(exc).__name__)}"
    ok = all(v == "ok" for k, v in checks.items() if k != "broker")
    status = ("ok" if checks.get("broker", "ok") == "ok" else "degraded") if ok else "fail"
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if ok else 503)
