"""The error tree of :mod:`storage`: every failure raised by this package derives from :class:`StorageError`."""

from __future__ import annotations

__all__ = ["BlobNotFound", "DatabaseUnavailable", "InvalidValue", "StorageError", "UnknownBackend"]


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


class DatabaseUnavailable(StorageError):
    """The database does not answer (down, unreachable, every connection busy): retry later."""

    code = "database_unavailable"


class InvalidValue(StorageError):
    """The database refused a value as such (a NUL character in text, an integer out of its column's range):
    the request was wrong, not the database."""

    code = "invalid_value"
