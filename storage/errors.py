"""The error tree of :mod:`storage`: every failure raised by this package derives from :class:`StorageError`."""

from __future__ import annotations

__all__ = ["BlobNotFound", "StorageError", "UnknownBackend"]


class StorageError(Exception):
    """Root of every error raised by :mod:`storage`; ``code`` is stable and machine-readable."""

    code = "storage_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class BlobNotFound(StorageError, FileNotFoundError):
    code = "blob_not_found"


class UnknownBackend(StorageError):
    code = "unknown_backend"
