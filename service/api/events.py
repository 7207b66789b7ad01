"""The exchange log for auditors: ``GET /api/v1/events`` (search, pages, streamed CSV / JSON Lines export) and
``GET /api/v1/stats`` (statistics per agency and period, JSON or CSV). Thin routes over service/audit/."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from service.api.deps import CallerDep, GatewayDep
from service.audit import search as audit_search
from service.audit import stats as audit_stats
from service.audit.exports import MEDIA_TYPES
from service.exchange.errors import Invalid
from storage.events import MAX_PAGE, search_events

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["audit"])

_ACCEPT = {"text/csv": "csv", "application/jsonl": "jsonl", "application/x-ndjson": "jsonl",
           "application/json": "json"}


def negotiate(request: Request, fmt: str | None) -> str:
    """``?format=json|csv|jsonl`` wins; else the first Accept type we know; else JSON."""
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in ("json", "csv", "jsonl"):
            raise Invalid("format: json, csv or jsonl", code="invalid_format")
        return fmt
    for part in request.headers.get("accept", "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in _ACCEPT:
            return _ACCEPT[media]
    return "json"


def attachment(name: str, fmt: str) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return {"Content-Disposition": f'attachment; filename="{name}-{stamp}.{fmt}"', "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"}


@router.get("/events", summary="The exchange log: search, pages, CSV / JSON Lines export")
def events(
    request: Request,
    gw: GatewayDep,
    caller: CallerDep,
    agency: Annotated[str | None, Query(description="events in which this agency acted")] = None,
    sender: Annotated[str | None, Query(description="events of documents this agency sent")] = None,
    recipient: Annotated[str | None, Query(description="events of documents addressed to this agency")] = None,
    document_id: str | None = None,
    package_id: str | None = None,
    kind: Annotated[str | None, Query(description="submitted, delivered, acked, status, dead, …")] = None,
    status: Annotated[str | None, Query(description="status code 01…06, 13, 15, 16")] = None,
    q: Annotated[str | None, Query(description="text in the subject (trích yếu) or số/ký hiệu")] = None,
    since: Annotated[datetime | None, Query(description="from (inclusive), with a time zone")] = None,
    until: Annotated[datetime | None, Query(description="to (exclusive), with a time zone")] = None,
    sort: Annotated[str | None, Query(description="'at' oldest first (default) or '-at' newest first")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    after_id: Annotated[int | None, Query(description="events after this id (older cursor)")] = None,
    limit: int = Query(100, ge=1, le=MAX_PAGE),
    format: Annotated[str | None, Query(description="json (a page), csv or jsonl (every matching event)")] = None,
) -> Any:
    req = audit_search.SearchRequest(
        agency=agency, sender=sender, recipient=recipient, document_id=document_id, package_id=package_id,
        kind=kind, status=status, q=q, since=since, until=until, sort=sort, cursor=cursor, after_id=after_id,
    )
    flt = audit_search.to_search(caller, req)
    fmt = negotiate(request, format)
    if fmt != "json":
        chunks = audit_search.export_chunks(gw.engine, flt, fmt)
        return StreamingResponse(chunks, media_type=MEDIA_TYPES[fmt], headers=attachment("edoc-events", fmt))
    with gw.sessions() as session:
        rows = list(search_events(session, flt, limit=limit))
    items = [audit_search.event_json(e) for e in rows]
    return {
        "items": items,
        "next_cursor": audit_search.next_cursor(rows, limit, flt.sort),
        "next_after_id": items[-1]["id"] if len(items) == limit and flt.sort == "asc" else None,
    }


@router.get("/stats", summary="Documents sent, received, acked, processed, rejected, recalled, overdue per agency "
            "and period; median time to 01 and 06")
def stats(
    request: Request,
    gw: GatewayDep,
    caller: CallerDep,
    agency: str | None = None,
    from_: Annotated[date | None, Query(alias="from", description="first day (Vietnam time), inclusive")] = None,
    to: Annotated[date | None, Query(description="last day (Vietnam time), inclusive")] = None,
    group: Annotated[str, Query(description="day, month or quarter")] = "month",
    format: Annotated[str | None, Query(description="json or csv")] = None,
) -> Any:
    query = audit_stats.to_query(caller, agency=agency, first=from_, last=to, group=group)
    fmt = negotiate(request, format)
    if fmt == "jsonl":
        raise Invalid("format: json or csv", code="invalid_format")
    with gw.sessions() as session:
        table = audit_stats.compute(session, query)
    if fmt == "csv":
        return StreamingResponse(audit_stats.csv_chunks_of(table), media_type=MEDIA_TYPES["csv"],
                                 headers=attachment("edoc-stats", "csv"))
    return audit_stats.table_json(query, table)
