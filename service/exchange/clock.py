"""Time on the wire: edXML timestamps are Vietnam local time (UTC+7) without a zone (STANDARDS.md §2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

__all__ = ["VN", "vn_now", "vn_wall_clock"]

VN = timezone(timedelta(hours=7), "ICT")


def vn_now() -> datetime:
    return datetime.now(UTC).astimezone(VN)


def vn_wall_clock() -> datetime:
    """Now, as the naive Vietnam wall-clock time edXML carries (whole seconds)."""
    return vn_now().replace(tzinfo=None, microsecond=0)
