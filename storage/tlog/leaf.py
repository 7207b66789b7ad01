"""The canonical bytes of one exchange-log event as a leaf of the transparency log (docs/evidence.md).

A leaf is the UTF-8 JSON text of one object with these members, serialised per RFC 8785 (JCS) for the values the
gateway logs: members sorted by name, no whitespace, strings with JSON's minimal escaping (non-ASCII kept as UTF-8),
integers as decimals; floats are written as Python's shortest round-trip form (JCS's for every value below 1e21):

``v`` (1), ``index`` (the leaf index), ``id`` (the event row id), ``at`` (UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``),
``kind``, ``package_id``, ``document_id``, ``agency`` (the agency the event concerns: the recipient of a delivery,
ack or status), ``actor``, ``detail`` (the event's detail object; if the leaf would exceed 65,535 bytes, the
tlog-tiles limit, it is replaced by ``{"sha256": <hex of its canonical JSON>}``), and from the package the event
is about: ``package_sha256`` (SHA-256 of the package bytes as received), ``sender`` (its From agency),
``code`` (its status code, for a status package). Absent values are ``null``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from storage.tlog.tiles import MAX_ENTRY

__all__ = ["LEAF_FIELDS", "canonical_json", "encode_leaf"]

LEAF_FIELDS = (
    "index", "id", "at", "kind", "package_id", "document_id", "agency", "actor", "detail", "package_sha256",
    "sender", "code",
)


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _time(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_leaf(row: Mapping[str, Any]) -> bytes:
    """The leaf bytes of an event row (as :func:`storage.tlog.store.event_rows` reads it)."""
    obj: dict[str, Any] = {
        "v": 1,
        "index": row["leaf_index"],
        "id": row["id"],
        "at": _time(row["at"]),
        "kind": row["kind"],
        "package_id": row["package_id"],
        "document_id": row["document_id"],
        "agency": row["agency_code"],
        "actor": row["actor"],
        "detail": row["detail"] if row["detail"] is not None else {},
        "package_sha256": row.get("package_sha256"),
        "sender": row.get("sender"),
        "code": row.get("code"),
    }
    data = canonical_json(obj)
    if len(data) > MAX_ENTRY:
        obj["detail"] = {"sha256": hashlib.sha256(canonical_json(obj["detail"])).hexdigest()}
        data = canonical_json(obj)
    return data
