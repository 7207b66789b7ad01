"""The TT 02/2019/TT-BNV descriptive metadata of one archived document (``metadata/descriptive/``), as XML.

No official XML schema for these fields is published; the element names follow NĐ 30/2020 Phụ lục VI where a
field exists there (``CodeNumber``, ``CodeNotation``, ``TypeName``, ``Subject``…) and name the TT 02/2019 ones
after their meaning, in the namespace :data:`TT02_NS`. Lengths are TT 02/2019's (``../shared/STANDARDS.md`` §6);
a longer value is refused (strict in what we send), never cut.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from lxml import etree

from schemas.errors import SchemaError

__all__ = ["TT02_NS", "DocumentMetadata", "TransferDocument", "TransferMetadata", "descriptive_xml", "transfer_xml"]

TT02_NS = "urn:edoc-gateway:tt02-2019:document:1"
_T = f"{{{TT02_NS}}}"


@dataclass(frozen=True, slots=True)
class DocumentMetadata:
    """Thông tin đầu vào của một văn bản lưu trữ (TT 02/2019, Điều 10); ``None``: not known for this document."""

    identifier: str  # Mã định danh văn bản (25)
    code_number: str  # Số (11)
    code_notation: str  # Ký hiệu (30)
    issued_date: date  # Ngày tháng năm văn bản
    type_name: str  # Tên loại văn bản
    subject: str  # Trích yếu nội dung (500)
    organ_name: str  # Cơ quan, tổ chức ban hành
    retention: str  # Thời hạn bảo quản: "Vĩnh viễn" or "N năm"
    language: str = "Tiếng Việt"  # Ngôn ngữ (100)
    file_code: str | None = None  # Mã hồ sơ
    catalog_year: str | None = None  # Mục lục số hoặc năm hình thành hồ sơ
    file_notation: str | None = None  # Số và ký hiệu hồ sơ (20)
    ordinal: int | None = None  # Số thứ tự văn bản trong hồ sơ
    page_amount: int | None = None  # Số lượng trang (4 digits)
    description: str | None = None  # Ghi chú (500)
    information_sign: str | None = None  # Ký hiệu thông tin (30)
    keywords: str | None = None  # Từ khóa (100)
    use_mode: str | None = None  # Chế độ sử dụng (20)
    confidence: str | None = None  # Mức độ tin cậy (30)
    autograph: str | None = None  # Bút tích (2000)
    physical_state: str | None = None  # Tình trạng vật lý (50)
    security_level: str | None = None  # Độ mật
    priority: str | None = None  # Mức độ khẩn
    signer_position: str | None = None  # Chức vụ người ký (100)
    signer_name: str | None = None  # Họ tên người ký (50)


#: field → (element name, longest value); the element order of the XML is this table's.
_ELEMENTS: dict[str, tuple[str, int | None]] = {
    "identifier": ("Identifier", 25),
    "file_code": ("FileCode", 50),
    "catalog_year": ("FileCatalog", 20),
    "file_notation": ("FileNotation", 20),
    "ordinal": ("DocOrdinal", 3),
    "type_name": ("TypeName", 100),
    "code_number": ("CodeNumber", 11),
    "code_notation": ("CodeNotation", 30),
    "issued_date": ("IssuedDate", None),
    "organ_name": ("OrganName", 200),
    "subject": ("Subject", 500),
    "language": ("Language", 100),
    "page_amount": ("PageAmount", 4),
    "description": ("Description", 500),
    "information_sign": ("InformationSign", 30),
    "keywords": ("Keywords", 100),
    "use_mode": ("UseMode", 20),
    "confidence": ("Confidence", 30),
    "autograph": ("Autograph", 2000),
    "physical_state": ("PhysicalState", 50),
    "security_level": ("SecurityLevel", 30),
    "priority": ("Priority", 30),
    "signer_position": ("SignerPosition", 100),
    "signer_name": ("SignerFullName", 50),
    "retention": ("Maintenance", 30),
}
assert set(_ELEMENTS) == {f.name for f in fields(DocumentMetadata)}


def descriptive_xml(metadata: DocumentMetadata) -> bytes:
    """The document's descriptive metadata file; :class:`SchemaError` (``unrepresentable_value``) for a value
    longer than TT 02/2019 allows."""
    root = etree.Element(_T + "DocumentMetadata", nsmap={None: TT02_NS})
    for name, (element, longest) in _ELEMENTS.items():
        value = getattr(metadata, name)
        if value is None:
            continue
        text = value.isoformat() if isinstance(value, date) else str(value)
        if longest is not None and len(text) > longest:
            raise SchemaError(f"{element} is longer than {longest} characters", code="unrepresentable_value")
        etree.SubElement(root, _T + element).text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclass(frozen=True, slots=True)
class TransferDocument:
    """One document of a nộp lưu transfer: its AIP, where its METS lies in the transfer, and its TT 02/2019
    record (the AIP's ``metadata/descriptive/document.xml``, copied as is)."""

    aip_id: str
    mets_href: str
    record: bytes


@dataclass(frozen=True, slots=True)
class TransferMetadata:
    """The set a transfer (SIP) carries: an agency's documents of a year, or a list of documents."""

    identifier: str  # urn:uuid:… of the transfer
    created: str  # ISO 8601 time of the transfer
    documents: tuple[TransferDocument, ...]
    agency: str | None = None  # Cơ quan, tổ chức giao nộp (code)
    year: int | None = None  # Năm hình thành
    requested: tuple[str, ...] = ()  # the ids the transfer was asked for (a list, not an agency + year)


_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


def transfer_xml(metadata: TransferMetadata) -> bytes:
    """``metadata/descriptive/transfer.xml``: the set (agency and year, or the ids asked for), the number of
    documents, the range of their issue dates, and every document's TT 02/2019 record in order."""
    root = etree.Element(_T + "TransferMetadata", nsmap={None: TT02_NS})
    etree.SubElement(root, _T + "Identifier").text = metadata.identifier
    etree.SubElement(root, _T + "Created").text = metadata.created
    if metadata.agency is not None:
        etree.SubElement(root, _T + "Agency").text = metadata.agency
    if metadata.year is not None:
        etree.SubElement(root, _T + "Year").text = str(metadata.year)
    if metadata.requested:
        asked = etree.SubElement(root, _T + "Requested")
        for ident in metadata.requested:
            etree.SubElement(asked, _T + "Id").text = ident
    etree.SubElement(root, _T + "DocumentCount").text = str(len(metadata.documents))
    records = [etree.fromstring(d.record, _SAFE) for d in metadata.documents]
    dates = sorted(d for r in records if (d := r.findtext(_T + "IssuedDate")))
    if dates:
        etree.SubElement(root, _T + "StartDate").text = dates[0]
        etree.SubElement(root, _T + "EndDate").text = dates[-1]
    listed = etree.SubElement(root, _T + "Documents")
    for n, (doc, record) in enumerate(zip(metadata.documents, records, strict=True), 1):
        if record.tag != _T + "DocumentMetadata":
            raise SchemaError(f"{doc.aip_id}: not a TT 02/2019 document record", code="invalid_archive_value")
        entry = etree.SubElement(listed, _T + "Document")
        entry.set("ordinal", str(n))
        entry.set("aip", doc.aip_id)
        entry.set("mets", doc.mets_href)
        entry.append(record)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
