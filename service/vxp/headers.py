"""sendEdoc's ``from`` and ``to`` headers in the shapes the field sends them (STANDARDS.md §8, issue 16 item 3).

The national-axis SDK takes its headers as a JSON object and writes every value as its JSON serialiser writes a
string, and its integrators fill the headers in their own ways. Observed on the wire:

* ``to`` left out, empty, ``[]``, or the two characters ``""`` (an empty string, serialised): the package's own
  To list;
* ``to`` as a JSON array (``["000.00.01.A53"]``), as a JSON *string* holding that array
  (``"[\\"000.00.01.A53\\"]"``), as a JSON string holding one code, or as one bare code;
* ``from`` as the caller's **system id** (``vxp.saas.02``) instead of an agency code: the package's From is then
  the sender, and the exchange core still checks that the system acts for it.

Anything else is refused with ``VXP-400-BAD-TO`` / ``VXP-400-BAD-FROM``. The parsing is bounded before any JSON is
decoded: at most :data:`TO_MAX_CHARS` characters, no nesting (a valid ``to`` holds at most one ``[`` at each of
its at most two decodings: a deep ``[[[[…`` never reaches the recursive decoder), at most :data:`TO_MAX_CODES`
codes.
"""

from __future__ import annotations

import json

from schemas.agency import AgencyCode
from schemas.errors import SchemaError
from service.vxp.errors import VxpRequestError

__all__ = ["TO_MAX_CHARS", "TO_MAX_CODES", "from_code", "to_codes"]

#: 500 codes as a JSON string of a JSON array take about 10 000 characters.
TO_MAX_CHARS = 16_384
TO_MAX_CODES = 500
_SHAPES = (
    "'to' must be a JSON array of agency codes (as a JSON string too), one code, empty or absent; "
    f"at most {TO_MAX_CODES} codes"
)


def _bad_to(detail: str) -> VxpRequestError:
    return VxpRequestError(f"{_SHAPES}: {detail}", code="VXP-400-BAD-TO")


def to_codes(value: str | None) -> list[str]:
    """The recipient codes ``to`` names, in order, without repeats; ``[]`` means the package's own To list."""
    text = (value or "").strip()
    if len(text) > TO_MAX_CHARS:
        raise _bad_to(f"{len(text)} characters")
    items = _decode(text, strings_left=1)
    if len(items) > TO_MAX_CODES:
        raise _bad_to(f"{len(items)} codes")
    codes = []
    for item in items:
        try:
            codes.append(str(AgencyCode.parse(item.strip())))
        except SchemaError as exc:
            raise _bad_to(f"{item[:40]!r} is not an agency code") from exc
    return list(dict.fromkeys(codes))


def _decode(text: str, *, strings_left: int) -> list[str]:
    """``text`` as a list of strings: empty, a JSON array, a JSON string (decoded once more), or one bare code."""
    if not text:
        return []
    if text[0] not in "[\"":
        return [text]
    if text.count("[") > 1:  # codes hold no bracket: one array at most, never nested
        raise _bad_to("nested or repeated arrays")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _bad_to("not valid JSON") from exc
    if isinstance(value, str):
        if strings_left == 0:
            raise _bad_to("a string inside a string inside a string")
        return _decode(value.strip(), strings_left=strings_left - 1)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad_to("an array of strings was expected")
    return value


def from_code(value: str, *, systemid: str) -> str | None:
    """The agency code ``from`` names, or None when it is the caller's own system id (the package's From then)."""
    text = value.strip()
    if text == systemid:
        return None
    try:
        return str(AgencyCode.parse(text))
    except SchemaError as exc:
        raise VxpRequestError(
            f"'from' must be the sender's agency code or this system's id ({systemid}), not {text[:40]!r}",
            code="VXP-400-BAD-FROM",
        ) from exc
