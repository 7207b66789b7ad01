"""The error tree of :mod:`service.vxp`: every failure raised here derives from :class:`VxpError`.

Each class carries a stable ``code`` (the string a VXP facade puts in ``ErrorCode``) and a short English
message. HTTP status codes are not chosen here: the facade maps classes to statuses (``service/errors.py``);
the ``401``/``400`` inside a code only names the family of the failure. The table of codes, with what a
client should do about each, is in ``service/vxp/README.md``.
"""

from __future__ import annotations

__all__ = [
    "VxpAuthError",
    "VxpBadSignature",
    "VxpBadTimestamp",
    "VxpError",
    "VxpHashMismatch",
    "VxpHashMissing",
    "VxpHeaderMismatch",
    "VxpMalformedSignHeader",
    "VxpMissingHeader",
    "VxpRemoteError",
    "VxpReplay",
    "VxpRequestError",
    "VxpResponseError",
    "VxpSignKeyMismatch",
    "VxpStaleTimestamp",
    "VxpTransportError",
    "VxpUnknownSystem",
    "VxpUnsignedHeader",
]


class VxpError(Exception):
    """Root of every error raised by :mod:`service.vxp`; ``code`` is stable and machine-readable."""

    code = "VXP-500-ERROR"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


# --- server side: the caller is not who it claims, or the call is not fresh ---


class VxpAuthError(VxpError):
    """The call is refused before any use case runs: authentication failed."""

    code = "VXP-401-AUTH"


class VxpMissingHeader(VxpAuthError):
    code = "VXP-401-MISSING-HEADER"


class VxpUnknownSystem(VxpAuthError):
    code = "VXP-401-UNKNOWN-SYSTEM"


class VxpMalformedSignHeader(VxpAuthError):
    code = "VXP-401-MALFORMED-SIGN-HEADER"


class VxpSignKeyMismatch(VxpAuthError):
    code = "VXP-401-SIGN-KEY-MISMATCH"


class VxpUnsignedHeader(VxpAuthError):
    code = "VXP-401-UNSIGNED-HEADER"


class VxpHeaderMismatch(VxpAuthError):
    code = "VXP-401-HEADER-MISMATCH"


class VxpBadSignature(VxpAuthError):
    code = "VXP-401-BAD-SIGNATURE"


class VxpBadTimestamp(VxpAuthError):
    code = "VXP-401-BAD-TIMESTAMP"


class VxpStaleTimestamp(VxpAuthError):
    code = "VXP-401-STALE-TIMESTAMP"


class VxpReplay(VxpAuthError):
    code = "VXP-401-REPLAY"


# --- server side: authenticated, but the request itself is wrong ---


class VxpRequestError(VxpError):
    """The caller is authenticated but the request cannot be accepted as sent."""

    code = "VXP-400-BAD-REQUEST"


class VxpHashMissing(VxpRequestError):
    code = "VXP-400-HASH-MISSING"


class VxpHashMismatch(VxpRequestError):
    code = "VXP-400-HASH-MISMATCH"


# --- client side ---


class VxpRemoteError(VxpError):
    """The remote answered ``status: FAIL``; ``code``/``desc`` are its ``ErrorCode``/``ErrorDesc``."""

    code = "VXP-REMOTE-FAIL"

    def __init__(self, code: str, desc: str) -> None:
        super().__init__(f"{code}: {desc}" if desc else code, code=code)
        self.desc = desc


class VxpTransportError(VxpError):
    """The call did not complete (connection, timeout, 5xx without an envelope): retrying may succeed."""

    code = "VXP-TRANSPORT"
    retryable = True


class VxpResponseError(VxpError):
    """The remote answered, but not with a VXP envelope this client can read (not retryable as is)."""

    code = "VXP-BAD-RESPONSE"
