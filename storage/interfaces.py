"""Ports of :mod:`storage` (STYLE.md 1): what the rest of the gateway may rely on, whatever the backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

__all__ = ["BlobRef", "ObjectStore"]


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A stored blob: content-addressed by the lowercase hex SHA-256 of its bytes."""

    sha256: str
    size: int


@runtime_checkable
class ObjectStore(Protocol):
    """Content-addressed blob storage (packages, attachments, archives).

    Writes are idempotent: putting the same bytes twice yields the same :class:`BlobRef` and one stored copy.
    A blob is complete once ``put_*`` returns; callers write blobs *before* committing rows that reference them
    (ARCHITECTURE.md: an orphan blob is harmless, a row without its blob is not).
    """

    url: str

    def put_bytes(self, data: bytes) -> BlobRef: ...

    def put_stream(self, stream: BinaryIO) -> BlobRef: ...

    def put_file(self, path: Path) -> BlobRef: ...

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobRef]:
        """Several blobs, each complete once this returns (a backend may make them durable together)."""
        ...

    def open(self, sha256: str) -> BinaryIO: ...

    def read(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...

    def check(self) -> None:
        """Raise :class:`storage.errors.StorageError` unless the store is reachable and writable."""
        ...
