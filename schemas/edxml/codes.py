"""Enumerations and names of the edXML wire format (STANDARDS §2, §3; QĐ 28/2018/QĐ-TTg)."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["EDXML_NS", "XMLDSIG_NS", "BusinessDocType", "StatusCode"]

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
"""Namespace of QCVN 102:2016 edXML; conventional prefix ``edXML``."""

XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
"""W3C XML-DSig namespace of the enveloped ``Signature`` (inserted by ``signing/``, never by the builder)."""


class BusinessDocType(IntEnum):
    """``Bussiness/BussinessDocType`` (sic): what the package does to a document (STANDARDS §2)."""

    NEW = 0
    RECALL = 1  # thu hồi: MessageHeader/ResponseFor names the recalled document
    UPDATE = 2  # cập nhật: BussinessDocumentInfo says what changed
    REPLACE = 3  # thay thế: ReplacementInfoList names the replaced documents


_STATUS_LABELS = {
    "01": ("Đã đến", "receiver"),
    "02": ("Từ chối tiếp nhận", "receiver"),
    "03": ("Đã tiếp nhận", "receiver"),
    "04": ("Phân công", "receiver"),
    "05": ("Đang xử lý", "receiver"),
    "06": ("Hoàn thành", "receiver"),
    "13": ("Yêu cầu lấy lại", "sender"),
    "15": ("Đồng ý lấy lại/cập nhật", "receiver"),
    "16": ("Từ chối lấy lại/cập nhật", "receiver"),
}


class StatusCode(StrEnum):
    """Status codes of a status package (STANDARDS §3); 07–12 and 14 were never seen and are not defined."""

    ARRIVED = "01"
    REJECTED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    DONE = "06"
    RECALL_REQUESTED = "13"
    CHANGE_ACCEPTED = "15"
    CHANGE_REJECTED = "16"

    @property
    def label_vi(self) -> str:
        """The Vietnamese label clerks read, e.g. ``"Đã đến"``."""
        return _STATUS_LABELS[self.value][0]

    @property
    def sent_by(self) -> str:
        """``"receiver"`` or ``"sender"`` of the original document."""
        return _STATUS_LABELS[self.value][1]
