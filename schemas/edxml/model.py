"""The parts of an edXML MessageHeader and of Bussiness, as frozen values (STANDARDS §2, QCVN 102:2016).

Field names are the wire's, in snake case; the wire's element names and order live in :mod:`.spec`. Identifiers
(``organ_id``, ``document_id``) are the wire's text, because field packages carry malformed ones that a tolerant
reader must keep: use :class:`schemas.agency.AgencyCode` / :class:`~schemas.edxml.document_id.DocumentId` to
interpret them. Optional fields default to ``None`` or ``()``; an empty string means "absent" to the builder.
Dates are :class:`datetime.date`, timestamps naive :class:`datetime.datetime` in Vietnam local time; a date that
does not exist on the wire is read as ``None`` (with an oddity).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from schemas.agency import AgencyCode
from schemas.edxml.codes import BusinessDocType

__all__ = [
    "Business",
    "BusinessDocumentInfo",
    "Code",
    "DocumentType",
    "MessageHeader",
    "Organization",
    "OtherInfo",
    "PromulgationInfo",
    "Receiver",
    "ReplacementInfo",
    "ResponseFor",
    "SignerInfo",
    "StaffInfo",
    "TraceHeader",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Organization:
    """From / To: an agency (OrganId 13 chars, OrganName ≤200, OrganAdd ≤500, Email ≤100, phones ≤20)."""

    organ_id: str
    organ_name: str | None = None
    organization_in_charge: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None

    @property
    def agency_code(self) -> AgencyCode:
        """``organ_id`` as a validated code; raises :class:`schemas.errors.InvalidAgencyCode`."""
        return AgencyCode.parse(self.organ_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Code:
    """Số (CodeNumber ≤11) and ký hiệu (CodeNotation ≤30) of a document (NĐ 30/2020)."""

    number: str
    notation: str

    def __str__(self) -> str:
        return f"{self.number}/{self.notation}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromulgationInfo:
    place: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentType:
    """Type (1 or 2), TypeDetail, TypeName (e.g. "Công văn", ≤100)."""

    type: int | None = None
    type_detail: int | None = None
    type_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignerInfo:
    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherInfo:
    """Priority (0–4, meaning configurable), SphereOfPromulgation ≤100, TyperNotation ≤10, amounts, appendixes."""

    priority: int | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseFor:
    """The document this one answers (or recalls): OrganId, Code ("7816/VPCP-TTĐT"), date, DocumentId."""

    organ_id: str | None = None
    code: str | None = None
    promulgation_date: dt.date | None = None
    document_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceHeader:
    """One relay of the package; each relay appends one (STANDARDS §2, §8)."""

    organ_id: str
    timestamp: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffInfo:
    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Receiver:
    """BussinessDocumentInfo/ReceiverList/Receiver of an update (type 2)."""

    organ_id: str
    receiver_type: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessDocumentInfo:
    """What an update (type 2) changes: DocumentInfo and DocumentReceiver flags, and the receivers."""

    document_info: int | None = None
    document_receiver: int | None = None
    receivers: tuple[Receiver, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplacementInfo:
    """ReplacementInfoList/ReplacementInfo of a replacement (type 3): the replaced document and its receivers."""

    document_id: str
    organ_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Business:
    """TraceHeaderList/Bussiness (sic): new, recall, update or replacement of a document."""

    doc_type: BusinessDocType
    document_id: str | None = None
    doc_reason: str | None = None
    paper: int | None = None
    staff_info: StaffInfo | None = None
    document_info: BusinessDocumentInfo | None = None
    replacements: tuple[ReplacementInfo, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageHeader:
    """MessageHeader of a document package, fields in wire order (STANDARDS §2 table)."""

    from_: Organization
    to: tuple[Organization, ...] = ()
    document_id: str | None = None
    code: Code | None = None
    promulgation_info: PromulgationInfo | None = None
    document_type: DocumentType | None = None
    subject: str | None = None
    content: str | None = None
    signer_info: SignerInfo | None = None
    due_date: dt.date | None = None
    other_info: OtherInfo | None = None
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    to_places: tuple[str, ...] = ()
