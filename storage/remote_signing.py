"""Remote signing transactions (table ``remote_signing``, migration 0007): create, load, claim, end.

A transaction is written before the provider is asked (status ``starting``), then carries the provider's
transaction id (``pending``), and ends ``done`` (the signed PDF's blob address), ``rejected``, ``expired`` or
``failed``. Every status change is a conditional UPDATE on the status it expects, so two processes finishing
the same transaction cannot both succeed: the second sees ``False`` and reads what the first stored.

A poller **claims** a pending row for a lease (``claimed_by``/``claimed_until``) before asking the provider;
a process killed while holding a claim loses it when the lease runs out. Blobs (prepared and signed PDFs) are
written by the caller through :class:`storage.blobs.Blobs` before the row that names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import REMOTE_SIGNINGS, new_id, utcnow

__all__ = [
    "ENDED",
    "RemoteSigningRow",
    "claim",
    "create",
    "due",
    "load",
    "mark_done",
    "mark_ended",
    "mark_pending",
    "record_poll",
    "set_webhook_state",
]

_T = REMOTE_SIGNINGS.c
ENDED = ("done", "rejected", "expired", "failed")


@dataclass(frozen=True)
class RemoteSigningRow:
    id: str
    provider: str
    credential_id: str
    provider_tx: str | None
    status: str
    error_code: str | None
    state: dict[str, Any]
    options: dict[str, Any]
    prepared_sha256: str
    prepared_size: int
    result_sha256: str | None
    result_size: int | None
    client_id: str | None
    webhook_url: str | None
    webhook_state: str | None
    polls: int
    next_poll_at: datetime
    expires_at: datetime
    created_at: datetime
    completed_at: datetime | None

    @property
    def ended(self) -> bool:
        return self.status in ENDED


_COLUMNS = [getattr(_T, name) for name in RemoteSigningRow.__dataclass_fields__]


def create(
    session: Session, *, provider: str, credential_id: str, state: dict[str, Any], options: dict[str, Any],
    prepared_sha256: str, prepared_size: int, client_id: str | None, webhook_url: str | None,
    expires_in: float,
) -> str:
    """Write a ``starting`` transaction (in the caller's transaction) and return its id."""
    now = utcnow()
    tx = new_id()
    session.execute(sa.insert(REMOTE_SIGNINGS).values(
        id=tx, provider=provider, credential_id=credential_id, status="starting", state=state, options=options,
        prepared_sha256=prepared_sha256, prepared_size=prepared_size, client_id=client_id, webhook_url=webhook_url,
        webhook_state="waiting" if webhook_url else None, polls=0, next_poll_at=now,
        expires_at=now + timedelta(seconds=expires_in), created_at=now, updated_at=now,
    ))
    return tx


def load(session: Session, tx: str) -> RemoteSigningRow | None:
    row = session.execute(sa.select(*_COLUMNS).where(_T.id == tx)).first()
    return RemoteSigningRow(**row._mapping) if row is not None else None


def mark_pending(session: Session, tx: str, *, provider_tx: str, retry_after: float) -> bool:
    """``starting`` → ``pending`` with the provider's transaction id."""
    now = utcnow()
    return _change(session, tx, ("starting",), status="pending", provider_tx=provider_tx,
                   next_poll_at=now + timedelta(seconds=retry_after), updated_at=now)


def mark_done(session: Session, tx: str, *, result_sha256: str, result_size: int) -> bool:
    """``starting``/``pending`` → ``done`` with the signed PDF's address; False if it had already ended."""
    now = utcnow()
    return _change(session, tx, ("starting", "pending"), status="done", result_sha256=result_sha256,
                   result_size=result_size, completed_at=now, updated_at=now, claimed_by=None, claimed_until=None)


def mark_ended(session: Session, tx: str, status: str, error_code: str | None = None) -> bool:
    """``starting``/``pending`` → ``rejected``/``expired``/``failed``; False if it had already ended."""
    if status not in ENDED or status == "done":
        raise ValueError(f"not an ending status without a result: {status!r}")
    now = utcnow()
    return _change(session, tx, ("starting", "pending"), status=status, error_code=error_code, completed_at=now,
                   updated_at=now, claimed_by=None, claimed_until=None)


def claim(session: Session, tx: str, *, worker: str, lease: float) -> bool:
    """Take ``tx`` for one poll (if pending and nobody holds an unexpired claim); True if taken."""
    now = utcnow()
    result = session.execute(
        sa.update(REMOTE_SIGNINGS)
        .where(_T.id == tx, _T.status == "pending",
               sa.or_(_T.claimed_until.is_(None), _T.claimed_until < now, _T.claimed_by == worker))
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease), updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_poll(session: Session, tx: str, *, worker: str, retry_after: float, error_code: str | None = None) -> None:
    """A poll that found the transaction still pending (or the provider away): release the claim, count it,
    and say when to ask again."""
    now = utcnow()
    session.execute(
        sa.update(REMOTE_SIGNINGS)
        .where(_T.id == tx, _T.claimed_by == worker)
        .values(polls=_T.polls + 1, claimed_by=None, claimed_until=None, error_code=error_code,
                next_poll_at=now + timedelta(seconds=retry_after), updated_at=now)
    )


def due(session: Session, *, limit: int = 50, starting_grace: float = 120.0) -> list[str]:
    """Pending transactions whose next poll is due and that nobody holds; ended ones whose webhook waits; and
    ``starting`` ones older than ``starting_grace`` seconds (their process died while asking the provider)."""
    now = utcnow()
    pending = sa.select(_T.id).where(
        _T.status == "pending", _T.next_poll_at <= now,
        sa.or_(_T.claimed_until.is_(None), _T.claimed_until < now),
    ).order_by(_T.next_poll_at).limit(limit)
    hooks = sa.select(_T.id).where(_T.status.in_(ENDED), _T.webhook_state == "waiting").limit(limit)
    stale = sa.select(_T.id).where(
        _T.status == "starting", sa.or_(_T.expires_at < now, _T.created_at < now - timedelta(seconds=starting_grace))
    ).limit(limit)
    return [r[0] for q in (pending, hooks, stale) for r in session.execute(q)]


def set_webhook_state(session: Session, tx: str, state: str, *, expected: str = "waiting") -> bool:
    """``waiting`` → ``sending`` (taken by one process) → ``sent`` | ``failed``."""
    result = session.execute(
        sa.update(REMOTE_SIGNINGS).where(_T.id == tx, _T.webhook_state == expected)
        .values(webhook_state=state, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _change(session: Session, tx: str, expected: tuple[str, ...], **values: Any) -> bool:
    result = session.execute(
        sa.update(REMOTE_SIGNINGS).where(_T.id == tx, _T.status.in_(expected)).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
