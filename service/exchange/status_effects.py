"""The effects of a just-inserted status or recall package on the original document (QĐ 28/2018, NĐ 30/2020
Điều 21; the rules themselves are in service/exchange/statuses.py).

A recipient's first status other than 01 is preceded by an automatic 01 in the same transaction, so this module
builds on both the status rules and the automatic statuses (service/exchange/auto_status.py, which itself uses
the status rules): it sits above them, which keeps the imports one way (issue 19, item 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.exchange import log
from service.exchange.auto_status import send_arrival_first
from service.exchange.errors import NotFound
from service.exchange.statuses import ACCEPTED, LABELS_VI, check_transition
from storage.models import Delivery, Package, StatusEntry

if TYPE_CHECKING:
    from service.context import Gateway

__all__ = ["apply_effects"]


def apply_effects(
    session: Session,
    *,
    plan_kind: str,
    package: Package,
    recipients: list[str],
    recall_kind: str | None,
    actor: str,
    gw: Gateway,
) -> None:
    """Update the original document's deliveries and status history for a just-inserted package.

    A recipient's first status other than 01 is preceded by its 01 (``gw`` signs it; see
    :func:`service.exchange.auto_status.send_arrival_first`): the sender sees 01 before any later status."""
    if package.response_for_id is None:
        return
    original = session.get(Package, package.response_for_id)
    if original is None:
        raise NotFound("the original document vanished")
    targets = set(recipients) if plan_kind == "edoc" else set()
    code = package.status_code
    if plan_kind == "edoc" or code == "13":
        kind = recall_kind or "recall"
        for delivery in original.deliveries:
            if plan_kind == "status" or delivery.to_code in targets:
                _request_recall(session, original, delivery, kind, package, actor)
        return
    assert code is not None
    delivery = session.execute(
        sa.select(Delivery)
        .where(Delivery.package_id == original.id, Delivery.to_code == package.from_code)
        .with_for_update()
    ).scalar_one()
    check_transition(delivery, code)  # again, under the row lock: a concurrent status may have moved it
    if delivery.business_status is None and code != "01":
        _arrival_first(gw, session, original, delivery, package, actor)
    if code in ("15", "16"):
        kind = delivery.recall_kind or "recall"
        delivery.recall_state = ACCEPTED[kind] if code == "15" else "refused"
    else:
        delivery.business_status = code
    _entry(session, original, delivery.to_code, code, package, actor)


def _arrival_first(
    gw: Gateway, session: Session, original: Package, delivery: Delivery, package: Package, actor: str
) -> None:
    """The 01 (đã đến) the recipient's status implies, recorded before that status (QĐ 28/2018: 01 first)."""
    recorded = send_arrival_first(
        gw, session, original=original, delivery_id=delivery.id, agency_code=delivery.to_code, actor=actor,
        before=package.id,
    )
    if recorded:
        delivery.business_status = "01"  # as the conditional UPDATE just wrote it


def _request_recall(
    session: Session, original: Package, delivery: Delivery, kind: str, package: Package, actor: str
) -> None:
    delivery.recall_state = "requested"
    delivery.recall_kind = kind
    _entry(session, original, delivery.to_code, "13", package, actor, note=kind)


def _entry(
    session: Session, original: Package, agency: str, code: str, package: Package, actor: str, note: str | None = None
) -> None:
    summary = package.summary or {}
    session.add(
        StatusEntry(
            package_id=original.id,
            agency_code=agency,
            code=code,
            description=summary.get("description") or note,
            staff=summary.get("staff"),
            status_package_id=package.id,
        )
    )
    log.record(
        session,
        "status",
        package_id=original.id,
        document_id=original.document_id,
        agency=agency,
        actor=actor,
        status_code=code,
        label=LABELS_VI.get(code),
        via_package=package.id,
        kind=note,
    )
