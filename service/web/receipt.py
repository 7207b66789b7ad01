"""The PDF receipt offered by the clerks' page ``/verify`` for the file just verified, without keeping the file.

The result page carries the report itself (its JSON, a few kilobytes) in a small form next to a "Tải biên nhận
PDF" button, with an HMAC tag over the report and the file name keyed from ``EDOC_SECRET_KEY``. Pressing the
button posts that form to ``POST /verify/receipt``; the gateway checks the tag and renders the receipt from the
report. So: the upload is not stored anywhere (not even the report is kept), nothing is re-verified, any replica
sharing the secret can answer, and the gateway only ever renders receipts of reports it produced itself. The body
is bounded (:data:`MAX_FORM_BYTES`) and rendering takes one of the page's verification slots, like a verification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs, quote

from signing.pdf.report import VerificationReport

__all__ = ["MAX_FORM_BYTES", "ReceiptRequest", "filename", "parse_form", "seal", "unseal"]

MAX_FORM_BYTES = 1024 * 1024  # a report of many signatures is tens of kilobytes
_CONTEXT = b"edoc-gateway /verify receipt v1"


class ReceiptRequest(ValueError):
    """The posted receipt form is missing, malformed, or not sealed by this gateway."""


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def seal(report_json: str, name: str, secret: str) -> str:
    """The tag that lets this gateway (any replica with the same secret) accept the form back."""
    message = name.encode() + b"\n" + report_json.encode()
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def unseal(report_json: str, name: str, tag: str, secret: str) -> VerificationReport:
    """The report, if ``tag`` is this gateway's seal over it; else :class:`ReceiptRequest`."""
    if not hmac.compare_digest(seal(report_json, name, secret), tag):
        raise ReceiptRequest("the receipt form was not issued by this gateway")
    try:
        return VerificationReport.from_dict(json.loads(report_json))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ReceiptRequest(f"the receipt form holds no report: {exc}") from exc


def parse_form(body: bytes) -> tuple[str, str, str]:
    """``(report_json, name, tag)`` from an urlencoded body."""
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=5, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptRequest(f"unreadable receipt form: {exc}") from exc
    values = [fields.get(key, [""]) for key in ("report", "name", "tag")]
    if any(len(v) != 1 for v in values) or not values[0][0] or not values[2][0]:
        raise ReceiptRequest("the receipt form needs one 'report', 'name' and 'tag'")
    return values[0][0], values[1][0], values[2][0]


def filename(name: str, lang: str) -> str:
    """``Content-Disposition`` value: ``bien-nhan-<file>.pdf`` (``receipt-<file>.pdf`` in English)."""
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    prefix = "receipt" if lang == "en" else "bien-nhan"
    return f"attachment; filename*=UTF-8''{quote(f'{prefix}-{stem[:100]}.pdf')}"
