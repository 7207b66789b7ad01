"""The error tree of :mod:`storage`: every failure raised by this package derives from :class:`StorageError`."""

from __future__ import annotations

__all__ = [
    "BlobNotFound",
    "DatabaseUnavailable",
    "InvalidStoreUrl",
    "InvalidValue",
    "ObjectStoreRefused",
    "ObjectStoreUnavailable",
    "RetentionUnsupported",
    "StorageError",
    "UnknownBackend",
]


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


class InvalidStoreUrl(UnknownBackend):
    """An object-store URL of a known scheme that cannot be used as written (a missing bucket, an unknown
    option, a malformed endpoint)."""

    code = "invalid_store_url"


class ObjectStoreUnavailable(StorageError):
    """The object store does not answer (down, unreachable, timing out, answering 5xx): retry later."""

    code = "object_store_unavailable"


class ObjectStoreRefused(StorageError):
    """The object store answers but refuses the gateway (wrong credentials, a missing bucket, access denied): a
    configuration problem that retrying does not fix, though the API still answers 503 (the request was fine)."""

    code = "object_store_refused"


class RetentionUnsupported(StorageError):
    """A retention (Object Lock) was asked of a store or bucket that cannot enforce it."""

    code = "retention_unsupported"
