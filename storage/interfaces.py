"""Ports of :mod:`storage` (STYLE.md 1): what the rest of the gateway may rely on, whatever the backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

__all__ = ["BlobRef", "ObjectStore", "Retention"]


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A stored blob: content-addressed by the lowercase hex SHA-256 of its bytes."""

    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Retention:
    """How long a stored blob must stay as it is (thời hạn bảo quản, TT 02/2019).

    ``until``: nobody may delete or overwrite it before this moment (S3 Object Lock in COMPLIANCE mode: not even
    the bucket's owner); ``legal_hold``: nobody may until the hold is lifted ("Vĩnh viễn", permanent). A store
    whose ``enforces_retention`` is false accepts and ignores it (the file store: development only).
    """

    until: datetime | None = None
    legal_hold: bool = False

    def __post_init__(self) -> None:
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("Retention.until must be timezone-aware")
        if self.until is None and not self.legal_hold:
            raise ValueError("a Retention needs a date, a legal hold, or both")

    @classmethod
    def permanent(cls) -> Retention:
        """Kept for ever ("Vĩnh viễn"): a legal hold, which has no end date."""
        return cls(legal_hold=True)


@runtime_checkable
class ObjectStore(Protocol):
    """Content-addressed blob storage (packages, attachments, archives).

    Writes are idempotent: putting the same bytes twice yields the same :class:`BlobRef` and one stored copy.
    A blob is complete once ``put_*`` returns; callers write blobs *before* committing rows that reference them
    (ARCHITECTURE.md: an orphan blob is harmless, a row without its blob is not).
    """

    url: str
    #: Whether the backend makes a :class:`Retention` binding on everyone, the gateway included (S3 Object Lock).
    #: Production refuses an archive store where this is false.
    enforces_retention: bool

    def put_bytes(self, data: bytes, *, retention: Retention | None = None) -> BlobRef: ...

    def put_stream(self, stream: BinaryIO, *, retention: Retention | None = None) -> BlobRef: ...

    def put_file(self, path: Path, *, retention: Retention | None = None) -> BlobRef: ...

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobRef]:
        """Several blobs, each complete once this returns (a backend may make them durable together)."""
        ...

    def open(self, sha256: str) -> BinaryIO: ...

    def read(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...

    def retain(self, sha256: str, retention: Retention) -> None:
        """Apply ``retention`` to a stored blob (extend only: an earlier date than the one in force is ignored)."""
        ...

    def check(self) -> None:
        """Raise :class:`storage.errors.StorageError` unless the store is reachable and writable."""
        ...
