"""Builders of valid packages shared by the schemas tests."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.edxml import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentType,
    EdocPackage,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)

DOC_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"


def make_edoc(**changes: object) -> EdocPackage:
    header = MessageHeader(
        from_=Organization(organ_id="000.00.00.G22", organ_name="Văn phòng Chính phủ", email="vpcp@gov.vn"),
        to=(Organization(organ_id="000.00.00.H41", organ_name="UBND Tỉnh Nghệ An"),),
        document_id=DOC_ID,
        code=Code(number="7816", notation="VPCP-TTĐT"),
        promulgation_info=PromulgationInfo(place="Hà Nội", date=dt.date(2015, 9, 30)),
        document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
        subject="V/v kết nối, liên thông phần mềm quản lý văn bản",
        signer_info=SignerInfo(competence="TL. BỘ TRƯỞNG", position="Cục trưởng", full_name="Nguyễn Thanh Phúc"),
        due_date=dt.date(2015, 10, 30),
        other_info=OtherInfo(priority=0, page_amount=2, direction=False, appendixes=("Phụ lục I",)),
        steering_type=1,
        to_places=("Các bộ, cơ quan ngang bộ",),
    )
    values: dict[str, object] = {
        "header": header,
        "trace": (TraceHeader(organ_id="000.00.00.G22", timestamp=dt.datetime(2015, 9, 30, 8, 0, 0)),),
        "business": Business(
            doc_type=BusinessDocType.NEW,
            document_id=DOC_ID,
            doc_reason="Văn bản điện tử mới",
            paper=0,
            staff_info=StaffInfo(department="Văn thư", staff="Nguyễn Thị Ngọc Trâm"),
        ),
        "attachments": (
            Attachment(content_id="cid:1", name="7816.pdf", content_type="application/pdf", data=b"%PDF-1.7 ..."),
        ),
    }
    values.update(changes)
    return EdocPackage(**values)  # type: ignore[arg-type]


def make_status(**changes: object) -> StatusPackage:
    values: dict[str, object] = {
        "from_": Organization(organ_id="000.00.00.H41", organ_name="UBND Tỉnh Nghệ An"),
        "response_for": ResponseFor(
            organ_id="000.00.00.G22", code="7816/VPCP-TTĐT", promulgation_date=dt.date(2015, 9, 30), document_id=DOC_ID
        ),
        "staff_info": StaffInfo(department="Văn thư văn phòng", staff="Nguyễn Thị Ngọc Trâm"),
        "status_code": "01",
        "description": "Đã đến",
        "timestamp": dt.datetime(2015, 9, 30, 17, 25, 11),
    }
    values.update(changes)
    return StatusPackage(**values)  # type: ignore[arg-type]


@pytest.fixture
def edoc() -> EdocPackage:
    return make_edoc()


@pytest.fixture
def status() -> StatusPackage:
    return make_status()
