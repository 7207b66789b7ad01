"""Headers of a file the API hands out (an attachment, a package): what the browser may do with it.

An attachment's name and type come from the sender's package, so they are someone else's input (issue 17):

* the type is served as it is only when no browser runs code in it (:data:`PASSIVE_TYPES`: PDF, images that are
  not SVG, office documents, archives, plain text); anything else (``text/html``, SVG, XML, JavaScript, an unknown
  type) is served as ``application/octet-stream``, with the sender's type kept in ``X-Edoc-Content-Type`` (and in
  the package record);
* ``X-Content-Type-Options: nosniff``, a ``sandbox`` Content-Security-Policy, and a download disposition always;
* the name is reduced to a safe base name (``../../etc/passwd`` -> ``passwd``; no folders, control characters or
  quotes), sent as RFC 6266 ``filename*`` in UTF-8 (RFC 5987 percent-encoding, so Vietnamese names survive) with
  an ASCII ``filename`` fallback for old clients (diacritics removed: ``Công văn.pdf`` -> ``Cong van.pdf``).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

__all__ = ["PASSIVE_TYPES", "download_headers", "safe_filename", "served_type"]

PASSIVE_TYPES = frozenset({
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/tiff",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/rtf",
    "application/octet-stream",
})
_PASSIVE_PREFIXES = ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
_MAX_NAME = 150
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\;]')
_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def served_type(content_type: str | None) -> str:
    """The media type to serve a file of the sender's ``content_type`` as (module docstring)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in PASSIVE_TYPES or media.startswith(_PASSIVE_PREFIXES):
        return media
    return "application/octet-stream"


def safe_filename(name: str | None, default: str = "attachment") -> str:
    """The base name of ``name`` without folders, control characters, quotes or leading dots, at most 150
    characters (the extension kept), NFC-normalised; ``default`` when nothing is left."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("", text).strip().lstrip(".").strip()
    if not text:
        return default
    if len(text) > _MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = stem[: _MAX_NAME - len(ext) - 1] + dot + ext if dot and len(ext) <= 10 else text[:_MAX_NAME]
    return text


def _ascii_fallback(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9._ ()+-]", "_", plain) or "attachment"


def download_headers(name: str | None, content_type: str | None = None) -> dict[str, str]:
    """Content-Disposition and the protective headers for a file of ``name``; with ``content_type``, the sender's
    type in ``X-Edoc-Content-Type`` when it is not the served one."""
    filename = safe_filename(name)
    headers = {
        "Content-Disposition": f"attachment; filename=\"{_ascii_fallback(filename)}\"; "
        f"filename*=UTF-8''{quote(filename, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    original = (content_type or "").strip().lower()
    if original and _TYPE.match(original.split(";", 1)[0].strip()) and served_type(original) != original:
        headers["X-Edoc-Content-Type"] = original.split(";", 1)[0].strip()
    return headers
