"""The recipients' side of the exchange: an agency's inbox (its deliveries in state ``delivered``, oldest first),
what serving a package's bytes needs, a package's status history, and the transport acknowledgement's two
statements (lock the caller's delivery, move it to ``acked``).

The inbox is the most polled query of a busy node (every DMS lists it every few seconds), so it reads plain
columns from prebuilt statements, not ORM objects: one query for the page, one for the attachments of its
documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import ATTACHMENTS, DELIVERIES, PACKAGES, StatusEntry

__all__ = [
    "RECALLED",
    "attachments_of",
    "lock_for_ack",
    "mark_acked",
    "package_bytes",
    "page",
    "status_history",
]

#: Recall states (QĐ 28/2018, answer 15) whose copy is no longer in the inbox nor served to its recipient.
RECALLED = ("recalled", "replaced")

_P, _D, _A = PACKAGES.c, DELIVERIES.c, ATTACHMENTS.c
_PAGE = (
    sa.select(
        _D.id.label("delivery_id"),
        _D.delivered_at,
        _P.id,
        _P.kind,
        _P.from_code,
        _P.document_id,
        _P.subject,
        _P.business_type,
        _P.status_code,
        _P.response_for_id,
        _P.summary,
        _P.oddities,
    )
    .select_from(DELIVERIES.join(PACKAGES, _P.id == _D.package_id))
    .where(_D.to_code == sa.bindparam("code"), _D.state == "delivered")
    .where(sa.func.coalesce(_D.recall_state, "").not_in(RECALLED))  # taken back (answer 15): no longer waiting
    .order_by(_D.delivered_at, _D.id)
    .limit(sa.bindparam("limit"))
)
_PAGE_AFTER = _PAGE.where(
    sa.or_(
        _D.delivered_at > sa.bindparam("at"),
        sa.and_(_D.delivered_at == sa.bindparam("at"), _D.id > sa.bindparam("after_id")),
    )
)
_ATTACHMENTS = (
    sa.select(_A.package_id, _A.position, _A.name, _A.content_type, _A.size, _A.blob_sha256, _A.description,
              _A.verification)
    .where(_A.package_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_A.package_id, _A.position)
)


def page(session: Session, code: str, *, limit: int, after: tuple[datetime, str] | None = None) -> list[Any]:
    """Up to ``limit`` rows of agency ``code``'s inbox, after the (delivered_at, delivery id) cursor ``after``."""
    params: dict[str, Any] = {"code": code, "limit": limit}
    if after is None:
        return list(session.execute(_PAGE, params).all())
    params["at"], params["after_id"] = after
    return list(session.execute(_PAGE_AFTER, params).all())


def attachments_of(session: Session, package_ids: Sequence[str]) -> list[Any]:
    """The attachment rows of these packages, by package and position."""
    return list(session.execute(_ATTACHMENTS, {"ids": list(package_ids)}).all()) if package_ids else []


def status_history(session: Session, package_id: str) -> list[StatusEntry]:
    """The status entries about a package, oldest first."""
    query = sa.select(StatusEntry).where(StatusEntry.package_id == package_id).order_by(StatusEntry.id)
    return list(session.execute(query).scalars())


# Serving a package's bytes is every recipient's second request for every document: the package and its
# deliveries' addressees and recall states, one row per delivery (one row with NULLs for a package without any).
_BYTES = (
    sa.select(_P.id, _P.document_id, _P.from_code, _P.blob_sha256, _P.size, _D.to_code, _D.recall_state)
    .select_from(PACKAGES.outerjoin(DELIVERIES, _D.package_id == _P.id))
    .where(_P.id == sa.bindparam("package_id"))
)


def package_bytes(session: Session, package_id: str) -> list[tuple[Any, ...]]:
    """(id, document_id, from_code, blob_sha256, size, to_code, recall_state) per delivery; [] if no package."""
    return [tuple(row) for row in session.execute(_BYTES, {"package_id": package_id})]


# The caller's delivery of the package (one in the inbox first), locked until the transaction ends.
_ACK_ROW = (
    sa.select(_D.id, _D.to_code, _D.state, _D.business_status, _P.kind, _P.business_type, _P.document_id)
    .select_from(DELIVERIES.join(PACKAGES, _P.id == _D.package_id))
    .where(_D.package_id == sa.bindparam("package_id"), _D.to_code.in_(sa.bindparam("codes", expanding=True)))
    .order_by(_D.state != "delivered", _D.to_code)
    .limit(1)
    .with_for_update(of=DELIVERIES)
)
_ACK = (
    sa.update(DELIVERIES)
    .where(_D.id == sa.bindparam("delivery_id"))
    .values(state="acked", acked_at=sa.bindparam("now"), updated_at=sa.bindparam("now"))
)


def lock_for_ack(session: Session, package_id: str, codes: Sequence[str]) -> Any | None:
    """The delivery of ``package_id`` to one of ``codes`` (one still in the inbox first), row-locked; None if the
    package is addressed to none of them."""
    return session.execute(_ACK_ROW, {"package_id": package_id, "codes": list(codes)}).first()


def mark_acked(session: Session, delivery_id: str, now: datetime) -> None:
    session.execute(_ACK, {"delivery_id": delivery_id, "now": now})
