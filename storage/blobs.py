"""Where the gateway's blobs live: small ones in the database, the rest in the object store.

Most blobs the gateway writes are small: every status package (a few KB; each document draws several per
recipient), the verification report of each PDF attachment, and whole packages coming in over the national axis.
In the object store each one costs a new file (an inode allocation, which on some ext4 volumes costs a quarter of a
millisecond of kernel CPU), an fsync, a rename, often a new fan-out folder, and on S3 a PUT round trip. In the
database it is one more row in the transaction that already writes the rows referencing it: atomic with them,
durable with the WAL, never an orphan.

So a blob of at most ``inline_max`` bytes (setting ``EDOC_INLINE_BLOB_MAX_BYTES``, 64 KiB by default; 0 keeps
everything in the object store) is a row of ``small_blob``, content-addressed by the same SHA-256 as everywhere
else. Writers *stage* their bytes (:meth:`Blobs.stage`): a large blob is written to the object store at once, before
the transaction, as the object store's contract asks; a small one comes back as a :class:`PendingBlob`, which the
writer inserts in its own transaction (:meth:`Blobs.insert_pending`, or its own statement on PostgreSQL's
one-statement paths). Readers pass the size the referencing row records, so a read looks in the right place
first; either way it falls back to the other place, since the limit may have changed since the blob was written.
Rows of ``small_blob`` are never updated or deleted, like objects.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from storage.db import is_postgresql
from storage.errors import BlobNotFound
from storage.interfaces import BlobRef, ObjectStore
from storage.models import SMALL_BLOBS, utcnow

__all__ = ["Blobs", "PendingBlob"]


@dataclass(frozen=True, slots=True)
class PendingBlob:
    """A small blob to insert in the transaction that references it."""

    ref: BlobRef
    data: bytes = b""


_S = SMALL_BLOBS.c
_READ = sa.select(_S.data).where(_S.sha256 == sa.bindparam("sha256"))


class Blobs:
    """The gateway's blobs: ``small_blob`` rows up to ``inline_max`` bytes, the object store above (thread-safe)."""

    def __init__(self, store: ObjectStore, engine: Engine, inline_max: int) -> None:
        self.store = store
        self.inline_max = inline_max
        self._engine = engine
        self._postgresql = is_postgresql(engine)
        # PostgreSQL: reads in autocommit, as storage.db.session_factory's (no BEGIN/ROLLBACK around one SELECT)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT") if self._postgresql else engine
        insert: Any = postgresql.insert if self._postgresql else sqlite.insert
        self._insert = insert(SMALL_BLOBS).on_conflict_do_nothing(index_elements=["sha256"])

    # --- writing ---

    def stage(self, data: bytes) -> tuple[BlobRef, PendingBlob | None]:
        """The blob's reference, and the row to insert in the caller's transaction if it is small; a large blob is
        written to the object store before this returns."""
        if len(data) <= self.inline_max:
            ref = BlobRef(hashlib.sha256(data).hexdigest(), len(data))
            return ref, PendingBlob(ref, data)
        return self.store.put_bytes(data), None

    def stage_many(self, blobs: Sequence[bytes]) -> list[tuple[BlobRef, PendingBlob | None]]:
        """:meth:`stage` for several blobs at once: the large ones are written together (``ObjectStore.put_many``),
        which on a local folder costs less than one after the other."""
        staged: list[tuple[BlobRef, PendingBlob | None] | None] = [None] * len(blobs)
        large = []
        for n, data in enumerate(blobs):
            if len(data) <= self.inline_max:
                staged[n] = self.stage(data)
            else:
                large.append(n)
        for n, ref in zip(large, self.store.put_many([blobs[n] for n in large]), strict=True):
            staged[n] = (ref, None)
        return [item for item in staged if item is not None]

    def insert_pending(self, connection: sa.Connection | Any, pending: Iterable[PendingBlob | None]) -> None:
        """Insert the staged small blobs through ``connection`` (a Connection or Session, inside the transaction
        of the rows that reference them); a blob already there is left as it is (same bytes, same address)."""
        rows = self.rows(pending)
        if rows:
            connection.execute(self._insert, rows)

    @staticmethod
    def rows(pending: Iterable[PendingBlob | None]) -> list[dict[str, Any]]:
        """The ``small_blob`` rows of ``pending``, each address once (for callers that write them in their own
        statement)."""
        now = utcnow()
        seen: dict[str, dict[str, Any]] = {}
        for blob in pending:
            if blob is not None and blob.ref.sha256 not in seen:
                seen[blob.ref.sha256] = {"sha256": blob.ref.sha256, "size": blob.ref.size, "data": blob.data,
                                         "created_at": now}
        return list(seen.values())

    @classmethod
    def rows_json(cls, pending: Iterable[PendingBlob | None]) -> str:
        """The ``small_blob`` rows of ``pending`` as a JSON array of ``{sha256, size, data}`` with the data
        base64-encoded, for the writers that insert them in a statement of their own on PostgreSQL
        (``decode(data, 'base64')`` in SQL; storage/exchange/)."""
        return json.dumps(
            [{"sha256": b["sha256"], "size": b["size"], "data": base64.b64encode(b["data"]).decode("ascii")}
             for b in cls.rows(pending)]
        )

    def put_bytes_now(self, data: bytes) -> BlobRef:
        """Write a blob at once, outside any caller's transaction (a small one in its own short transaction)."""
        ref, pending = self.stage(data)
        if pending is not None:
            with self._engine.begin() as conn:
                self.insert_pending(conn, [pending])
        return ref

    # --- reading ---

    def read(self, sha256: str, size: int | None = None) -> bytes:
        """The blob's bytes; ``size`` (from the referencing row) says where to look first. :class:`BlobNotFound`
        if it is in neither place."""
        if size is not None and size > self.inline_max:
            try:
                return self.store.read(sha256)
            except BlobNotFound:
                found = self._read_row(sha256)
                if found is None:
                    raise
                return found
        found = self._read_row(sha256)
        return found if found is not None else self.store.read(sha256)

    def open(self, sha256: str, size: int | None = None) -> BinaryIO:
        """The blob as a binary stream (a small one is read whole; a large one streams from the object store)."""
        if size is not None and size > self.inline_max:
            try:
                return self.store.open(sha256)
            except BlobNotFound:
                found = self._read_row(sha256)
                if found is None:
                    raise
                return io.BytesIO(found)
        found = self._read_row(sha256)
        return io.BytesIO(found) if found is not None else self.store.open(sha256)

    def exists(self, sha256: str) -> bool:
        return self._read_row(sha256) is not None or self.store.exists(sha256)

    def _read_row(self, sha256: str) -> bytes | None:
        with self._reads.connect() as conn:  # on every small package fetched
            data = conn.execute(_READ, {"sha256": sha256}).scalar()
        return bytes(data) if data is not None else None

    def in_database(self, shas: Sequence[str]) -> set[str]:
        """Which of ``shas`` are rows of ``small_blob`` (for checks and tests)."""
        if not shas:
            return set()
        with self._engine.connect() as conn:
            return set(conn.execute(sa.select(_S.sha256).where(_S.sha256.in_(list(shas)))).scalars())
