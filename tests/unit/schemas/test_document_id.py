"""DocumentId, status codes and wire scalars (STANDARDS §2, §3)."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.edxml import BusinessDocType, Code, DocumentId, InvalidDocumentId, StatusCode
from schemas.edxml.wire import WireValueError, format_datetime, parse_date, parse_datetime


def test_parse_and_round_trip() -> None:
    text = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    doc_id = DocumentId.parse(text)
    assert doc_id.organ_id == "000.00.00.G22"
    assert doc_id.date == dt.date(2015, 9, 30)
    assert (doc_id.number, doc_id.notation) == ("7816", "VPCP-TTĐT")
    assert str(doc_id) == text


def test_notation_keeps_further_slashes() -> None:
    doc_id = DocumentId.parse("000.00.00.G22,2020/04/05,30/2020/NĐ-CP")
    assert (doc_id.number, doc_id.notation) == ("30", "2020/NĐ-CP")
    assert str(doc_id) == "000.00.00.G22,2020/04/05,30/2020/NĐ-CP"


def test_for_builds_from_code() -> None:
    doc_id = DocumentId.for_("000.00.00.G09", dt.date(2024, 1, 2), Code(number="05", notation="BNV-VP"))
    assert str(doc_id) == "000.00.00.G09,2024/01/02,05/BNV-VP"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("9fbfbad2-f1f8-4256-a2eb-50fb1061cddb", "expected {OrganId}"),
        ("000.00.00.G22,2014/02/30,7806/VPCP-TTĐT", "not a date that exists"),
        ("28.22.H17,2015/09/30,7816/VPCP", "not an agency code"),
        ("000.00.00.G22,2015-09-30,7816/VPCP", "yyyy/MM/dd"),
        ("000.00.00.G22,2015/09/30,7816", "{số}/{ký hiệu}"),
        ("000.00.00.G22,2015/09/30,/VPCP", "{số}/{ký hiệu}"),
    ],
)
def test_invalid_document_ids(text: str, reason: str) -> None:
    with pytest.raises(InvalidDocumentId) as caught:
        DocumentId.parse(text)
    assert caught.value.code == "invalid_document_id"
    assert reason in str(caught.value)


def test_status_codes_and_labels() -> None:
    assert [c.value for c in StatusCode] == ["01", "02", "03", "04", "05", "06", "13", "15", "16"]
    assert StatusCode.ARRIVED.label_vi == "Đã đến"
    assert StatusCode("02").label_vi == "Từ chối tiếp nhận"
    assert StatusCode.DONE.label_vi == "Hoàn thành"
    assert StatusCode.RECALL_REQUESTED.sent_by == "sender"
    assert StatusCode.CHANGE_REJECTED.label_vi == "Từ chối lấy lại/cập nhật"
    assert StatusCode.ARRIVED == "01" and str(StatusCode.ARRIVED) == "01"
    with pytest.raises(ValueError):
        StatusCode("07")


def test_business_doc_types() -> None:
    assert [int(t) for t in BusinessDocType] == [0, 1, 2, 3]
    assert BusinessDocType(1) is BusinessDocType.RECALL


def test_wire_dates() -> None:
    assert parse_date("2019/01/17") == dt.date(2019, 1, 17)
    assert parse_datetime("2018/06/20 16:35:56") == dt.datetime(2018, 6, 20, 16, 35, 56)
    with pytest.raises(WireValueError) as caught:
        parse_date("2014/02/30")
    assert caught.value.code == "impossible_date"
    with pytest.raises(WireValueError) as caught:
        parse_datetime("2018/06/20T16:35:56")
    assert caught.value.code == "bad_date_format"


def test_aware_timestamps_are_written_in_vietnam_time() -> None:
    utc = dt.datetime(2024, 1, 1, 20, 30, 5, 999, tzinfo=dt.UTC)
    assert format_datetime(utc) == "2024/01/02 03:30:05"
