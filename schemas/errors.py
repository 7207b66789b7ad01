"""The error tree of :mod:`schemas`: every failure raised by this package derives from :class:`SchemaError`."""

from __future__ import annotations

__all__ = ["SchemaError"]


class SchemaError(Exception):
    """Root of every error raised by :mod:`schemas`.

    ``code`` is a stable machine-readable identifier (used by the service as the problem+json ``code``).
    """

    code = "schema_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code
