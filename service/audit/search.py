"""The auditor search use case (issue 21 item 6): request parameters → a checked :class:`EventSearch` in the
caller's scope, opaque cursors, the JSON shape of an event, and the streamed exports.

Shared by ``GET /api/v1/events`` (service/api/events.py) and the auditors' search page (service/web/auditor/), so
both refuse the same bad parameters with the same stable codes (problem+json through service/errors.py):
``invalid_status_code``, ``invalid_agency_code``, ``invalid_sort``, ``invalid_cursor``, ``invalid_text``,
``invalid_period``, ``naive_datetime``, ``invalid_format``; a party asking for another agency's events gets 403
``wrong_role`` as before.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from service.access import MATRIX, Op, require
from service.audit.exports import csv_chunks, jsonl_chunks
from service.exchange.directory import Caller
from service.exchange.errors import Forbidden, Invalid
from storage.events import EventRow, EventSearch, Keyset, Sort, iter_events

__all__ = [
    "CSV_COLUMNS",
    "STATUS_CODES",
    "SearchRequest",
    "check_agency",
    "decode_cursor",
    "encode_cursor",
    "event_json",
    "export_chunks",
    "next_cursor",
    "scope_of",
    "to_search",
]

#: The status codes of STANDARDS.md §3 (codes 07-12 and 14 were never seen).
STATUS_CODES = frozenset({"01", "02", "03", "04", "05", "06", "13", "15", "16"})
_AGENCY = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
_KIND = re.compile(r"^[a-z_]{1,32}$")
TEXT_MAX = 200
SORTS: dict[str, Sort] = {"at": "asc", "+at": "asc", "-at": "desc", "asc": "asc", "desc": "desc"}
CSV_COLUMNS = ("id", "at", "kind", "status_code", "package_id", "document_id", "agency", "actor", "subject", "detail")


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """The raw filters of a request (strings as typed; datetimes already parsed)."""

    agency: str | None = None
    sender: str | None = None
    recipient: str | None = None
    document_id: str | None = None
    package_id: str | None = None
    kind: str | None = None
    status: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: str | None = None
    cursor: str | None = None
    after_id: int | None = None


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def check_agency(name: str, value: str | None) -> str | None:
    value = _blank(value)
    if value is not None and not _AGENCY.match(value):
        raise Invalid(f"{name}: {value!r} is not an agency code (NNN.NN.NN.LNN)", code="invalid_agency_code")
    return value


def _status(value: str | None) -> str | None:
    value = _blank(value)
    if value is not None and value not in STATUS_CODES:
        raise Invalid(f"status: {value!r} is not one of {', '.join(sorted(STATUS_CODES))}",
                      code="invalid_status_code")
    return value


def _period(since: datetime | None, until: datetime | None) -> None:
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise Invalid("since/until need a time zone (e.g. 2026-11-25T08:00:00+07:00)", code="naive_datetime")
    if since is not None and until is not None and since >= until:
        raise Invalid("the period is empty: since must come before until", code="invalid_period")


def _text(value: str | None) -> str | None:
    value = _blank(value)
    if value is not None and len(value) > TEXT_MAX:
        raise Invalid(f"q: at most {TEXT_MAX} characters", code="invalid_text")
    return value


def _sort(value: str | None) -> Sort:
    key = _blank(value) or "at"
    if key not in SORTS:
        raise Invalid("sort: 'at' (oldest first) or '-at' (newest first)", code="invalid_sort")
    return SORTS[key]


def scope_of(caller: Caller, agency: str | None) -> str | None:
    """The agency a party's search is confined to (the rule of docs/roles.md: its own agencies' events)."""
    if caller.role in MATRIX[Op.EVENTS_ALL]:
        return agency
    require(caller, Op.EVENTS)
    if agency is None and len(caller.agencies) == 1:
        agency = next(iter(caller.agencies))
    if agency is None or not caller.may_act_for(agency):
        raise Forbidden("only auditors see every agency's events; name one of yours with ?agency=", code="wrong_role")
    return agency


def to_search(caller: Caller, req: SearchRequest) -> EventSearch:
    """The checked search of ``req`` in ``caller``'s scope."""
    _period(req.since, req.until)
    kind = _blank(req.kind)
    if kind is not None and not _KIND.match(kind):
        raise Invalid("kind: lower-case letters and '_' (e.g. submitted, delivered, status)", code="invalid_kind")
    sort = _sort(req.sort)
    return EventSearch(
        agency=scope_of(caller, check_agency("agency", req.agency)),
        sender=check_agency("sender", req.sender),
        recipient=check_agency("recipient", req.recipient),
        document_id=_blank(req.document_id),
        package_id=_blank(req.package_id),
        kind=kind,
        status_code=_status(req.status),
        text=_text(req.q),
        since=req.since,
        until=req.until,
        after_id=req.after_id,
        sort=sort,
        after=decode_cursor(req.cursor, sort) if _blank(req.cursor) else None,
    )


def encode_cursor(row: EventRow, sort: Sort) -> str:
    raw = json.dumps({"at": row.at.isoformat(), "id": row.id, "s": sort}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, sort: Sort) -> Keyset:
    """The keyset of a cursor from :func:`encode_cursor`, refused if it is damaged or was made for another sort."""
    text = (cursor or "").strip()
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        keyset = Keyset(at=datetime.fromisoformat(data["at"]), id=int(data["id"]))
        same_sort = data["s"] == sort
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise Invalid("cursor: not a cursor this API returned", code="invalid_cursor") from exc
    if not same_sort or keyset.at.tzinfo is None:
        raise Invalid("cursor: it belongs to a search with another sort", code="invalid_cursor")
    return keyset


def next_cursor(rows: list[EventRow], limit: int, sort: Sort) -> str | None:
    return encode_cursor(rows[-1], sort) if rows and len(rows) == limit else None


def event_json(e: EventRow) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "kind": e.kind,
        "status_code": e.status_code,
        "package_id": e.package_id,
        "document_id": e.document_id,
        "agency": e.agency,
        "actor": e.actor,
        "subject": e.subject,
        "detail": e.detail,
    }


def _csv_row(e: EventRow) -> tuple[Any, ...]:
    return (e.id, e.at.isoformat(), e.kind, e.status_code, e.package_id, e.document_id, e.agency, e.actor,
            e.subject, e.detail or None)


def export_chunks(engine: Engine, flt: EventSearch, fmt: str) -> Iterator[bytes]:
    """The whole result of ``flt`` (no cursor, no page limit) as CSV or JSON Lines chunks."""
    rows = iter_events(engine, flt)
    if fmt == "csv":
        return csv_chunks(CSV_COLUMNS, (_csv_row(e) for e in rows))
    return jsonl_chunks(event_json(e) for e in rows)
