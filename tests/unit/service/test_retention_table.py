"""The retention table (service/archive/retention.py): first matching rule by tên loại and issuing agency, then
the default; "Vĩnh viễn" is a legal hold, N years a COMPLIANCE date; bad tables refuse with a stable code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.archive.errors import ArchiveError
from service.archive.retention import Period, RetentionTable, parse_period

START = datetime(2026, 12, 7, tzinfo=UTC)


def test_periods() -> None:
    assert parse_period("Vĩnh viễn") == Period(None) and parse_period("permanent") == Period(None)
    assert parse_period("10 năm") == parse_period(10) == parse_period("10") == Period(10)
    assert Period(None).label == "Vĩnh viễn" and Period(20).label == "20 năm"
    assert Period(5).until(START) == datetime(2031, 12, 7, tzinfo=UTC)
    assert Period(1).until(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2029, 2, 28, tzinfo=UTC)
    hold = Period(None).retention(START)
    assert hold.legal_hold and hold.until is None
    assert Period(10).retention(START).until == datetime(2036, 12, 7, tzinfo=UTC)
    for bad in ("", "mãi mãi", 0, -3, "10 tháng", True):
        with pytest.raises(ArchiveError) as refused:
            parse_period(bad)
        assert refused.value.code == "invalid_retention_table"


def test_first_matching_rule_wins(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"default": "5 năm", "rules": [
        {"type_name": "Nghị quyết", "retention": "Vĩnh viễn"},
        {"type_name": "Công văn", "agency": "000.00.00.G09", "retention": "20 năm"},
        {"agency": "*.H53", "retention": 50},
        {"agency": "000.00.00.*", "retention": "70 năm"},
    ]}, ensure_ascii=False), encoding="utf-8")
    table = RetentionTable.load(path, "10 năm")
    assert table.period_for("NGHỊ QUYẾT", "000.00.11.H53") == Period(None)
    assert table.period_for("Công văn", "000.00.00.G09") == Period(20)
    assert table.period_for("Công văn", "000.00.12.H53") == Period(50)
    assert table.period_for("Tờ trình", "000.00.00.G22") == Period(70)
    assert table.period_for("Tờ trình", "000.00.01.G22") == Period(5)  # the file's default
    assert RetentionTable.load(None, "Vĩnh viễn").period_for("x", "y") == Period(None)


@pytest.mark.parametrize("content", ["not json", "[]", '{"rules": [{"retention": "5"}]}',
                                     '{"rules": [{"type_name": "x", "retention": "forever"}]}'])
def test_bad_tables_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ArchiveError) as refused:
        RetentionTable.load(path, "10 năm")
    assert refused.value.code == "invalid_retention_table"


def test_a_bad_table_refuses_the_settings(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from service.settings import Settings

    path = tmp_path / "t.json"
    path.write_text('{"rules": [{"type_name": "x", "retention": "forever"}]}', encoding="utf-8")
    with pytest.raises(ValidationError, match="not a retention period"):
        Settings(retention_table=path)
    with pytest.raises(ValidationError, match="not a retention period"):
        Settings(retention_default="sometimes")
    assert Settings(retention_default="Vĩnh viễn").retention_default == "Vĩnh viễn"
