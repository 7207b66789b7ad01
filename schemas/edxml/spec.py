"""The one table that maps edXML elements to model fields, shared by the builder, the parser and check_limits.

Each :class:`Field` names the wire element, the attribute, the scalar kind or nested :class:`Spec`, and the
limits of STANDARDS §2 / NĐ 30/2020 Phụ lục VI. The order of a spec's fields is the canonical element order
(the order of the kit's samples, STANDARDS §2 table). ``schemas/xsd/edxml.xsd`` states the same rules; the tests
check that what the builder writes validates against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from schemas.edxml.model import (
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentType,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    TraceHeader,
)
from schemas.edxml.package import Attachment, StatusPackage

__all__ = ["Field", "Kind", "Spec"]


class Kind(Enum):
    """How a leaf's text is read and written."""

    TEXT = "text"  # free text, kept verbatim
    CODE = "code"  # short code, surrounding whitespace ignored
    AGENCY = "agency"  # agency identifier NNN.NN.NN.LNN
    DOCID = "docid"  # DocumentId {OrganId},{yyyy/MM/dd},{số}/{ký hiệu}
    DOCREF = "docref"  # the DocumentId of another document, as its sender wrote it (checked on read, echoed as is)
    DATE = "date"  # yyyy/MM/dd
    DATETIME = "datetime"  # yyyy/MM/dd HH:mm:ss
    INT = "int"
    BOOL = "bool"
    DOCTYPE = "doctype"  # BussinessDocType 0-3
    STATUS = "status"  # StatusCode 01-06, 13, 15, 16

    @property
    def is_str(self) -> bool:
        return self in (Kind.TEXT, Kind.CODE, Kind.AGENCY, Kind.DOCID, Kind.DOCREF, Kind.STATUS)


@dataclass(frozen=True, slots=True)
class Field:
    """One child element: ``tag`` on the wire, ``attr`` on the model.

    ``many``: the element repeats (To). ``item``: the element wraps repeated ``item`` children (Appendixes/
    Appendix). ``sub``: the element (or item) is nested. ``required``/``max_len``/``choices``/``minimum`` are
    what we send (check_limits and the XSD); the tolerant parser only reports their absence.
    """

    tag: str
    attr: str
    kind: Kind | None = None
    sub: Spec | None = None
    many: bool = False
    item: str | None = None
    required: bool = False
    max_len: int | None = None
    choices: tuple[Any, ...] | None = None
    minimum: int | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    """A container element's model class and its children in canonical order."""

    cls: type
    fields: tuple[Field, ...]
    ordered: bool = True  # False: the XSD takes the children in any order (the field mixes orders)

    def field(self, tag: str) -> Field | None:
        return next((f for f in self.fields if f.tag == tag), None)


T, K = Kind, Field  # short aliases for the tables below

ORGANIZATION = Spec(Organization, (
    K("OrganId", "organ_id", T.AGENCY, required=True),
    K("OrganizationInCharge", "organization_in_charge", T.TEXT, max_len=500),
    K("OrganName", "organ_name", T.TEXT, max_len=200),
    K("OrganAdd", "organ_add", T.TEXT, max_len=500),
    K("Email", "email", T.TEXT, max_len=100),
    K("Telephone", "telephone", T.TEXT, max_len=20),
    K("Fax", "fax", T.TEXT, max_len=20),
    K("Website", "website", T.TEXT),
), ordered=False)  # fmt: skip
CODE = Spec(Code, (
    K("CodeNumber", "number", T.CODE, required=True, max_len=11),
    K("CodeNotation", "notation", T.CODE, required=True, max_len=30),
))  # fmt: skip
PROMULGATION_INFO = Spec(PromulgationInfo, (
    K("Place", "place", T.TEXT, max_len=50),
    K("PromulgationDate", "date", T.DATE, required=True),
))  # fmt: skip
DOCUMENT_TYPE = Spec(DocumentType, (
    K("Type", "type", T.INT, required=True, choices=(1, 2)),
    K("TypeDetail", "type_detail", T.INT, minimum=0),
    K("TypeName", "type_name", T.TEXT, max_len=100),
))  # fmt: skip
SIGNER_INFO = Spec(SignerInfo, (
    K("Competence", "competence", T.TEXT),
    K("Position", "position", T.TEXT, max_len=100),
    K("FullName", "full_name", T.TEXT, max_len=50),
))  # fmt: skip
OTHER_INFO = Spec(OtherInfo, (
    K("Priority", "priority", T.INT, minimum=0),
    K("SphereOfPromulgation", "sphere_of_promulgation", T.TEXT, max_len=100),
    K("TyperNotation", "typer_notation", T.TEXT, max_len=10),
    K("PromulgationAmount", "promulgation_amount", T.INT, minimum=0),
    K("PageAmount", "page_amount", T.INT, minimum=0),
    K("Direction", "direction", T.BOOL),
    K("Appendixes", "appendixes", T.TEXT, item="Appendix"),
))  # fmt: skip
RESPONSE_FOR = Spec(ResponseFor, (
    K("OrganId", "organ_id", T.AGENCY, required=True),
    K("Code", "code", T.CODE, max_len=42),
    K("PromulgationDate", "promulgation_date", T.DATE),
    K("DocumentId", "document_id", T.DOCREF, required=True),
), ordered=False)  # fmt: skip
TRACE_HEADER = Spec(TraceHeader, (
    K("OrganId", "organ_id", T.AGENCY, required=True),
    K("Timestamp", "timestamp", T.DATETIME, required=True),
))  # fmt: skip
STAFF_INFO = Spec(StaffInfo, (
    K("Department", "department", T.TEXT),
    K("Staff", "staff", T.TEXT),
    K("Email", "email", T.TEXT),
    K("Mobile", "mobile", T.TEXT),
), ordered=False)  # fmt: skip
RECEIVER = Spec(Receiver, (
    K("OrganId", "organ_id", T.AGENCY, required=True),
    K("ReceiverType", "receiver_type", T.INT, minimum=0),
))  # fmt: skip
DOCUMENT_INFO = Spec(BusinessDocumentInfo, (
    K("DocumentInfo", "document_info", T.INT, minimum=0),
    K("DocumentReceiver", "document_receiver", T.INT, minimum=0),
    K("ReceiverList", "receivers", sub=RECEIVER, item="Receiver"),
))  # fmt: skip
REPLACEMENT_INFO = Spec(ReplacementInfo, (
    K("DocumentId", "document_id", T.DOCREF, required=True),
    K("OrganIdList", "organ_ids", T.AGENCY, item="OrganId"),
))  # fmt: skip
BUSINESS = Spec(Business, (
    K("DocumentId", "document_id", T.DOCREF),
    K("BussinessDocType", "doc_type", T.DOCTYPE, required=True),
    K("BussinessDocReason", "doc_reason", T.TEXT),
    K("Paper", "paper", T.INT, minimum=0),
    K("BussinessDocumentInfo", "document_info", sub=DOCUMENT_INFO),
    K("ReplacementInfoList", "replacements", sub=REPLACEMENT_INFO, item="ReplacementInfo"),
    K("StaffInfo", "staff_info", sub=STAFF_INFO),
))  # fmt: skip
MESSAGE_HEADER = Spec(MessageHeader, (
    K("From", "from_", sub=ORGANIZATION, required=True),
    K("To", "to", sub=ORGANIZATION, many=True, required=True),
    K("DocumentId", "document_id", T.DOCID, required=True),
    K("Code", "code", sub=CODE, required=True),
    K("PromulgationInfo", "promulgation_info", sub=PROMULGATION_INFO, required=True),
    K("DocumentType", "document_type", sub=DOCUMENT_TYPE, required=True),
    K("Subject", "subject", T.TEXT, required=True, max_len=500),
    K("Content", "content", T.TEXT, max_len=500),
    K("SignerInfo", "signer_info", sub=SIGNER_INFO),
    K("DueDate", "due_date", T.DATE),
    K("OtherInfo", "other_info", sub=OTHER_INFO),
    K("ResponseFor", "response_for", sub=RESPONSE_FOR, many=True),
    K("SteeringType", "steering_type", T.INT, minimum=0),
    K("ToPlaces", "to_places", T.TEXT, item="Place", max_len=150),
))  # fmt: skip
STATUS_HEADER = Spec(StatusPackage, (
    K("From", "from_", sub=ORGANIZATION, required=True),
    K("ResponseFor", "response_for", sub=RESPONSE_FOR, required=True),
    K("StaffInfo", "staff_info", sub=STAFF_INFO),
    K("StatusCode", "status_code", T.STATUS, required=True),
    K("Description", "description", T.TEXT),
    K("Timestamp", "timestamp", T.DATETIME, required=True),
))  # fmt: skip
ATTACHMENT = Spec(Attachment, (
    K("ContentId", "content_id", T.CODE, required=True),
    K("AttachmentName", "name", T.TEXT, required=True),
    K("Description", "description", T.TEXT),
    K("ContentType", "content_type", T.CODE, required=True),
))  # fmt: skip
REFERENCE = Spec(Attachment, (
    K("ContentId", "content_id", T.CODE, required=True),
    K("ContentType", "content_type", T.CODE, required=True),
    K("Description", "description", T.TEXT),
    K("AttachmentName", "name", T.TEXT, required=True),
))  # fmt: skip
"""Manifest Reference: the attachment's metadata in another order (STANDARDS §2)."""
