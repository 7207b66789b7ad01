"""Errors of the exchange use cases. They carry a stable ``code``; HTTP statuses are assigned in service/errors.py."""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "ExchangeError",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "PayloadTooLarge",
    "Refused",
    "Unauthorized",
]


class ExchangeError(Exception):
    code = "exchange_error"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.extra = extra

    @property
    def message(self) -> str:
        return str(self.args[0])


class Unauthorized(ExchangeError):
    code = "unauthorized"


class Forbidden(ExchangeError):
    code = "forbidden"


class NotFound(ExchangeError):
    code = "not_found"


class Conflict(ExchangeError):
    code = "conflict"


class Invalid(ExchangeError):
    """The request is well-formed but its content is refused (unknown recipient, bad transition…)."""

    code = "invalid"


class Refused(ExchangeError):
    """Policy refuses the package (secret document, forged or missing signature under a strict policy)."""

    code = "refused"


class PayloadTooLarge(ExchangeError):
    code = "payload_too_large"


class Gone(ExchangeError):
    """The resource existed but is no longer served as valid (a recalled document)."""

    code = "gone"
