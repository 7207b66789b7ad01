"""The transparency log over HTTP (issue 21, docs/evidence.md): read-only and cacheable.

C2SP tlog-tiles resources under the prefix ``/tlog`` (the log's *prefix* is ``<node URL>/tlog``):
``GET /tlog/checkpoint`` (mutable: ``max-age=1``), ``GET /tlog/tile/<L>/<N>[.p/<W>]`` and
``GET /tlog/tile/entries/<N>[.p/<W>]`` (immutable; a partial tile never changes either, a bigger tree only adds
another path). They need no key: the log is public to whoever can reach the node, like the verification page.
``GET /api/v1/edocs/{id}/evidence``: a document's evidence bundle (service/exchange/evidence.py) for whoever may
read its record (sender, recipients, auditors; an auditor gives ``?reason=`` to include the package bytes).
Proofs, for auditors: ``GET /api/v1/log/proof/inclusion?index=&size=`` and
``GET /api/v1/log/proof/consistency?old=&new=`` answer JSON with base64 hashes; ``GET /api/v1/log/key`` the log's
verifier key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from service.access import Op, require
from service.api.deps import CallerDep, GatewayDep
from service.exchange.errors import NotFound
from service.exchange.evidence import build_bundle
from service.exchange.tlog import b64_lines, log_service

__all__ = ["api", "evidence", "tiles"]

tiles = APIRouter(prefix="/tlog", tags=["transparency log"])
evidence = APIRouter(prefix="/api/v1/edocs", tags=["transparency log"])
api = APIRouter(prefix="/api/v1/log", tags=["transparency log"])

IMMUTABLE = "public, max-age=31536000, immutable"


@tiles.get("/checkpoint", summary="The latest signed checkpoint (C2SP tlog-checkpoint)")
def checkpoint(gw: GatewayDep) -> Response:
    note = log_service(gw).checkpoint()
    if note is None:
        raise NotFound("the log has no checkpoint yet", code="no_checkpoint")
    return Response(note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "public, max-age=1"})


@tiles.get("/tile/{path:path}", summary="A tile or entry bundle (C2SP tlog-tiles)")
def tile(gw: GatewayDep, path: str) -> Response:
    data = log_service(gw).tile(f"tile/{path}")
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE})


@api.get("/key", summary="The log's origin and verifier key (C2SP signed-note vkey)")
def key(gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:  # any client system (the API needs a key)
    service = log_service(gw)
    return {"origin": service.origin, "vkey": service.verifier.vkey}


@api.get("/proof/inclusion", summary="Inclusion proof of a leaf in a tree size (RFC 9162 §2.1.3)")
def inclusion(
    gw: GatewayDep, caller: CallerDep, index: int = Query(..., ge=0), size: int = Query(..., ge=1)
) -> dict[str, Any]:
    require(caller, Op.EVENTS_ALL)
    return {"index": index, "size": size, "proof": b64_lines(log_service(gw).inclusion(index, size))}


@api.get("/proof/consistency", summary="Consistency proof between two tree sizes (RFC 9162 §2.1.4)")
def consistency(
    gw: GatewayDep, caller: CallerDep, old: int = Query(..., ge=0), new: int = Query(..., ge=1)
) -> dict[str, Any]:
    require(caller, Op.EVENTS_ALL)
    return {"old": old, "new": new, "proof": b64_lines(log_service(gw).consistency(old, new))}


@evidence.get("/{package_id}/evidence", summary="Evidence bundle of a document (zip, checked offline)")
def evidence_bundle(
    package_id: str,
    gw: GatewayDep,
    caller: CallerDep,
    reason: str | None = Query(None, description="auditors: why they read the content (written to the log)"),
) -> StreamingResponse:
    data = build_bundle(gw, caller, package_id, reason=reason)
    chunks = (data[i:i + 65536] for i in range(0, len(data), 65536))
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="evidence-{package_id}.zip"',
                 "Cache-Control": "no-store"},
    )
