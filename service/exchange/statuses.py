"""Business statuses (01…06, 02; 13/15/16 for recall, update and replace) and their legal order.

Rules (STANDARDS.md §3, QĐ 28/2018, NĐ 30/2020 Điều 21):
- a recipient reports only about a document it has received: 01 đã đến, then 03 đã tiếp nhận, 04 phân công,
  05 đang xử lý, 06 hoàn thành, in that order (steps may be skipped, 04/05 repeated); 02 từ chối only before 03;
- the sender sees 01 before any later status of a recipient: a first status other than 01 (03 sent before the
  worker's automatic 01, a VXP system that skips 01, an answer to a recall) is preceded by an automatic 01,
  recorded in the same transaction (service/exchange/status_effects.py, which applies a status package's effects,
  and service/exchange/auto_status.py, ``send_arrival_first``);
- nothing follows 06 or 02 except an answer to a recall;
- 13 (yêu cầu lấy lại) comes from the document's sender, or is implied by a recall/update/replace package
  (BussinessDocType 1/2/3); the recipient answers 15 (đồng ý) or 16 (từ chối), and only to a pending request.
  On 15 the recipient's copy is marked recalled (or updated/replaced) and no longer served as valid.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from schemas.edxml import ResponseFor, StaffInfo
from service.exchange.errors import Invalid, NotFound
from storage.models import Delivery, Package

__all__ = [
    "ACCEPTED",
    "LABELS_VI",
    "TAKEN_BACK",
    "check_transition",
    "find_original",
    "staff_json",
    "unknown_document",
]

LABELS_VI = {
    "01": "Đã đến",
    "02": "Từ chối tiếp nhận",
    "03": "Đã tiếp nhận",
    "04": "Phân công",
    "05": "Đang xử lý",
    "06": "Hoàn thành",
    "13": "Yêu cầu lấy lại",
    "15": "Đồng ý lấy lại/cập nhật",
    "16": "Từ chối lấy lại/cập nhật",
}
_NEXT: dict[str | None, set[str]] = {
    None: {"01", "02", "03"},
    "01": {"02", "03"},
    "03": {"04", "05", "06"},
    "04": {"04", "05", "06"},
    "05": {"05", "06"},
    "02": set(),
    "06": set(),
}
#: What an accepted recall (15) makes of the recipient's copy, by the kind of request (service/exchange/
#: status_effects.py applies it).
ACCEPTED = {"recall": "recalled", "update": "updated", "replace": "replaced"}
#: Recall states of a copy taken back for good: no longer served, listed or answered (an updated copy stays).
TAKEN_BACK = ("recalled", "replaced")


def find_original(session: Session, rf: ResponseFor | None) -> Package:
    """The document a status package answers, by ResponseFor/DocumentId (and OrganId when given)."""
    if rf is None or not rf.document_id:
        raise Invalid("the status package has no ResponseFor/DocumentId", code="status_without_document")
    document_id = str(rf.document_id)
    sender = rf.organ_id or document_id.split(",", 1)[0]
    row = session.execute(
        sa.select(Package)
        .where(Package.kind == "edoc", Package.business_type == 0, Package.document_id == document_id)
        .where(Package.from_code == sender)
    ).scalar_one_or_none()
    if row is None:
        raise unknown_document(document_id, sender)
    return row


def unknown_document(document_id: str, sender: str) -> NotFound:
    """The one answer to a status about a document that does not exist *or* that the status's author neither
    sent nor received (issue 17, item 7): the same code and words, so neither tells the other apart."""
    message = f"no document {document_id} from {sender} passed through this gateway to you"
    return NotFound(message, code="unknown_document")


def check_transition(delivery: Delivery, code: str) -> None:
    if code not in LABELS_VI or code == "13":
        raise Invalid(f"status {code} cannot be sent by a recipient", code="invalid_status_code")
    if delivery.state not in ("delivered", "acked"):
        raise Invalid(
            f"the document has not reached {delivery.to_code} yet (delivery {delivery.state})", code="not_delivered"
        )
    if code in ("15", "16"):
        if delivery.recall_state != "requested":
            raise Invalid(
                "15/16 answer a pending recall/update request (13), and there is none", code="no_pending_recall"
            )
        return
    if delivery.recall_state in ACCEPTED.values():
        raise Invalid("the document was taken back; no further status may be sent", code="document_recalled")
    current = delivery.business_status
    if code not in _NEXT.get(current, set()):
        now = f"{current} {LABELS_VI[current]}" if current else "none"
        raise Invalid(
            f"status {code} ({LABELS_VI[code]}) cannot follow the current status ({now})",
            code="status_transition",
            current=current,
        )


def staff_json(staff: StaffInfo | None) -> dict[str, Any] | None:
    if staff is None:
        return None
    return {"department": staff.department, "staff": staff.staff, "email": staff.email, "mobile": staff.mobile}
