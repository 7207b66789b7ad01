"""The exception raised when a PDF cannot be signed (STYLE.md 5: one root, stable codes)."""

from __future__ import annotations

from signing.errors import SigningError

__all__ = ["PdfSigningError"]


class PdfSigningError(SigningError):
    """A PDF could not be signed. ``code`` is one of:

    ``pdf_unreadable``, ``key_source_invalid``, ``key_unusable``, ``pin_missing``, ``tsa_unreachable``,
    ``tsa_url_missing``, ``revocation_unavailable``, ``certificate_rejected``, ``level_unsupported``,
    ``algorithm_unsupported``, ``field_exists``, ``anchor_not_found``, ``appearance_invalid``, ``signing_failed``.
    """

    code = "signing_failed"
