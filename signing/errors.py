"""The error tree of :mod:`signing`: every failure raised by this package derives from :class:`SigningError`.

A signature that is *invalid* is an outcome (a report value), not an exception; exceptions are for "cannot
evaluate" or "cannot sign" (STYLE.md 4).
"""

from __future__ import annotations

__all__ = ["SigningError"]


class SigningError(Exception):
    """Root of every error raised by :mod:`signing`; ``code`` is stable and machine-readable."""

    code = "signing_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code
