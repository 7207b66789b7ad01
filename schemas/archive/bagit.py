"""BagIt 1.0 (RFC 8493) tag files: an auditor checks an AIP's bytes with ``sha256sum -c``-like tools, unzipped or not.

``manifest_sha256`` lists every payload file as ``<sha256> <path>`` (one per line, LF, paths relative to the bag
with ``/`` separators and CR, LF and ``%`` percent-encoded as RFC 8493 §2.1.3 asks), sorted so that the same
package always gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from schemas.errors import SchemaError

__all__ = ["BAGIT_TXT", "bag_info", "manifest_sha256"]

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _encode_path(path: str) -> str:
    if not path or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in path.split("/")):
        raise SchemaError(f"not a relative bag path: {path!r}", code="invalid_archive_value")
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def manifest_sha256(entries: Iterable[tuple[str, str]]) -> bytes:
    """``manifest-sha256.txt`` (or ``tagmanifest-sha256.txt``) for ``(path, sha256)`` pairs."""
    lines = []
    seen: set[str] = set()
    for path, digest in entries:
        if not _SHA256.match(digest):
            raise SchemaError(f"not a lowercase SHA-256: {digest!r} for {path!r}", code="invalid_archive_value")
        encoded = _encode_path(path)
        if encoded in seen:
            raise SchemaError(f"{path!r} listed twice in a manifest", code="invalid_archive_value")
        seen.add(encoded)
        lines.append(f"{digest} {encoded}\n")
    return "".join(sorted(lines, key=lambda line: line[65:])).encode("utf-8")


def bag_info(*, organisation: str, external_identifier: str, bagging_date: date, payload_bytes: int,
             payload_files: int, description: str = "") -> bytes:
    """``bag-info.txt`` with the reserved fields an audit reads first (RFC 8493 §2.2.2)."""
    fields = [
        ("Source-Organization", organisation),
        ("External-Identifier", external_identifier),
        ("Bagging-Date", bagging_date.isoformat()),
        ("Payload-Oxum", f"{payload_bytes}.{payload_files}"),
    ]
    if description:
        fields.append(("External-Description", description))
    for name, value in fields:
        if "\n" in value or "\r" in value:
            raise SchemaError(f"bag-info {name} must be one line", code="invalid_archive_value")
    return "".join(f"{name}: {value}\n" for name, value in fields).encode("utf-8")
