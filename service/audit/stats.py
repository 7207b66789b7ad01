"""The statistics use case (issue 21 item 7): checked parameters → storage/stats.py, and its JSON and CSV shapes.

Parameters refused with stable codes: ``invalid_group`` (day, month, quarter), ``invalid_period`` (from after to,
or more days than :data:`MAX_DAYS` by day), ``invalid_agency_code``. The period defaults to the current Vietnam
month; statistics are for auditors and admins (the ``events_all`` row of docs/roles.md), a party sees its own
agency's only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.audit.exports import csv_chunks
from service.audit.search import check_agency, scope_of
from service.exchange.directory import Caller
from service.exchange.errors import Invalid
from storage.stats import VIETNAM, StatRow, StatsQuery, exchange_stats

__all__ = ["COLUMNS", "MAX_DAYS", "compute", "csv_chunks_of", "row_json", "table_json", "to_query"]

MAX_DAYS = 1100  # three years by day; longer periods by month or quarter
COLUMNS = ("agency", "period", "sent", "received", "acked", "processed", "rejected", "recalled", "overdue",
           "median_to_01_s", "median_to_06_s")
GROUPS = ("day", "month", "quarter")


def to_query(caller: Caller, *, agency: str | None, first: date | None, last: date | None,
             group: str) -> StatsQuery:
    if group not in GROUPS:
        raise Invalid("group: day, month or quarter", code="invalid_group")
    today = datetime.now(UTC).astimezone(VIETNAM).date()
    first = first or today.replace(day=1)
    last = last or today
    if first > last:
        raise Invalid("the period is empty: from must not come after to", code="invalid_period")
    if group == "day" and (last - first) > timedelta(days=MAX_DAYS):
        raise Invalid(f"by day, at most {MAX_DAYS} days; group by month or quarter", code="invalid_period")
    scoped = scope_of(caller, check_agency("agency", agency))
    return StatsQuery(first=first, last=last, group=group, agency=scoped)  # type: ignore[arg-type]


def compute(session: Session, query: StatsQuery) -> list[StatRow]:
    return exchange_stats(session, query)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def row_json(row: StatRow) -> dict[str, Any]:
    return {
        "agency": row.agency, "period": row.period, "sent": row.sent, "received": row.received,
        "acked": row.acked, "processed": row.processed, "rejected": row.rejected, "recalled": row.recalled,
        "overdue": row.overdue, "median_to_01_s": _seconds(row.median_to_01),
        "median_to_06_s": _seconds(row.median_to_06),
    }


def table_json(query: StatsQuery, table: list[StatRow]) -> dict[str, Any]:
    return {
        "from": query.first.isoformat(), "to": query.last.isoformat(), "group": query.group,
        "agency": query.agency, "time_zone": "+07:00", "items": [row_json(r) for r in table],
    }


def csv_chunks_of(table: list[StatRow]) -> Iterator[bytes]:
    return csv_chunks(COLUMNS, ([row_json(r)[c] for c in COLUMNS] for r in table))
