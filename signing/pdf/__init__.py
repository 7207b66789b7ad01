"""PAdES signing (and, beside it, verification) of PDFs. pyHanko types never leave this package.

Signing API: :func:`signing.pdf.sign.sign_pdf`, key sources in :mod:`signing.pdf.keysources`, NĐ 30/2020
appearances in :mod:`signing.pdf.appearance`. Errors: :class:`PdfSigningError` (a :class:`SigningError`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signing.pdf.appearance import Appearance, Box, TextAnchor
    from signing.pdf.keysources import KeySource, key_source_from_spec
    from signing.pdf.sign import LEVELS, LongTermSettings, sign_pdf
    from signing.pdf.sign_errors import PdfSigningError

# Loaded on first use (PEP 562): importing ``signing.pdf.verify`` or ``signing.pdf.report`` must not pull in
# pyHanko's signer stack (≈0.5 s), which ``edoc verify`` never needs (issue 18, start-up ≤ 0.25 s).
_LAZY = {
    "Appearance": "signing.pdf.appearance",
    "Box": "signing.pdf.appearance",
    "TextAnchor": "signing.pdf.appearance",
    "KeySource": "signing.pdf.keysources",
    "key_source_from_spec": "signing.pdf.keysources",
    "LEVELS": "signing.pdf.sign",
    "LongTermSettings": "signing.pdf.sign",
    "sign_pdf": "signing.pdf.sign",
    "PdfSigningError": "signing.pdf.sign_errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'signing.pdf' has no attribute {name!r}")
    return getattr(import_module(module), name)


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
