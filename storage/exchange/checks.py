"""Checks of attachments' PDF signatures (service/signatures.py, the ``verify_attachment`` topic): which
attachments a batch of checks is about, and their summaries written back with one event each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import ATTACHMENTS, PACKAGES

__all__ = ["attachments_to_check", "owners_of", "record_summaries"]

_A, _P = ATTACHMENTS.c, PACKAGES.c
_SUMMARY = (
    sa.update(ATTACHMENTS)
    .where(_A.package_id == sa.bindparam("k_package"), _A.position == sa.bindparam("k_position"))
    .values(verification=sa.bindparam("k_summary"))
)


def attachments_to_check(session: Session, package_ids: Iterable[str]) -> dict[tuple[str, int], Any]:
    """(package id, position) -> row with ``verification``, ``blob_sha256`` and ``size``, for these packages."""
    ids = list(set(package_ids))
    if not ids:
        return {}
    query = sa.select(_A.package_id, _A.position, _A.verification, _A.blob_sha256, _A.size).where(
        _A.package_id.in_(ids)
    )
    return {(row.package_id, row.position): row for row in session.execute(query)}


def owners_of(session: Session, package_ids: Iterable[str]) -> dict[tuple[str, int], Any]:
    """(package id, position) -> row with the package's ``document_id`` and ``from_code``, for the attachments of
    these packages (what an ``attachment_verified`` event names)."""
    ids = list(set(package_ids))
    if not ids:
        return {}
    query = (
        sa.select(_A.package_id, _A.position, _P.document_id, _P.from_code)
        .select_from(ATTACHMENTS.join(PACKAGES, _P.id == _A.package_id))
        .where(_A.package_id.in_(ids))
    )
    return {(row.package_id, row.position): row for row in session.execute(query)}


def record_summaries(session: Session, summaries: Sequence[tuple[tuple[str, int], dict[str, Any]]]) -> None:
    """Write each attachment's verification summary: ``((package id, position), summary)`` pairs."""
    if summaries:
        session.execute(
            _SUMMARY, [{"k_package": key[0], "k_position": key[1], "k_summary": summary} for key, summary in summaries]
        )
