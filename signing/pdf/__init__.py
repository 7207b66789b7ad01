"""PAdES signing (and, beside it, verification) of PDFs. pyHanko types never leave this package.

Signing API: :func:`signing.pdf.sign.sign_pdf`, key sources in :mod:`signing.pdf.keysources`, NĐ 30/2020
appearances in :mod:`signing.pdf.appearance`. Errors: :class:`PdfSigningError` (a :class:`SigningError`).
"""

from __future__ import annotations

from signing.pdf.appearance import Appearance, Box, TextAnchor
from signing.pdf.keysources import KeySource, key_source_from_spec
from signing.pdf.sign import LEVELS, LongTermSettings, sign_pdf
from signing.pdf.sign_errors import PdfSigningError

__all__ = [
    "LEVELS",
    "Appearance",
    "Box",
    "KeySource",
    "LongTermSettings",
    "PdfSigningError",
    "TextAnchor",
    "key_source_from_spec",
    "sign_pdf",
]
