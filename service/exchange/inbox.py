"""What a recipient sees: its inbox (oldest first, cursor-paginated), a package's record and bytes, and the
transport acknowledgement that takes an item out of the inbox and (for a document) sends status 01 back.

Visibility is service/access.py's (docs/roles.md): the sender's and the recipients' agencies see a package, an
auditor its record and proofs, and its content with a reason written to the exchange log (``content_read``); a
recipient sees its own delivery only, unless the sender chose ``share_statuses``. A recipient whose copy was
recalled or replaced (QĐ 28/2018, answer 15) can still read the record but no longer gets the document's bytes
(410 Gone), and the copy leaves its inbox (as it leaves VXP's getReceivedEdocList).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service import access
from service.access import Op, Reader
from service.context import Gateway
from service.exchange import log
from service.exchange.directory import Caller
from service.exchange.errors import Forbidden, Gone, Invalid, NotFound
from service.exchange.statuses import LABELS_VI, TAKEN_BACK
from storage.exchange import inbox as inbox_rows
from storage.models import (
    AttachmentRow,
    Delivery,
    Package,
    utcnow,
)

__all__ = [
    "InboxPage",
    "ack",
    "attachment_for",
    "attachment_of",
    "edxml_of",
    "inbox",
    "package_record",
    "resolve_agency",
]

RECALLED = TAKEN_BACK  # a copy in one of these recall states is no longer served


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def resolve_agency(caller: Caller, agency: str | None) -> str:
    """The agency the caller acts for in this request: the one given, or its only one."""
    if agency is None:
        if len(caller.agencies) != 1:
            raise Invalid("this client acts for several agencies: say which one with ?agency=", code="agency_required")
        return next(iter(caller.agencies))
    if not caller.may_act_for(agency):
        raise Forbidden(f"this client system does not act for agency {agency}", code="not_your_agency")
    return agency


def _encode_cursor(at: datetime, delivery_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), delivery_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, delivery_id = json.loads(raw)
        return datetime.fromisoformat(at), str(delivery_id)
    except (ValueError, TypeError) as exc:
        raise Invalid("the 'after' cursor is not one this API returned", code="invalid_cursor") from exc


def inbox(session: Session, caller: Caller, *, agency: str | None, after: str | None, limit: int) -> InboxPage:
    access.require(caller, Op.INBOX)
    code = resolve_agency(caller, agency)
    limit = max(1, min(limit, 500))
    rows = inbox_rows.page(session, code, limit=limit + 1, after=_decode_cursor(after) if after else None)
    more = len(rows) > limit
    rows = rows[:limit]
    attachments: dict[str, list[dict[str, Any]]] = {}
    documents = [r.id for r in rows if r.kind == "edoc"]
    for att in inbox_rows.attachments_of(session, documents):
        attachments.setdefault(att.package_id, []).append(_attachment_json(att))
    cursor = _encode_cursor(rows[-1].delivered_at, rows[-1].delivery_id) if more and rows[-1].delivered_at else None
    return InboxPage([_inbox_item(r, attachments.get(r.id, [])) for r in rows], cursor)


def _inbox_item(row: Any, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": row.id,
        "kind": row.kind,
        "from": row.from_code,
        "document_id": row.document_id,
        "received_at": row.delivered_at.isoformat() if row.delivered_at else None,
    }
    summary = row.summary or {}
    if row.kind == "edoc":
        item["subject"] = row.subject
        item["business_type"] = row.business_type
        item["attachments"] = attachments
    else:
        item["code"] = row.status_code
        item["label_vi"] = LABELS_VI.get(row.status_code or "")
        item["description"] = summary.get("description")
        item["response_for"] = row.response_for_id
    if summary.get("warnings"):
        item["warnings"] = summary["warnings"]
    if row.oddities:  # what the tolerant relay read past (service/exchange/submit.py), for the recipient to see
        item["oddities"] = row.oddities
    return item


def _get(session: Session, caller: Caller, package_id: str, op: Op) -> tuple[Package, Reader]:
    access.require(caller, op)  # a role refused anyway is refused before anything is looked up
    package = session.get(Package, package_id)
    if package is None:
        raise NotFound(f"no package {package_id}", code="unknown_package")
    reader = access.document_reader(caller, op, package.id, package.from_code, [d.to_code for d in package.deliveries])
    return package, reader


def _attachment_json(att: Any) -> dict[str, Any]:
    """An attachment (an AttachmentRow or a row of its columns) as the API shows it."""
    out = {
        "n": att.position,
        "name": att.name,
        "content_type": att.content_type,
        "size": att.size,
        "sha256": att.blob_sha256,
        "description": att.description,
    }
    if att.verification is not None:
        out["verification"] = att.verification
    return out


def package_record(session: Session, caller: Caller, package_id: str) -> dict[str, Any]:
    package, reader = _get(session, caller, package_id, Op.RECORD)
    history = inbox_rows.status_history(session, package.id)
    deliveries = list(package.deliveries)
    if not access.sees_every_delivery(reader, share_statuses=bool((package.summary or {}).get("share_statuses"))):
        deliveries = [d for d in deliveries if caller.may_act_for(d.to_code)]
        history = [entry for entry in history if caller.may_act_for(entry.agency_code)]
    return {
        "id": package.id,
        "kind": package.kind,
        "document_id": package.document_id,
        "from": package.from_code,
        "subject": package.subject,
        "business_type": package.business_type,
        "status_code": package.status_code,
        "response_for": package.response_for_id,
        "created_at": package.created_at.isoformat(),
        "size": package.size,
        "summary": package.summary,
        "xml_signature": package.signature,
        "oddities": package.oddities,
        "attachments": [_attachment_json(a) for a in package.attachments],
        "deliveries": [_delivery_json(d) for d in deliveries],
        "history": [
            {
                "agency": entry.agency_code,
                "code": entry.code,
                "label_vi": LABELS_VI.get(entry.code),
                "description": entry.description,
                "staff": entry.staff,
                "at": entry.created_at.isoformat(),
                "status_package": entry.status_package_id,
            }
            for entry in history
        ],
    }


def _delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "to": d.to_code,
        "state": d.state,
        "route": d.route,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "business_status": d.business_status,
        "recall_state": d.recall_state,
        "recall_kind": d.recall_kind,
        "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
        "acked_at": d.acked_at.isoformat() if d.acked_at else None,
    }


def _servable(caller: Caller, package: Package, reader: Reader) -> None:
    """Refuse the bytes of a recalled copy to the recipient it was recalled from."""
    if reader != "recipient":
        return
    mine = [d for d in package.deliveries if caller.may_act_for(d.to_code)]
    if mine and all(d.recall_state in RECALLED for d in mine):
        raise Gone(f"document {package.document_id} was recalled by its sender", code="document_recalled")


def log_content_read(gw: Gateway, caller: Caller, package_id: str, document_id: str, reason: str, what: str) -> None:
    """An auditor read a package's content: who, which, what and why, in the exchange log (docs/roles.md)."""
    with gw.writes() as session, session.begin():
        log.record(session, "content_read", package_id=package_id, document_id=document_id, actor=caller.name,
                   role=caller.role, reason=reason, what=what)


@dataclass(frozen=True, slots=True)
class BlobOf:
    """What serving a package's bytes needs: its id, blob and size."""

    id: str
    document_id: str
    blob_sha256: str
    size: int


def edxml_of(gw: Gateway, caller: Caller, package_id: str, *, reason: str | None = None) -> BlobOf:
    """The package's stored bytes (as this node sends it), if the caller may read them (service/access.py, and a
    recalled copy is not served to its recipient); an auditor's reading is logged with its ``reason``."""
    access.require(caller, Op.CONTENT)
    with gw.sessions() as session:
        rows = inbox_rows.package_bytes(session, package_id)
    blob, audited = _bytes_for(caller, package_id, rows, reason)
    if audited is not None:
        log_content_read(gw, caller, blob.id, blob.document_id, audited, "edxml")
    return blob


def _bytes_for(caller: Caller, package_id: str, rows: list[Any], reason: str | None) -> tuple[BlobOf, str | None]:
    """The blob to serve and, for an auditor, the reason to log."""
    if not rows:
        raise NotFound(f"no package {package_id}", code="unknown_package")
    pid, document_id, from_code, blob_sha256, size = rows[0][:5]
    deliveries = [(to_code, recall_state) for *_, to_code, recall_state in rows if to_code is not None]
    reader = access.document_reader(caller, Op.CONTENT, pid, from_code, [to_code for to_code, _ in deliveries])
    audited = access.require_reason(reader, reason)
    mine = [recall_state for to_code, recall_state in deliveries if caller.may_act_for(to_code)]
    if reader == "recipient" and all(recall_state in RECALLED for recall_state in mine):
        raise Gone(f"document {document_id} was recalled by its sender", code="document_recalled")
    return BlobOf(pid, document_id, blob_sha256, size), audited


def attachment_of(session: Session, caller: Caller, package_id: str, n: int, *, op: Op = Op.PROOF) -> AttachmentRow:
    """Attachment ``n``'s record, for ``op``: its proof (the verification report: no reason needed) by default."""
    package, reader = _get(session, caller, package_id, op)
    _servable(caller, package, reader)
    for att in package.attachments:
        if att.position == n:
            return att
    raise NotFound(f"package {package_id} has no attachment {n}", code="unknown_attachment")


def attachment_for(gw: Gateway, caller: Caller, package_id: str, n: int, *, reason: str | None) -> AttachmentRow:
    """Attachment ``n`` to serve its bytes (content: an auditor needs a ``reason``, logged)."""
    with gw.sessions() as session:
        package, reader = _get(session, caller, package_id, Op.CONTENT)
        audited = access.require_reason(reader, reason)
        att = attachment_of(session, caller, package_id, n, op=Op.CONTENT)
        document_id = package.document_id
    if audited is not None:
        log_content_read(gw, caller, package_id, document_id, audited, f"attachment {n}")
    return att


def ack(gw: Gateway, caller: Caller, package_id: str, *, agency: str | None) -> dict[str, Any]:
    """Transport acknowledgement: the item leaves the inbox; a document's sender is sent status 01 (via the bus).

    One conditional move (delivered → acked, for one of the caller's agencies) decides; a repeated ack answers
    ``already: true``. The automatic 01 is a bus message in the same transaction, so it cannot be lost
    (storage.exchange.inbox.Acks).
    """
    access.require(caller, Op.ACK)
    codes = [resolve_agency(caller, agency)] if agency else sorted(caller.agencies)
    outcome = gw.acks.ack(package_id, codes, actor=caller.name, now=utcnow())
    if outcome.to_code is None:
        raise NotFound(f"package {package_id} is not addressed to your agency", code="unknown_package")
    if outcome.state != "acked":
        raise Invalid(f"package {package_id} is not in the inbox ({outcome.state})", code="not_in_inbox")
    if outcome.moved:
        gw.wakeup.set()
    return {"id": package_id, "agency": outcome.to_code, "state": "acked", "already": not outcome.moved}
