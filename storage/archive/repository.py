"""SQL of the archive: which documents are ready, the AIP rows, their copies and fixity checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import AIP_COPIES, AIPS, ATTACHMENTS, DELIVERIES, EVENTS, FIXITY_CHECKS, PACKAGES, STATUS_ENTRIES

__all__ = [
    "AipRow",
    "Candidate",
    "CopyRow",
    "DocumentRecord",
    "add_files",
    "aip_ids",
    "aip_of_package",
    "aips_of_agency_year",
    "complete_aip",
    "copies_due",
    "copies_of",
    "document_record",
    "find_candidates",
    "fixity_checks",
    "get_aip",
    "queue_aip",
    "record_fixity",
]

#: Business statuses that end a recipient's part: 06 hoàn thành, 02 từ chối tiếp nhận.
TERMINAL_STATUSES = ("06", "02")
#: Recall states that end it: the copy was taken back (15 đồng ý lấy lại).
TERMINAL_RECALLS = ("recalled", "replaced")


@dataclass(frozen=True, slots=True)
class Candidate:
    package_id: str
    document_id: str
    complete: bool  # every recipient terminal (False: archived because it waited too long)


@dataclass(frozen=True, slots=True)
class AipRow:
    id: str
    package_id: str
    document_id: str
    state: str
    complete: bool
    retention: str
    retain_until: datetime | None
    permanent: bool
    manifest_sha256: str | None
    created_at: datetime
    archived_at: datetime | None


@dataclass(frozen=True, slots=True)
class CopyRow:
    aip_id: str
    store_url: str
    position: int
    state: str
    files: dict[str, Any]  # path -> {"sha256", "size"}
    created_at: datetime
    checked_at: datetime | None


_D, _P, _A = DELIVERIES.c, PACKAGES.c, AIPS.c

_NOT_TERMINAL = sa.exists().where(
    _D.package_id == _P.id,
    _D.state != "dead",
    sa.func.coalesce(_D.business_status, "").not_in(TERMINAL_STATUSES),
    sa.func.coalesce(_D.recall_state, "").not_in(TERMINAL_RECALLS),
)
_HAS_DELIVERY = sa.exists().where(_D.package_id == _P.id)
_ARCHIVED = sa.exists().where(_A.package_id == _P.id)


def find_candidates(session: Session, *, now: datetime, after_days: float, limit: int) -> list[Candidate]:
    """Documents with no AIP yet whose exchange is complete (every delivery terminal: 06, 02, taken back, dead),
    or older than ``after_days`` (archived as incomplete), oldest first."""
    cutoff = now - timedelta(days=after_days)
    query = (
        sa.select(_P.id, _P.document_id, sa.not_(_NOT_TERMINAL).label("complete"))
        .where(_P.kind == "edoc", _HAS_DELIVERY, sa.not_(_ARCHIVED))
        .where(sa.or_(sa.not_(_NOT_TERMINAL), _P.created_at < cutoff))
        .order_by(_P.created_at)
        .limit(limit)
    )
    return [Candidate(r.id, r.document_id, bool(r.complete)) for r in session.execute(query)]


def queue_aip(session: Session, *, aip_id: str, candidate: Candidate, retention: str,
              retain_until: datetime | None, permanent: bool, now: datetime) -> bool:
    """The pending AIP row of a candidate; False if another worker queued it first (the unique ``package_id``)."""
    try:
        with session.begin_nested():
            session.execute(AIPS.insert().values(
                id=aip_id, package_id=candidate.package_id, document_id=candidate.document_id, state="pending",
                complete=candidate.complete, retention=retention, retain_until=retain_until, permanent=permanent,
                manifest_sha256=None, created_at=now, archived_at=None,
            ))
    except IntegrityError:
        return False
    return True


def _aip(row: Any) -> AipRow:
    return AipRow(**{name: getattr(row, name) for name in AipRow.__slots__})


def get_aip(session: Session, aip_id: str) -> AipRow | None:
    row = session.execute(sa.select(AIPS).where(_A.id == aip_id)).first()
    return _aip(row) if row is not None else None


def aip_of_package(session: Session, package_id: str) -> AipRow | None:
    row = session.execute(sa.select(AIPS).where(_A.package_id == package_id)).first()
    return _aip(row) if row is not None else None


def complete_aip(session: Session, aip_id: str, *, manifest_sha256: str, copies: Sequence[dict[str, Any]],
                 now: datetime) -> bool:
    """Record every copy and mark the AIP complete, in the caller's transaction; False if it already was (a
    redelivered message: nothing is written)."""
    done = session.execute(
        AIPS.update().where(_A.id == aip_id, _A.state == "pending")
        .values(state="complete", manifest_sha256=manifest_sha256, archived_at=now)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(AIP_COPIES.insert(), [
        {"aip_id": aip_id, "store_url": c["store_url"], "position": c["position"], "state": "complete",
         "files": c["files"], "created_at": now, "checked_at": None} for c in copies
    ])
    return True


def _copy(row: Any) -> CopyRow:
    return CopyRow(**{name: getattr(row, name) for name in CopyRow.__slots__})


def copies_of(session: Session, aip_id: str) -> list[CopyRow]:
    rows = session.execute(sa.select(AIP_COPIES).where(AIP_COPIES.c.aip_id == aip_id).order_by(AIP_COPIES.c.position))
    return [_copy(r) for r in rows]


def copies_due(session: Session, *, checked_before: datetime | None, aip_id: str | None = None,
               limit: int | None = None) -> list[CopyRow]:
    """Copies whose last check (or, never checked, whose writing) is older than ``checked_before`` (None: every
    copy), the longest waiting first: each copy comes up once per period, spread as the AIPs were written."""
    last = sa.func.coalesce(AIP_COPIES.c.checked_at, AIP_COPIES.c.created_at)
    query = sa.select(AIP_COPIES).order_by(last, AIP_COPIES.c.aip_id, AIP_COPIES.c.position)
    if checked_before is not None:
        query = query.where(last < checked_before)
    if aip_id is not None:
        query = query.where(AIP_COPIES.c.aip_id == aip_id)
    if limit is not None:
        query = query.limit(limit)
    return [_copy(r) for r in session.execute(query)]


def record_fixity(session: Session, copy: CopyRow, *, at: datetime, outcome: str, files_checked: int,
                  bytes_checked: int, problems: list[dict[str, Any]]) -> None:
    """A fixity check of one copy, and the copy's last check time."""
    session.execute(FIXITY_CHECKS.insert().values(
        aip_id=copy.aip_id, store_url=copy.store_url, at=at, outcome=outcome, files_checked=files_checked,
        bytes_checked=bytes_checked, problems=problems,
    ))
    session.execute(
        AIP_COPIES.update()
        .where(AIP_COPIES.c.aip_id == copy.aip_id, AIP_COPIES.c.store_url == copy.store_url)
        .values(checked_at=at, state="complete" if outcome in ("ok", "repaired") else "damaged")
    )


def fixity_checks(session: Session, aip_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(FIXITY_CHECKS).where(FIXITY_CHECKS.c.aip_id == aip_id).order_by(FIXITY_CHECKS.c.id)
    )
    return [dict(r._mapping) for r in rows]


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """What the database holds about one document package: the AIP's material besides the blobs."""

    package: dict[str, Any]
    attachments: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    events: list[dict[str, Any]]


def document_record(session: Session, package_id: str) -> DocumentRecord | None:
    package = session.execute(sa.select(PACKAGES).where(_P.id == package_id)).first()
    if package is None:
        return None

    def rows(query: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in session.execute(query)]

    return DocumentRecord(
        package=dict(package._mapping),
        attachments=rows(sa.select(ATTACHMENTS).where(ATTACHMENTS.c.package_id == package_id)
                         .order_by(ATTACHMENTS.c.position)),
        deliveries=rows(sa.select(DELIVERIES).where(_D.package_id == package_id).order_by(_D.to_code)),
        statuses=rows(sa.select(STATUS_ENTRIES).where(STATUS_ENTRIES.c.package_id == package_id)
                      .order_by(STATUS_ENTRIES.c.id)),
        events=rows(sa.select(EVENTS).where(EVENTS.c.package_id == package_id).order_by(EVENTS.c.id)),
    )


def add_files(session: Session, aip_id: str, files: dict[str, Any]) -> None:
    """Add files (PREMIS event files appended after the AIP was written) to every copy of an AIP."""
    for copy in copies_of(session, aip_id):
        session.execute(
            AIP_COPIES.update()
            .where(AIP_COPIES.c.aip_id == aip_id, AIP_COPIES.c.store_url == copy.store_url)
            .values(files={**copy.files, **files})
        )


def aip_ids(session: Session) -> list[str]:
    return list(session.scalars(sa.select(_A.id).where(_A.state == "complete").order_by(_A.created_at)))


def aips_of_agency_year(session: Session, agency: str, year: int) -> list[AipRow]:
    """The complete AIPs of the documents ``agency`` sent in ``year`` (UTC), oldest first."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    rows = session.execute(
        sa.select(AIPS).join(PACKAGES, _P.id == _A.package_id)
        .where(_A.state == "complete", _P.from_code == agency, _P.created_at >= start, _P.created_at < end)
        .order_by(_P.created_at)
    )
    return [_aip(r) for r in rows]
