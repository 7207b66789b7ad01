"""The archive's error root (stable ``code``)."""

from __future__ import annotations

__all__ = ["ArchiveError"]


class ArchiveError(Exception):
    """Codes: ``invalid_retention_table`` (the table file cannot be read or has a bad row), ``aip_not_found``,
    ``archive_failed`` (a copy could not be written or read)."""

    def __init__(self, message: str, *, code: str = "archive_failed") -> None:
        super().__init__(message)
        self.code = code
