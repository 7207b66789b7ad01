"""Streaming exports of the exchange log and of statistics: CSV and JSON Lines, written chunk by chunk.

CSV is what auditors open in Excel: UTF-8 **with a BOM** (without it Excel reads Vietnamese as mojibake), CRLF line
ends and RFC 4180 quoting (``csv.QUOTE_MINIMAL``: a field with a comma, quote or line break is quoted, quotes
doubled). A cell a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return: OWASP "CSV injection") is written with a leading apostrophe, so a subject such as
``=HYPERLINK(...)`` typed by a sender is shown as text and never evaluated. JSON Lines (one JSON object a line,
UTF-8, no BOM) carries the values unchanged, for programs.

Encoders take an iterator of rows and yield ``bytes`` chunks of about :data:`CHUNK_ROWS` rows: memory stays bounded
by a chunk whatever the size of the export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["BOM", "CHUNK_ROWS", "MEDIA_TYPES", "csv_chunks", "jsonl_chunks", "safe_cell"]

BOM = "\ufeff"
CHUNK_ROWS = 500
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A value as CSV text a spreadsheet will not evaluate."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)  # numbers (including negative ones) stay numbers
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The CSV file (BOM, header line, rows) as chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(columns)
    for count, row in enumerate(rows, 1):
        writer.writerow([safe_cell(v) for v in row])
        if count % CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def jsonl_chunks(objects: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """One JSON object a line, as chunks."""
    lines: list[str] = []
    for obj in objects:
        lines.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
        if len(lines) >= CHUNK_ROWS:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
