"""Thời hạn bảo quản: which retention an AIP gets (issue 20 item 3).

A table of rules, first match wins, then a default. A rule matches on the document type (tên loại, compared
without case) and/or the issuing agency (a code, or a prefix of codes ending with ``*``). Its period is
``"Vĩnh viễn"`` (permanent: an S3 legal hold) or ``"N năm"`` / ``N`` (N years: S3 Object Lock COMPLIANCE until the
archiving day plus N years). The format of ``EDOC_RETENTION_TABLE`` (a JSON file) is in docs/configuration.md::

    {"default": "10 năm",
     "rules": [{"type_name": "Nghị quyết", "retention": "Vĩnh viễn"},
               {"agency": "000.00.00.G09", "type_name": "Công văn", "retention": "20 năm"},
               {"agency": "*.H53", "retention": "50 năm"}]}

STANDARDS.md §6 names the periods ("Vĩnh viễn" or 5, 10, 20, 50, 70 years) but no period per type: the built-in
default (``EDOC_RETENTION_DEFAULT``, "10 năm") is a configurable default, not a legal one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from service.archive.errors import ArchiveError
from storage.interfaces import Retention

__all__ = ["Period", "RetentionTable", "parse_period"]

_YEARS = re.compile(r"^\s*(\d{1,3})\s*(năm|nam|years?)?\s*$", re.IGNORECASE)
_PERMANENT = ("vĩnh viễn", "vinh vien", "permanent")


@dataclass(frozen=True, slots=True)
class Period:
    """A retention period: ``years`` None means permanent."""

    years: int | None

    @property
    def label(self) -> str:
        """As written in the descriptive metadata (TT 02/2019 Maintenance)."""
        return "Vĩnh viễn" if self.years is None else f"{self.years} năm"

    def until(self, start: datetime) -> datetime | None:
        if self.years is None:
            return None
        try:
            return start.replace(year=start.year + self.years)
        except ValueError:  # 29 February
            return start.replace(year=start.year + self.years, day=28)

    def retention(self, start: datetime) -> Retention:
        return Retention.permanent() if self.years is None else Retention(until=self.until(start))


def parse_period(value: Any) -> Period:
    """``"Vĩnh viễn"`` / ``"permanent"`` or a number of years (``10``, ``"10 năm"``)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1000:
        return Period(value)
    if isinstance(value, str):
        if value.strip().lower() in _PERMANENT:
            return Period(None)
        if (m := _YEARS.match(value)) and int(m.group(1)) > 0:
            return Period(int(m.group(1)))
    raise ArchiveError(f"not a retention period: {value!r} (use \"Vĩnh viễn\" or a number of years)",
                       code="invalid_retention_table")


@dataclass(frozen=True, slots=True)
class _Rule:
    type_name: str | None
    agency: str | None
    period: Period

    def matches(self, type_name: str | None, agency: str) -> bool:
        if self.type_name is not None and (type_name or "").strip().lower() != self.type_name:
            return False
        if self.agency is None:
            return True
        if self.agency.startswith("*"):
            return agency.endswith(self.agency[1:])
        if self.agency.endswith("*"):
            return agency.startswith(self.agency[:-1])
        return agency == self.agency


@dataclass(frozen=True, slots=True)
class RetentionTable:
    default: Period
    rules: tuple[_Rule, ...] = ()

    def period_for(self, type_name: str | None, agency: str) -> Period:
        for rule in self.rules:
            if rule.matches(type_name, agency):
                return rule.period
        return self.default

    @classmethod
    def load(cls, path: Path | None, default: str) -> RetentionTable:
        """The table of ``path`` (JSON, module docstring), its ``default`` overriding ``default``; none: only it."""
        if path is None:
            return cls(parse_period(default))
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArchiveError(f"cannot read the retention table {path}: {exc}",
                               code="invalid_retention_table") from None
        if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
            raise ArchiveError(f"retention table {path}: expected {{\"default\": …, \"rules\": [...]}}",
                               code="invalid_retention_table")
        rules = []
        for n, row in enumerate(data.get("rules", []), 1):
            if not isinstance(row, dict) or "retention" not in row or not ({"type_name", "agency"} & row.keys()):
                raise ArchiveError(f"retention table {path}: rule {n} needs \"retention\" and a \"type_name\" "
                                   "or an \"agency\"", code="invalid_retention_table")
            type_name = row.get("type_name")
            rules.append(_Rule(type_name.strip().lower() if type_name else None, row.get("agency"),
                               parse_period(row["retention"])))
        return cls(parse_period(data.get("default", default)), tuple(rules))
