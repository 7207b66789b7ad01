"""The transparency log's rows: the integrated tree state, its checkpoints, tile locations, and the event rows
read as leaves. Every SQL statement of the log lives here (service/ only calls these functions).

Tiles and entry bundles are blobs in the content-addressed object store (file or S3, the ``ObjectStore`` port);
``tlog_tile`` maps their tlog-tiles path to the blob. The tiles are written *before* the transaction that records
them and advances ``tlog_state`` (an orphan blob is harmless), so a sequencer killed at any point leaves the state
and the tiles consistent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.interfaces import ObjectStore
from storage.models import EVENTS, ExchangeEvent, Package, TlogCheckpoint, TlogState, TlogTile, utcnow
from storage.tlog.errors import TileNotFound
from storage.tlog.tiles import TileRead, TileReadMany, TileWrite

__all__ = [
    "State",
    "assign_pending",
    "checkpoints",
    "event_rows",
    "events_of_document",
    "latest_cosigned",
    "leaf_indexes",
    "lock_state",
    "read_state",
    "record_checkpoint",
    "record_tiles",
    "response_package_ids",
    "set_cosigned",
    "tile_reader",
    "tile_reader_many",
    "write_tiles",
]


@dataclass(frozen=True, slots=True)
class State:
    size: int
    root: str
    checkpoint: str | None
    cosigned: str | None


def _state(row: TlogState | None) -> State:
    if row is None:  # the migration inserts the row; a missing one is a schema older than 0007
        return State(0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", None, None)
    return State(row.size, row.root, row.checkpoint, row.cosigned)


def read_state(session: Session) -> State:
    return _state(session.get(TlogState, 1))


def lock_state(session: Session) -> State | None:
    """The state row locked for this transaction (the one sequencer at a time); None when another sequencer
    holds it (PostgreSQL: SKIP LOCKED; SQLite's writer transaction is already exclusive)."""
    query = sa.select(TlogState).where(TlogState.id == 1).with_for_update(skip_locked=True)
    row = session.execute(query).scalar_one_or_none()
    return None if row is None else _state(row)


# The committed events without a leaf index, numbered in id order (0, 1, ...), at most ``limit`` of them.
_PENDING = (
    sa.select(EVENTS.c.id, (sa.func.row_number().over(order_by=EVENTS.c.id) - 1).label("n"))
    .where(EVENTS.c.leaf_index.is_(None))
    .order_by(EVENTS.c.id)
    .limit(sa.bindparam("limit"))
    .subquery("pending")
)
# One statement for the whole batch, not an UPDATE per event (an executemany): the sequencer's CPU per event 0.036 ->
# 0.028 ms (docs/performance.md, issue 19 item 5). UPDATE … FROM needs SQLite 3.33 or later
# (Debian 12 has 3.40), though SQLite's trigger leaves no event to number.
_ASSIGN = (
    sa.update(EVENTS)
    .where(EVENTS.c.id == _PENDING.c.id)
    .values(leaf_index=sa.bindparam("next_index", type_=sa.BigInteger) + _PENDING.c.n)
)


def assign_pending(session: Session, next_index: int, limit: int) -> int:
    """Give the committed events without a leaf index (PostgreSQL; SQLite's trigger leaves none) the indexes from
    ``next_index`` on, in id order; answers how many. Only the sequencer, holding the state row, calls it."""
    result = session.execute(_ASSIGN, {"next_index": next_index, "limit": limit})
    return int(result.rowcount)  # type: ignore[attr-defined]


_EVENT_COLUMNS = (
    ExchangeEvent.leaf_index, ExchangeEvent.id, ExchangeEvent.at, ExchangeEvent.kind, ExchangeEvent.package_id,
    ExchangeEvent.document_id, ExchangeEvent.agency_code, ExchangeEvent.actor, ExchangeEvent.detail,
    Package.blob_sha256.label("package_sha256"), Package.from_code.label("sender"), Package.status_code.label("code"),
)


def _event_query() -> sa.Select[Any]:
    return sa.select(*_EVENT_COLUMNS).outerjoin(Package, Package.id == ExchangeEvent.package_id)


def event_rows(session: Session, start: int, end: int) -> list[dict[str, Any]]:
    """The events with leaf index in ``[start, end)`` in index order, with the package columns a leaf holds.
    Only the contiguous run from ``start`` is answered (a gap would mean an uncommitted index)."""
    query = _event_query().where(ExchangeEvent.leaf_index >= start, ExchangeEvent.leaf_index < end)
    rows = [dict(r._mapping) for r in session.execute(query.order_by(ExchangeEvent.leaf_index))]
    out = []
    for expected, row in enumerate(rows, start):
        if row["leaf_index"] != expected:
            break
        out.append(row)
    return out


def events_of_document(session: Session, document_id: str, package_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every logged event of a document (by DocumentId, or about one of ``package_ids``), in log order."""
    cond = ExchangeEvent.document_id == document_id
    if package_ids:
        cond = sa.or_(cond, ExchangeEvent.package_id.in_(list(package_ids)))
    query = _event_query().where(cond, ExchangeEvent.leaf_index.is_not(None)).order_by(ExchangeEvent.leaf_index)
    return [dict(r._mapping) for r in session.execute(query)]


def write_tiles(store: ObjectStore, writes: Sequence[TileWrite]) -> list[tuple[str, str, int]]:
    """Put the tiles' bytes in the object store (before the transaction that records them)."""
    refs = store.put_many([w.data for w in writes])
    return [(w.path, ref.sha256, ref.size) for w, ref in zip(writes, refs, strict=True)]


def record_tiles(session: Session, refs: Iterable[tuple[str, str, int]]) -> None:
    refs = list(refs)
    if not refs:
        return
    known = set(session.execute(sa.select(TlogTile.path).where(TlogTile.path.in_([p for p, _, _ in refs]))).scalars())
    fresh = [{"path": p, "sha256": s, "size": n} for p, s, n in refs if p not in known]
    if fresh:
        session.execute(sa.insert(TlogTile), fresh)


def tile_reader(session: Session, store: ObjectStore) -> TileRead:
    """``read(path)`` of the tiles recorded, through ``session``."""

    def read(path: str) -> bytes:
        sha = session.execute(sa.select(TlogTile.sha256).where(TlogTile.path == path)).scalar_one_or_none()
        if sha is None:
            raise TileNotFound(f"no tile {path}")
        return store.read(sha)

    return read


def tile_reader_many(session: Session, store: ObjectStore) -> TileReadMany:
    """``read_many(paths)``: the recorded tiles among ``paths``, located with one query."""

    def read_many(paths: list[str]) -> dict[str, bytes]:
        if not paths:
            return {}
        rows = session.execute(sa.select(TlogTile.path, TlogTile.sha256).where(TlogTile.path.in_(paths)))
        return {path: store.read(sha) for path, sha in rows}

    return read_many


def record_checkpoint(session: Session, size: int, root: str, note: str) -> None:
    """Advance the state to a new signed checkpoint, and keep the checkpoint."""
    now = utcnow()
    session.execute(
        sa.update(TlogState).where(TlogState.id == 1).values(size=size, root=root, checkpoint=note, cosigned=None,
                                                             updated_at=now)
    )
    if session.get(TlogCheckpoint, size) is None:
        session.add(TlogCheckpoint(size=size, root=root, note=note, at=now))
    session.flush()


def set_cosigned(session: Session, size: int, note: str) -> None:
    """The checkpoint of ``size`` with its witnesses' cosignatures."""
    session.execute(sa.update(TlogCheckpoint).where(TlogCheckpoint.size == size).values(cosigned=note))
    session.execute(sa.update(TlogState).where(TlogState.id == 1, TlogState.size == size).values(cosigned=note))


def checkpoints(session: Session, *, after: int = -1, limit: int = 1000) -> list[TlogCheckpoint]:
    query = sa.select(TlogCheckpoint).where(TlogCheckpoint.size > after).order_by(TlogCheckpoint.size).limit(limit)
    return list(session.execute(query).scalars())


def latest_cosigned(session: Session) -> TlogCheckpoint | None:
    """The biggest checkpoint that has its witnesses' cosignatures."""
    query = sa.select(TlogCheckpoint).where(TlogCheckpoint.cosigned.is_not(None))
    return session.execute(query.order_by(TlogCheckpoint.size.desc()).limit(1)).scalar_one_or_none()


def response_package_ids(session: Session, package_id: str) -> list[str]:
    """The status packages answering a package (their events belong to its evidence)."""
    return list(session.execute(sa.select(Package.id).where(Package.response_for_id == package_id)).scalars())


def leaf_indexes(session: Session, event_ids: Sequence[int]) -> dict[int, int | None]:
    """Event id → its leaf index (None: not yet given one, PostgreSQL's sequencer gives it)."""
    if not event_ids:
        return {}
    query = sa.select(ExchangeEvent.id, ExchangeEvent.leaf_index).where(ExchangeEvent.id.in_(list(event_ids)))
    return {row.id: row.leaf_index for row in session.execute(query)}
