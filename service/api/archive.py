"""``GET /api/v1/edocs/{id}/archive``: where a document's AIP is, its copies and their last fixity check (issue 20
item 6, the access part). Whoever may read the document's record may read this (the same access check)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service.api.deps import CallerDep, GatewayDep
from service.exchange import inbox
from service.exchange.errors import NotFound
from storage import archive as repo

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["archive"])


@router.get("/edocs/{package_id}/archive", summary="The document's archival package: copies, retention, fixity")
def get_archive(package_id: str, gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    with gw.sessions() as session:
        inbox.package_record(session, caller, package_id)  # the caller may see this document, or 403/404
        aip = repo.aip_of_package(session, package_id)
        if aip is None:
            raise NotFound(f"document {package_id} is not archived yet (its exchange is not complete)",
                           code="not_archived")
        copies = repo.copies_of(session, aip.id)
        checks = repo.fixity_checks(session, aip.id)
    last = {c["store_url"]: c for c in checks}
    return {
        "package_id": package_id,
        "aip": aip.id,
        "state": aip.state,
        "complete": aip.complete,
        "retention": aip.retention,
        "retain_until": aip.retain_until,
        "permanent": aip.permanent,
        "manifest_sha256": aip.manifest_sha256,
        "created_at": aip.created_at,
        "archived_at": aip.archived_at,
        "copies": [
            {
                "store": c.store_url,
                "state": c.state,
                "files": len(c.files),
                "bytes": sum(int(e["size"]) for e in c.files.values()),
                "checked_at": c.checked_at,
                "last_fixity": (
                    {"at": last[c.store_url]["at"], "outcome": last[c.store_url]["outcome"],
                     "problems": len(last[c.store_url]["problems"])}
                    if c.store_url in last else None
                ),
            }
            for c in copies
        ],
    }
