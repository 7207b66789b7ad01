"""Exchange statistics per agency and period (issue 21 item 7), the same on SQLite and PostgreSQL.

Counted per agency and per period (a day, a month or a quarter of **Vietnam time**, UTC+7, which has no daylight
saving), over new documents (BussinessDocType 0; recalls, updates and replacements are not new documents):

- ``sent``: documents the agency submitted (package created in the period);
- ``received``: deliveries to the agency (delivered in the period; a document to three agencies is received
  three times);
- ``acked``, ``processed``, ``rejected``: of those deliveries, the ones acknowledged (transport ack), with a
  status 06 *Hoàn thành*, with a status 02 *Từ chối tiếp nhận* (STANDARDS.md §3);
- ``recalled``: recall requests (BussinessDocType 1, QĐ 28/2018) the agency sent in the period;
- ``overdue``: deliveries with no status 01 *Đã đến* on the day they arrived (NĐ 30/2020 Điều 21: receipt is
  notified "ngay trong ngày", the same day). The day is the Vietnam calendar day of ``delivered_at``; a 01 after
  that day's midnight, or none once that day is over, is overdue. Điều 21 names no working-day exception, so a
  document arriving on a Saturday must be notified that Saturday (the gateway acknowledges automatically when the
  recipient's system fetches it); a delivery of today without a 01 yet is not counted;
- ``median_to_01`` / ``median_to_06``: median seconds from delivery to the first 01 / 06 of that recipient.

Two small queries read one row per delivery / per sent package; the rows are grouped here in Python. That keeps
the calendar arithmetic (time zone, quarters) and the medians (PostgreSQL has ``percentile_cont``, SQLite has no
median) in one place with one result on both databases; the cost is linear in the deliveries of the period
(about 1 s per million deliveries), which suits a statistics page read a few times a day.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from storage.models import Delivery, Package, StatusEntry

__all__ = [
    "VIETNAM",
    "Group",
    "StatRow",
    "StatsQuery",
    "exchange_stats",
    "period_label",
    "period_start",
    "totals_by_period",
]

VIETNAM = timezone(timedelta(hours=7), "ICT")
Group = Literal["day", "month", "quarter"]


@dataclass(frozen=True, slots=True)
class StatsQuery:
    first: date  # Vietnam days, both inclusive
    last: date
    group: Group = "month"
    agency: str | None = None
    now: datetime | None = None  # "today" for the overdue rule; the real time when None


@dataclass(slots=True)
class StatRow:
    agency: str
    period: str
    sent: int = 0
    received: int = 0
    acked: int = 0
    processed: int = 0
    rejected: int = 0
    recalled: int = 0
    overdue: int = 0
    to_01: list[float] = field(default_factory=list, repr=False)
    to_06: list[float] = field(default_factory=list, repr=False)

    @property
    def median_to_01(self) -> float | None:
        return statistics.median(self.to_01) if self.to_01 else None

    @property
    def median_to_06(self) -> float | None:
        return statistics.median(self.to_06) if self.to_06 else None


def period_start(day: date, group: Group) -> date:
    if group == "day":
        return day
    if group == "month":
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_label(day: date, group: Group) -> str:
    if group == "day":
        return day.isoformat()
    if group == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def _local_day(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def _bounds(q: StatsQuery) -> tuple[datetime, datetime]:
    start = datetime.combine(q.first, time(), VIETNAM).astimezone(UTC)
    end = datetime.combine(q.last + timedelta(days=1), time(), VIETNAM).astimezone(UTC)
    return start, end


def _first_status(code: str) -> sa.ScalarSelect[Any]:
    s = aliased(StatusEntry)
    return (
        sa.select(sa.func.min(s.created_at))
        .where(s.package_id == Delivery.package_id, s.agency_code == Delivery.to_code, s.code == code)
        .scalar_subquery()
    )


def _deliveries(session: Session, q: StatsQuery) -> Iterator[Any]:
    start, end = _bounds(q)
    s = aliased(StatusEntry)
    rejected = sa.exists().where(s.package_id == Delivery.package_id, s.agency_code == Delivery.to_code,
                                 s.code == "02")
    query = (
        sa.select(
            Delivery.to_code,
            Delivery.delivered_at,
            Delivery.acked_at,
            _first_status("01").label("first_01"),
            _first_status("06").label("first_06"),
            rejected.label("rejected"),
        )
        .join(Package, Package.id == Delivery.package_id)
        .where(Package.kind == "edoc", Package.business_type == 0, Delivery.delivered_at >= start,
               Delivery.delivered_at < end)
    )
    if q.agency is not None:
        query = query.where(Delivery.to_code == q.agency)
    return iter(session.execute(query))


def _sent(session: Session, q: StatsQuery) -> Iterator[Any]:
    start, end = _bounds(q)
    query = sa.select(Package.from_code, Package.created_at, Package.business_type).where(
        Package.kind == "edoc", Package.business_type.in_((0, 1)), Package.created_at >= start,
        Package.created_at < end,
    )
    if q.agency is not None:
        query = query.where(Package.from_code == q.agency)
    return iter(session.execute(query))


def _as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else (value.replace(tzinfo=UTC) if value.tzinfo is None else value)


def _add_delivery(row: StatRow, r: Any, today: date) -> None:
    delivered = _as_utc(r.delivered_at)
    assert delivered is not None
    first_01, first_06 = _as_utc(r.first_01), _as_utc(r.first_06)
    row.received += 1
    row.acked += r.acked_at is not None
    row.rejected += bool(r.rejected)
    if first_06 is not None:
        row.processed += 1
        row.to_06.append((first_06 - delivered).total_seconds())
    if first_01 is not None:
        row.to_01.append((first_01 - delivered).total_seconds())
    day = _local_day(delivered)
    if (first_01 is None and day < today) or (first_01 is not None and _local_day(first_01) > day):
        row.overdue += 1


def exchange_stats(session: Session, q: StatsQuery) -> list[StatRow]:
    """The statistics of ``q``, one row per (agency, period) with anything to count, sorted by agency then
    period."""
    rows: dict[tuple[str, date], StatRow] = {}

    def row_of(agency: str, at: datetime) -> StatRow:
        start = period_start(_local_day(at), q.group)
        key = (agency, start)
        if key not in rows:
            rows[key] = StatRow(agency, period_label(start, q.group))
        return rows[key]

    today = _local_day(q.now or datetime.now(UTC))
    for r in _deliveries(session, q):
        delivered = _as_utc(r.delivered_at)
        assert delivered is not None
        _add_delivery(row_of(r.to_code, delivered), r, today)
    for r in _sent(session, q):
        created = _as_utc(r.created_at)
        assert created is not None
        target = row_of(r.from_code, created)
        if r.business_type == 0:
            target.sent += 1
        else:
            target.recalled += 1
    return [rows[key] for key in sorted(rows)]


def totals_by_period(table: list[StatRow]) -> dict[str, dict[str, int]]:
    """Counts summed over agencies, per period label (for charts)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in table:
        for name in ("sent", "received", "acked", "processed", "rejected", "recalled", "overdue"):
            out[row.period][name] += getattr(row, name)
    return {period: dict(values) for period, values in sorted(out.items())}
