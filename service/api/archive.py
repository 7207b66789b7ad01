"""The archive over HTTP (issue 20 item 6).

- ``GET /api/v1/edocs/{id}/archive``: where a document's AIP is, its copies and their last fixity check; whoever
  may read the document's record may read this (the same access check).
- ``POST /api/v1/archive/export``: a transfer zip or a DIP (service/archive/export.py) for auditors and admins,
  with a reason that is written to the exchange log as a ``content_read`` event per document exported.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from service import access
from service.access import Op
from service.api.deps import CallerDep, GatewayDep
from service.archive.errors import ArchiveError
from service.archive.export import export_dip, export_transfer, select_aips
from service.exchange import inbox
from service.exchange.errors import NotFound
from storage import archive as repo
from storage.errors import StorageError

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


class ExportIn(BaseModel):
    ids: list[str] = Field(default_factory=list, max_length=1000, description="AIP ids (urn:uuid:…) or package ids")
    agency: str | None = Field(None, description="with year: every document this agency sent that year")
    year: int | None = Field(None, ge=1945, le=2200)
    dip: bool = Field(False, description="a DIP (documents and metadata XML in order) instead of a transfer")
    reason: str = Field(description="why, written to the exchange log (10-500 characters)")


@router.post("/archive/export", summary="Archived documents as a zip: a transfer (the AIPs) or a DIP",
             response_class=FileResponse)
def post_export(body: ExportIn, gw: GatewayDep, caller: CallerDep) -> FileResponse:
    access.require(caller, Op.EVENTS_ALL)  # auditors and admins: they read across agencies
    reason = access.require_reason("auditor", body.reason)
    assert reason is not None
    if (body.agency is None) != (body.year is None) or not (body.ids or body.agency):
        raise NotFound("name the documents (ids) or an agency and a year", code="aip_not_found")
    try:
        aips = select_aips(gw, ids=body.ids, agency=body.agency, year=body.year)
    except ArchiveError as exc:
        raise NotFound(str(exc), code=exc.code) from None
    fd, name = tempfile.mkstemp(suffix=".zip", prefix="edoc-export-")
    path = Path(name)
    try:
        with open(fd, "wb"):
            pass
        if body.dip:
            export_dip(gw, aips, path)
        else:
            export_transfer(gw, aips, path, agency=body.agency, year=body.year, ids=body.ids or ())
    except ArchiveError as exc:
        path.unlink(missing_ok=True)
        raise StorageError(str(exc), code="archive_damaged") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    for aip in aips:
        inbox.log_content_read(gw, caller, aip.package_id, aip.document_id, reason,
                               "archive DIP" if body.dip else "archive transfer")
    filename = f"{'dip' if body.dip else 'transfer'}-{len(aips)}.zip"
    return FileResponse(path, media_type="application/zip", filename=filename,
                        background=BackgroundTask(path.unlink, missing_ok=True))
