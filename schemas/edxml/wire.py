"""Scalar values on the edXML wire: dates ``yyyy/MM/dd``, timestamps ``yyyy/MM/dd HH:mm:ss``, ints, booleans.

Timestamps are naive Vietnam local time on the wire (STANDARDS §2, TraceHeader). An aware datetime is converted
to UTC+07:00 before it is written; microseconds are dropped (the wire has seconds).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from schemas.errors import UnrepresentableValue

__all__ = [
    "VIETNAM_TZ",
    "WireValueError",
    "escape_text",
    "first_unrepresentable",
    "format_bool",
    "format_date",
    "format_datetime",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_day_first_date",
    "parse_int",
]

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")

_DATE = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2})")
_DAY_FIRST = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_DATETIME = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
_INT = re.compile(r"[+-]?[0-9]{1,18}")


class WireValueError(ValueError):
    """A scalar that could not be read; ``code`` is the oddity code the parser reports."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def format_date(value: date) -> str:
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def format_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(VIETNAM_TZ)
    return f"{format_date(value)} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"


def format_bool(value: bool) -> str:
    return "true" if value else "false"


def _numbers(pattern: re.Pattern[str], text: str, wanted: str) -> list[int]:
    found = pattern.fullmatch(text)
    if found is None:
        raise WireValueError("bad_date_format", f"{text!r} is not a date in the form {wanted}")
    return [int(part) for part in found.groups()]


def parse_date(text: str) -> date:
    """Read ``yyyy/MM/dd``; raise :class:`WireValueError` ``bad_date_format`` or ``impossible_date``."""
    year, month, day = _numbers(_DATE, text, "yyyy/MM/dd")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise WireValueError("impossible_date", f"{text!r} is not a date that exists ({exc})") from exc


def parse_day_first_date(text: str) -> date | None:
    """Read ``dd/MM/yyyy`` (the way Vietnamese write dates, and some DMS put them on the wire); ``None`` if ``text``
    is not that form; :class:`WireValueError` ``impossible_date`` if it is, but the date does not exist."""
    found = _DAY_FIRST.fullmatch(text)
    if found is None:
        return None
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise WireValueError("impossible_date", f"{text!r} is not a date that exists ({exc})") from exc


def parse_datetime(text: str) -> datetime:
    """Read ``yyyy/MM/dd HH:mm:ss`` as a naive Vietnam-local datetime."""
    year, month, day, hour, minute, second = _numbers(_DATETIME, text, "yyyy/MM/dd HH:mm:ss")
    try:
        return datetime(year, month, day, hour, minute, second)  # naive: the wire's Vietnam local time
    except ValueError as exc:
        raise WireValueError("impossible_date", f"{text!r} is not a time that exists ({exc})") from exc


def parse_int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise WireValueError("invalid_number", f"{text!r} is not an integer")
    return int(text)


def parse_bool(text: str) -> bool:
    """``true``/``false`` (any case) and ``1``/``0`` as XSD boolean allows."""
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise WireValueError("invalid_boolean", f"{text!r} is not a boolean (true/false)")


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})


def first_unrepresentable(text: str) -> int | None:
    """Index of the first character XML 1.0 cannot carry (control characters, U+FFFE...), or ``None``."""
    found = _NOT_XML.search(text)
    return None if found is None else found.start()


def escape_text(text: str) -> str:
    """Escape element text as Canonical XML 1.0 does (``&``, ``<``, ``>``, and ``\\r`` as ``&#xD;``, which also
    survives the parser's line-end normalisation): the writer's output is then canonical as it stands."""
    bad = first_unrepresentable(text)
    if bad is not None:
        raise UnrepresentableValue(f"character U+{ord(text[bad]):04X} at index {bad} cannot be carried by XML 1.0")
    return text.translate(_ESCAPES)
