"""Accepted submissions: the rows one accepted package adds (its package row, attachments and one delivery per
recipient), and the lookups a submit makes before it writes them (a replay of an accepted package, the document
a recall/update/replace refers to).

The outbox messages, the log event and the status effects of a submit are written by their own owners
(the bus port, the exchange log, ``service.exchange.status_effects``) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import ATTACHMENTS, DELIVERIES, PACKAGES, Package

__all__ = ["find_accepted", "find_original", "find_original_by_identity", "insert_submission", "is_accepted"]

_P = PACKAGES.c

# Every submit asks this once before the expensive work (and again if its INSERT loses a race), and almost always
# finds nothing: plain columns from a prebuilt statement. It matches the idempotency key or, for a new document,
# the DocumentId (both unique per sender; a NULL document_key matches nothing).
_ACCEPTED = sa.select(_P.id, _P.request_sha256, _P.content_sha256, _P.idempotency_key, _P.document_key).where(
    _P.from_code == sa.bindparam("from_code"),
    sa.or_(_P.idempotency_key == sa.bindparam("key"), _P.document_key == sa.bindparam("document_key")),
)


def find_accepted(
    session: Session, *, from_code: str, key: str, document_key: str | None
) -> list[tuple[Any, ...]]:
    """(id, request_sha256, content_sha256, idempotency_key, document_key) of the packages ``from_code`` had
    accepted under ``key`` or as ``document_key``."""
    params = {"from_code": from_code, "key": key, "document_key": document_key}
    return [tuple(row) for row in session.execute(_ACCEPTED, params)]


def is_accepted(session: Session, *, from_code: str, key: str) -> bool:
    """Whether ``from_code`` had a package accepted under the idempotency key ``key``."""
    return bool(find_accepted(session, from_code=from_code, key=key, document_key=None))


def find_original(session: Session, *, from_code: str, document_id: str) -> Package | None:
    """The new document (business type 0) ``from_code`` sent as ``document_id``."""
    query = sa.select(Package).where(
        Package.kind == "edoc", Package.business_type == 0, Package.from_code == from_code,
        Package.document_id == document_id,
    )
    return session.execute(query).scalar_one_or_none()


def find_original_by_identity(session: Session, *, from_code: str, date: str, code: str) -> Package | None:
    """The latest new document ``from_code`` sent with this promulgation date and số/ký hiệu (its header's
    identity, kept in ``summary`` when it was accepted)."""
    identity = Package.summary["identity"]
    query = sa.select(Package).where(
        Package.kind == "edoc", Package.business_type == 0, Package.from_code == from_code,
        identity["date"].as_string() == date, identity["code"].as_string() == code,
    ).order_by(Package.created_at.desc())
    return session.execute(query).scalars().first()


def insert_submission(
    session: Session,
    *,
    package: Mapping[str, Any],
    attachments: Sequence[Mapping[str, Any]],
    deliveries: Sequence[Mapping[str, Any]],
) -> None:
    """The rows of an accepted package, in dependency order (the package row first). Plain INSERTs, not the unit
    of work: the rows are new and this is the hot path of every submit. A package accepted meanwhile under the same
    idempotency key or DocumentId makes it fail with ``IntegrityError``."""
    session.execute(sa.insert(PACKAGES), dict(package))
    if attachments:
        session.execute(sa.insert(ATTACHMENTS), [dict(row) for row in attachments])
    if deliveries:
        session.execute(sa.insert(DELIVERIES), [dict(row) for row in deliveries])
