"""Packages the gateway builds for a caller: from a native JSON header + files, a business status, and the
recall, update and replacement of a document (BussinessDocType 1, 2, 3; QĐ 28/2018, STANDARDS.md §2).

These go through the same submit path as packages that arrive whole; being built here from authenticated input,
they skip the incoming-signature policy (there is no sender signature to check) and are signed by the node.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from schemas.agency import AgencyCode
from schemas.edxml import (
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentId,
    DocumentType,
    EdocPackage,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    parse_package,
)
from schemas.edxml.writer import canonical_body
from service.context import Gateway
from service.exchange.clock import vn_wall_clock
from service.exchange.directory import AgencyCache, Caller, organization_of
from service.exchange.errors import Conflict, Forbidden, Invalid, NotFound
from service.exchange.statuses import LABELS_VI, TAKEN_BACK
from signing.keys import KeyMaterial
from signing.xmldsig import sign_canonical_package, sign_package
from storage.models import Agency, Package

__all__ = [
    "DocumentChanges",
    "FileInput",
    "HeaderInput",
    "edoc_from_header",
    "organization",
    "recall_package",
    "recipients_to_take_back",
    "replacement_package",
    "sign_built",
    "status_package",
    "update_package",
]


@dataclass(frozen=True, slots=True)
class FileInput:
    """An uploaded file: in memory (``data``) or, for large ones, in a temporary file (``path``)."""

    name: str
    content_type: str
    data: bytes = b""
    path: Path | None = None
    description: str | None = None

    def sha256(self) -> str:
        if self.path is None:
            return hashlib.sha256(self.data).hexdigest()
        digest = hashlib.sha256()
        with open(self.path, "rb") as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class HeaderInput:
    """The native API's document header (``multipart/form-data`` part ``header``)."""

    from_code: str
    to: Sequence[str]
    number: str
    notation: str
    subject: str
    type_name: str = "Công văn"
    type: int = 1
    content: str | None = None
    place: str | None = None
    date: dt.date | None = None
    signer: dict[str, str] | None = None
    due_date: dt.date | None = None
    priority: int | None = None
    sphere_of_promulgation: str | None = None
    security_level: str | None = None
    steering_type: int | None = None
    to_places: Sequence[str] = ()
    staff: dict[str, str] | None = None


def organization(session: Session, code: str, agencies: AgencyCache | None = None) -> Organization:
    """The From/To block of agency ``code`` (read through ``agencies`` when given); NotFound if not listed."""
    if agencies is not None:
        entry = agencies.lookup(session, [code]).get(code)
        if entry is None:
            raise NotFound(f"agency {code} is not in the directory", code="unknown_agency")
        return entry.organization
    agency = session.get(Agency, code)
    if agency is None:
        raise NotFound(f"agency {code} is not in the directory", code="unknown_agency")
    return organization_of(agency)


def _recipient(session: Session, code: str, agencies: AgencyCache | None = None) -> Organization:
    try:
        return organization(session, code, agencies)
    except NotFound as exc:
        raise Invalid(
            f"recipient {code} is not an agency of the directory", code="unknown_recipient", agency=code
        ) from exc


def _staff(data: dict[str, str] | None) -> StaffInfo | None:
    if not data:
        return None
    return StaffInfo(
        department=data.get("department"), staff=data.get("staff"), email=data.get("email"), mobile=data.get("mobile")
    )


def edoc_from_header(
    session: Session, header: HeaderInput, files: Sequence[FileInput], agencies: AgencyCache | None = None
) -> EdocPackage:
    """The document package of a native header (``agencies``: the gateway's directory cache, if any)."""
    if agencies is not None and agencies.ttl > 0:  # one query for the sender and all recipients, then cached
        agencies.lookup(session, [header.from_code, *header.to])
    date = header.date or vn_wall_clock().date()
    code = Code(number=header.number, notation=header.notation)
    signer = header.signer or {}
    msg = MessageHeader(
        from_=organization(session, header.from_code, agencies),
        to=tuple(_recipient(session, c, agencies) for c in dict.fromkeys(header.to)),
        document_id=str(DocumentId.for_(header.from_code, date, code)),
        code=code,
        promulgation_info=PromulgationInfo(place=header.place, date=date),
        document_type=DocumentType(type=header.type, type_name=header.type_name),
        subject=header.subject,
        content=header.content,
        signer_info=SignerInfo(
            competence=signer.get("competence"), position=signer.get("position"), full_name=signer.get("full_name")
        )
        if signer
        else None,
        due_date=header.due_date,
        other_info=OtherInfo(priority=header.priority, sphere_of_promulgation=header.sphere_of_promulgation),
        steering_type=header.steering_type,
        to_places=tuple(header.to_places),
    )
    attachments = tuple(
        Attachment(
            content_id=f"cid:{n}", name=f.name, content_type=f.content_type, description=f.description, data=f.data
        )
        for n, f in enumerate(files, start=1)
    )
    business = Business(
        doc_type=BusinessDocType.NEW, document_id=msg.document_id, paper=0, staff_info=_staff(header.staff)
    )
    return EdocPackage(header=msg, business=business, attachments=attachments)


def status_package(
    session: Session,
    *,
    original: Package,
    from_code: str,
    code: str,
    description: str | None,
    staff: dict[str, str] | None,
    agencies: AgencyCache | None = None,
) -> StatusPackage:
    sender = organization(session, from_code, agencies)
    return status_about(original, sender=sender, code=code, description=description, staff=staff)


class DocumentFacts(Protocol):
    """What a status package says about the document it answers: a Package row, or the same columns."""

    @property
    def id(self) -> str: ...
    @property
    def from_code(self) -> str: ...
    @property
    def document_id(self) -> str: ...
    @property
    def summary(self) -> dict[str, Any]: ...


def status_about(
    original: DocumentFacts, *, sender: Organization, code: str, description: str | None, staff: dict[str, str] | None
) -> StatusPackage:
    """A status package from ``sender`` about ``original`` (ResponseFor from the original's recorded summary)."""
    summary = original.summary or {}
    notation = summary.get("code_notation")
    number = summary.get("code_number")
    date = summary.get("promulgation_date")
    return StatusPackage(
        from_=sender,
        response_for=ResponseFor(
            organ_id=original.from_code,
            code=f"{number}/{notation}" if number and notation else None,
            promulgation_date=dt.date.fromisoformat(date) if date else None,
            document_id=original.document_id,
        ),
        status_code=code,
        timestamp=vn_wall_clock(),
        staff_info=_staff(staff),
        description=description or LABELS_VI.get(code),
    )


def recipients_to_take_back(caller: Caller, original: Package, to: Sequence[str] | None, *, verb: str) -> list[str]:
    """The recipients a recall, update or replacement (QĐ 28/2018) of ``original`` is addressed to, checked.

    ``to`` names some of the document's recipients (default: every one whose copy has not been taken back yet).
    Refusals, each with a stable code: ``not_document_sender`` (403), ``not_recallable`` (422: not an original
    document), ``not_a_recipient`` (422), ``recall_pending`` (422: a request to that recipient awaits its 15/16),
    ``already_recalled`` (409: that copy was already taken back)."""
    if not caller.may_act_for(original.from_code):
        raise Forbidden(f"only the sender of a document may {verb} it", code="not_document_sender")
    if original.kind != "edoc" or original.business_type != 0:
        past = {"recall": "recalled", "update": "updated", "replace": "replaced"}.get(verb, verb)
        raise Invalid(f"only an original document can be {past}", code="not_recallable")
    recipients = {d.to_code: d for d in original.deliveries}
    chosen = list(dict.fromkeys(to)) if to else [c for c, d in recipients.items() if d.recall_state not in TAKEN_BACK]
    unknown = [c for c in chosen if c not in recipients]
    if unknown:
        raise Invalid(f"{', '.join(unknown)} did not receive this document", code="not_a_recipient")
    # Named copies already taken back are refused; by default, only when no copy is left to take back.
    default_gone = [] if chosen else list(recipients)
    gone = [c for c in chosen if recipients[c].recall_state in TAKEN_BACK] if to else default_gone
    if gone:
        raise Conflict(f"the copy of {', '.join(gone)} was already taken back by its sender", code="already_recalled")
    pending = [c for c in chosen if recipients[c].recall_state == "requested"]
    if pending:
        raise Invalid(f"a recall request to {', '.join(pending)} is already pending", code="recall_pending")
    return chosen


def _stored_document(gw: Gateway, original: Package) -> EdocPackage:
    parsed = parse_package(gw.blobs.read(original.blob_sha256, original.size))
    assert parsed.edoc is not None
    return parsed.edoc


def recall_package(
    gw: Gateway,
    session: Session,
    caller: Caller,
    original: Package,
    *,
    to: Sequence[str] | None,
    reason: str | None,
    staff: dict[str, str] | None,
) -> EdocPackage:
    """A recall (BussinessDocType 1, QĐ 28/2018) of ``original`` for some or all of its recipients."""
    chosen = recipients_to_take_back(caller, original, to, verb="recall")
    header = _stored_document(gw, original).header
    rf = ResponseFor(
        organ_id=original.from_code,
        code=str(header.code) if header.code else None,
        promulgation_date=header.promulgation_info.date if header.promulgation_info else None,
        document_id=original.document_id,
    )
    new_header = replace(header, to=tuple(organization(session, c) for c in chosen), response_for=(rf,))
    business = Business(
        doc_type=BusinessDocType.RECALL,
        document_id=original.document_id,
        doc_reason=reason or "Thu hồi văn bản điện tử",
        paper=0,
        staff_info=_staff(staff),
    )
    return EdocPackage(header=new_header, business=business)


@dataclass(frozen=True, slots=True)
class DocumentChanges:
    """What an update (BussinessDocType 2) changes in the document's information (MessageHeader)."""

    subject: str | None = None
    content: str | None = None
    due_date: dt.date | None = None
    priority: int | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.subject, self.content, self.due_date, self.priority))

    def applied_to(self, header: MessageHeader) -> MessageHeader:
        other = header.other_info or OtherInfo()
        return replace(
            header,
            subject=self.subject if self.subject is not None else header.subject,
            content=self.content if self.content is not None else header.content,
            due_date=self.due_date or header.due_date,
            other_info=replace(other, priority=other.priority if self.priority is None else self.priority),
        )


def update_package(
    gw: Gateway,
    session: Session,
    caller: Caller,
    original: Package,
    *,
    to: Sequence[str] | None,
    reason: str | None,
    staff: dict[str, str] | None,
    changes: DocumentChanges,
    receivers: Sequence[Receiver] = (),
) -> EdocPackage:
    """An update (BussinessDocType 2, QĐ 28/2018) of ``original``: the same document (DocumentId, number,
    attachments) with ``changes`` applied, and BussinessDocumentInfo saying what changed: DocumentInfo 1 when the
    information changed, DocumentReceiver 1 with the ReceiverList when ``receivers`` are given (STANDARDS.md §2;
    the meaning of ReceiverType is not fixed there [?]: it is carried as the caller gives it)."""
    chosen = recipients_to_take_back(caller, original, to, verb="update")
    if not changes and not receivers:
        raise Invalid("an update changes the document's information or its receivers; nothing was given",
                      code="empty_update")
    stored = _stored_document(gw, original)
    header = replace(changes.applied_to(stored.header), to=tuple(organization(session, c) for c in chosen))
    business = Business(
        doc_type=BusinessDocType.UPDATE,
        document_id=original.document_id,
        doc_reason=reason or "Cập nhật văn bản điện tử",
        paper=0,
        staff_info=_staff(staff),
        document_info=BusinessDocumentInfo(
            document_info=1 if changes else 0, document_receiver=1 if receivers else 0, receivers=tuple(receivers)
        ),
    )
    return EdocPackage(header=header, business=business, attachments=stored.attachments)


def replacement_package(
    session: Session,
    caller: Caller,
    original: Package,
    *,
    header: HeaderInput,
    files: Sequence[FileInput],
    reason: str | None,
    agencies: AgencyCache | None = None,
) -> EdocPackage:
    """A replacement (BussinessDocType 3, QĐ 28/2018): a new document (its own number, date and files, from the
    native ``header``) that replaces ``original`` for the recipients in ``header.to`` (all of them by default),
    named in ReplacementInfoList."""
    if header.from_code != original.from_code:
        raise Forbidden("a replacement is sent by the agency that sent the replaced document",
                        code="not_document_sender")
    chosen = recipients_to_take_back(caller, original, header.to, verb="replace")
    package = edoc_from_header(session, replace(header, to=chosen), files, agencies)
    if package.header.document_id == original.document_id:
        raise Invalid("the replacing document needs its own number or date", code="same_document")
    business = Business(
        doc_type=BusinessDocType.REPLACE,
        doc_reason=reason or "Văn bản thay thế",
        paper=0,
        staff_info=_staff(header.staff),
        replacements=(ReplacementInfo(document_id=original.document_id, organ_ids=tuple(chosen)),),
    )
    return replace(package, business=business)


def header_from_json(data: dict[str, Any]) -> HeaderInput:
    """The native JSON header, checked; errors name the field."""

    def need(key: str) -> Any:
        value = data.get(key)
        if value in (None, "", []):
            raise Invalid(f"the header lacks '{key}'", code="invalid_header", field=key)
        return value

    def date(key: str) -> dt.date | None:
        value = data.get(key)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(str(value).replace("/", "-"))
        except ValueError as exc:
            raise Invalid(f"'{key}' is not a date (YYYY-MM-DD): {value!r}", code="invalid_header", field=key) from exc

    to = need("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list):
        raise Invalid("'to' must be a list of agency codes", code="invalid_header", field="to")
    code = data.get("code") or {}
    if not isinstance(code, dict):
        raise Invalid("'code' must be an object {number, notation}", code="invalid_header", field="code")
    return HeaderInput(
        from_code=str(AgencyCode.parse(str(need("from")))),
        to=[str(AgencyCode.parse(str(c))) for c in to],
        number=str(code.get("number") or data.get("number") or need("number")),
        notation=str(code.get("notation") or data.get("notation") or need("notation")),
        subject=str(need("subject")),
        type_name=str(data.get("type_name") or "Công văn"),
        type=int(data.get("type") or 1),
        content=data.get("content"),
        place=data.get("place"),
        date=date("date"),
        signer=data.get("signer"),
        due_date=date("due_date"),
        priority=data.get("priority"),
        sphere_of_promulgation=data.get("sphere_of_promulgation"),
        security_level=data.get("security_level"),
        steering_type=data.get("steering_type"),
        to_places=tuple(data.get("to_places") or ()),
        staff=data.get("staff"),
    )


def sign_built(xml: bytes, key: KeyMaterial) -> bytes:
    """Sign a package that ``schemas.edxml``'s writer just built (``build_edoc``, ``build_status``): its bytes past
    the XML declaration are already canonical, so they are hashed as they are (``sign_canonical_package``); any
    other bytes the general way (``sign_package``: parse, C14N, serialize)."""
    canonical = canonical_body(xml)
    if canonical is None:
        return sign_package(xml, key)
    return sign_canonical_package(xml, canonical, key)
