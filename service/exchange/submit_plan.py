"""Submit, step 1 and 2 (service/exchange/submit.py): check and plan. What the package is, who may send it, who
receives it, what it answers (a recall/update/replace's original, a status's document and transition), and
whether it was accepted before (a replay, or a conflict) — all decided before the expensive work and the
transaction, and anything policy forbids refused here, before anything is stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from schemas.edxml import (
    BusinessDocType,
    DocumentId,
    EdocPackage,
    MessageHeader,
    Oddity,
    StatusPackage,
)
from schemas.errors import SchemaError
from service.context import Gateway
from service.exchange import identity, statuses
from service.exchange.directory import AgencyCache, Caller
from service.exchange.errors import Conflict, Invalid
from service.exchange.policy import check_not_secret, check_sender, is_forged
from signing.xmldsig import XmlSignatureCheck
from storage.exchange import submissions
from storage.models import Package

__all__ = [
    "DeliveryView",
    "Incoming",
    "Plan",
    "SubmitResult",
    "check_json",
    "find_replay",
    "plan_submission",
    "result_for",
    "signature_oddities",
]

RECALL_KINDS = {BusinessDocType.RECALL: "recall", BusinessDocType.UPDATE: "update", BusinessDocType.REPLACE: "replace"}


@dataclass(frozen=True, slots=True)
class DeliveryView:
    to: str
    state: str


@dataclass(frozen=True, slots=True)
class SubmitResult:
    id: str
    document_id: str
    kind: str
    deliveries: tuple[DeliveryView, ...]
    replayed: bool = False
    warnings: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "document_id": self.document_id,
            "kind": self.kind,
            "deliveries": [{"to": d.to, "state": d.state} for d in self.deliveries],
            "warnings": list(self.warnings),
        }


@dataclass
class Plan:
    """Everything decided before the expensive work and the transaction."""

    kind: str
    document_id: str
    from_code: str
    recipients: list[str]
    idempotency_key: str
    request_sha256: str
    business_type: int = 0
    subject: str | None = None
    status_code: str | None = None
    original_id: str | None = None
    recall_kind: str | None = None
    document_key: str | None = None  # a new document's DocumentId, unique per sender (identity.py)
    explicit_key: bool = False  # the idempotency key is the client's (Idempotency-Key), not derived here
    content_sha256: str | None = None  # identity.content_digest, computed when first needed
    summary: dict[str, Any] = field(default_factory=dict)
    signature: dict[str, Any] = field(default_factory=dict)
    oddities: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Incoming:
    edoc: EdocPackage | None
    status: StatusPackage | None
    oddities: tuple[Any, ...] = ()
    attachment_files: Mapping[str, Path] = field(default_factory=dict)
    received: bytes | None = None  # a package that arrived whole: relayed as received (module docstring, 3.)
    tolerant: bool = False


def signature_oddities(check: XmlSignatureCheck) -> tuple[Oddity, ...]:
    """An unverifiable signature (policy.py) accepted under the tolerant policy is an oddity of the package."""
    if check.code != "invalid" or is_forged(check):
        return ()
    return (Oddity(code="xml_signature_unverifiable", message="; ".join(check.problems), path=None),)


def check_json(check: Any) -> dict[str, Any]:
    return {
        "code": check.code,
        "valid": check.valid,
        "weak": check.weak,
        "signature_algorithm": check.signature_algorithm,
        "digest_algorithm": check.digest_algorithm,
        "signer": check.signer_subject,
        "problems": list(check.problems),
    }


def plan_submission(
    gw: Gateway,
    session: Session,
    caller: Caller,
    parsed: Incoming,
    key: str | None,
    request_sha: str,
    only: Sequence[str] | None = None,
) -> Plan:
    if parsed.edoc is not None:
        plan = _plan_edoc(gw, session, caller, parsed.edoc, key, request_sha, only)
        if key is None and plan.business_type:
            _key_by_content(plan, parsed)
    else:
        assert parsed.status is not None
        plan = _plan_status(session, caller, parsed.status, key, request_sha)
    if only is not None:
        wanted = set(only)
        plan.recipients = [code for code in plan.recipients if code in wanted]
        if not plan.recipients:
            raise Invalid("none of the requested recipients is a recipient of this package", code="no_recipient")
    return plan


def _plan_edoc(
    gw: Gateway,
    session: Session,
    caller: Caller,
    pkg: EdocPackage,
    key: str | None,
    request_sha: str,
    only: Sequence[str] | None = None,
) -> Plan:
    header = pkg.header
    from_code = header.from_.organ_id
    check_sender(caller, from_code)
    other = header.other_info
    check_not_secret([other.sphere_of_promulgation if other else None], gw.settings.secret_markings)
    codes = [org.organ_id for org in header.to]
    if only is not None:  # a relay hop: only the requested recipients need to be known here
        codes = [code for code in codes if code in set(only)] or codes
    recipients = _known_recipients(session, codes, gw.agencies)
    business_type = int(pkg.business.doc_type) if pkg.business is not None else 0
    document_id = str(header.document_id)
    plan = Plan(
        kind="edoc",
        document_id=document_id,
        from_code=from_code,
        recipients=recipients,
        idempotency_key=key or f"doc:{document_id}:t{business_type}",
        request_sha256=request_sha,
        business_type=business_type,
        subject=(header.subject or "")[:500] or None,
        summary=_summary(pkg),
        document_key=identity.document_key(pkg),
        explicit_key=key is not None,
    )
    if business_type:
        original = _recall_target(session, pkg, from_code)
        plan.original_id = original.id
        plan.recall_kind = RECALL_KINDS[BusinessDocType(business_type)]
    return plan


def _key_by_content(plan: Plan, parsed: Incoming) -> None:
    """A recall/update/replacement without a client key: it carries the original's DocumentId (or points at it),
    so the DocumentId cannot tell a second update from a resend of the first; its content does (identity.py).
    These packages are rare, so the digest is built here, before the work, at its full cost."""
    assert parsed.edoc is not None
    digests = identity.attachment_digests(parsed.edoc, parsed.attachment_files)
    plan.content_sha256 = identity.content_digest(parsed.edoc, digests)
    plan.idempotency_key = f"doc:{plan.document_id}:t{plan.business_type}:{plan.content_sha256[:32]}"


def _known_recipients(session: Session, codes: list[str], agencies: AgencyCache) -> list[str]:
    from schemas.agency import AgencyCode

    if not codes:
        raise Invalid("the package has no recipient (To)", code="no_recipient")
    normals: list[str] = []
    malformed: SchemaError | None = None
    for code in codes:  # in order: a malformed code is refused only if every code before it is known
        try:
            normals.append(str(AgencyCode.parse(code)))
        except SchemaError as exc:
            malformed = exc
            break
    known = agencies.lookup(session, normals)
    seen: list[str] = []
    for normal in normals:
        agency = known.get(normal)
        if agency is None or not agency.active:
            raise Invalid(
                f"recipient {normal} is not an agency of the directory", code="unknown_recipient", agency=normal
            )
        if normal not in seen:
            seen.append(normal)
    if malformed is not None:
        raise malformed
    return seen


def _recall_target(session: Session, pkg: EdocPackage, from_code: str) -> Package:
    """The document a recall/update/replace refers to (QĐ 28/2018), sent earlier by the same agency."""
    candidates: list[str] = []
    business = pkg.business
    assert business is not None
    if business.doc_type == BusinessDocType.REPLACE:
        candidates += [str(r.document_id) for r in (business.replacements or ()) if r.document_id]
    if business.doc_type == BusinessDocType.UPDATE and business.document_id:
        candidates.append(str(business.document_id))
    candidates += [str(rf.document_id) for rf in pkg.header.response_for if rf.document_id]
    candidates.append(str(pkg.header.document_id))
    for document_id in candidates:
        row = submissions.find_original(session, from_code=from_code, document_id=document_id)
        if row is not None:
            return row
    for date, code in _identities(pkg, candidates, from_code):
        row = submissions.find_original_by_identity(session, from_code=from_code, date=date, code=code)
        if row is not None:
            return row
    raise Invalid(
        f"the document to recall/update/replace was not sent through this gateway by {from_code} "
        f"(looked for {', '.join(dict.fromkeys(candidates))})",
        code="recall_target_unknown",
    )


def _identities(pkg: EdocPackage, candidates: list[str], from_code: str) -> list[tuple[str, str]]:
    """(date, số/ký hiệu) of the sender's documents a recall/update/replace names: from ResponseFor's OrganId, Code
    and PromulgationDate, and from the DocumentIds in the standard form. They find an original whose own DocumentId
    was in another form (a UUID): its identity was derived from its header fields when it was accepted."""
    found: list[tuple[str, str]] = []
    for rf in pkg.header.response_for:
        if rf.organ_id == from_code and rf.code and rf.promulgation_date is not None:
            found.append((rf.promulgation_date.isoformat(), rf.code))
    for text in candidates:
        try:
            parsed = DocumentId.parse(text)
        except SchemaError:
            continue
        if str(parsed.organ_id) == from_code:
            found.append((parsed.date.isoformat(), f"{parsed.number}/{parsed.notation}"))
    return list(dict.fromkeys(found))


def _plan_status(session: Session, caller: Caller, st: StatusPackage, key: str | None, request_sha: str) -> Plan:
    from_code = st.from_.organ_id
    check_sender(caller, from_code)
    code = str(getattr(st.status_code, "value", st.status_code))
    original = statuses.find_original(session, st.response_for)
    stamp = st.timestamp.isoformat() if st.timestamp else ""
    idempotency_key = key or f"status:{original.id}:{code}:{stamp}"
    # A resend of a status already accepted (a lost answer, a retry) is answered as a replay by _accept; its
    # transition is not checked again, since the state it would be checked against is the one it caused.
    resent = _already_accepted(session, from_code, idempotency_key)
    if from_code != original.from_code and all(d.to_code != from_code for d in original.deliveries):
        # Neither its sender nor a recipient: answered as for a document that does not exist (no oracle).
        raise statuses.unknown_document(original.document_id, original.from_code)
    if code == "13":
        if original.from_code != from_code:
            raise Invalid("only the sender of a document may ask to take it back (13)", code="not_document_sender")
        recipients = [d.to_code for d in original.deliveries]
    else:
        delivery = next((d for d in original.deliveries if d.to_code == from_code), None)
        if delivery is None:
            raise Invalid(f"{from_code} did not receive document {original.document_id}", code="not_a_recipient")
        if not resent:
            statuses.check_transition(delivery, code)
        recipients = [original.from_code]
    return Plan(
        kind="status",
        document_id=original.document_id,
        from_code=from_code,
        recipients=recipients,
        idempotency_key=idempotency_key,
        request_sha256=request_sha,
        status_code=code,
        original_id=original.id,
        summary={"status_code": code, "description": st.description, "staff": statuses.staff_json(st.staff_info)},
    )


def _already_accepted(session: Session, from_code: str, key: str) -> bool:
    return submissions.is_accepted(session, from_code=from_code, key=key)


def _summary(pkg: EdocPackage) -> dict[str, Any]:
    h = pkg.header
    return {
        "code_number": h.code.number if h.code else None,
        "code_notation": h.code.notation if h.code else None,
        "type_name": h.document_type.type_name if h.document_type else None,
        "promulgation_date": (
            h.promulgation_info.date.isoformat() if h.promulgation_info and h.promulgation_info.date else None
        ),
        "signer": h.signer_info.full_name if h.signer_info else None,
        "from_name": h.from_.organ_name,
        "to": [org.organ_id for org in h.to],
        "business_type": int(pkg.business.doc_type) if pkg.business else 0,
        "attachments": len(pkg.attachments),
        "identity": _identity(h),
    }


def _identity(h: MessageHeader) -> dict[str, Any]:
    """The (sender, date, số/ký hiệu) identity of a document, from the header fields rather than its DocumentId,
    which field packages may carry in another form (a UUID from the national axis)."""
    info = h.promulgation_info
    return {
        "organ_id": h.from_.organ_id,
        "date": info.date.isoformat() if info is not None and info.date is not None else None,
        "code": str(h.code) if h.code is not None else None,
    }


def find_replay(gw: Gateway, plan: Plan, incoming: Incoming | None = None) -> SubmitResult | None:
    """The answer to a submit already accepted (a replay), or None. Accepted means under the plan's idempotency key,
    or, for a new document, under its DocumentId from the same sender. A Conflict if what was accepted there has
    other content (identity.py): ``idempotency_conflict`` for the key, ``document_id_conflict`` for the
    DocumentId."""
    with gw.sessions() as session:
        rows = submissions.find_accepted(
            session, from_code=plan.from_code, key=plan.idempotency_key, document_key=plan.document_key
        )
    if not rows:
        return None
    by_key = next((row for row in rows if row[3] == plan.idempotency_key), None)
    found = by_key if by_key is not None else rows[0]
    found_id = found[0]
    if not _same_content(plan, incoming, found[1], found[2]):
        if by_key is not None and (plan.explicit_key or plan.document_key is None or found[4] != plan.document_key):
            raise Conflict(
                f"a different package was already accepted under this idempotency key ({plan.idempotency_key}); "
                "send a new DocumentId or a new Idempotency-Key",
                code="idempotency_conflict",
                existing_id=found_id,
            )
        raise Conflict(
            f"{plan.from_code} already sent another package as document {plan.document_id}; a change to a sent "
            "document is an update (BussinessDocType 2) or a replacement (3), or a new document takes a new number",
            code="document_id_conflict",
            existing_id=found_id,
            document_id=plan.document_id,
        )
    with gw.sessions() as session:
        row = session.get(Package, found_id)
        assert row is not None
        return result_for(row, replayed=True)


def _same_content(plan: Plan, incoming: Incoming | None, request_sha: str, content_sha: str | None) -> bool:
    """Whether the accepted package (its request and content digests) is the one being submitted again: the same
    request, or the same content (computed here only when a match makes it needed: a resend is rare)."""
    if request_sha == plan.request_sha256:
        return True
    if content_sha is None:  # a status package, or a document accepted before content digests (migration 0005)
        return False
    if plan.content_sha256 is None and incoming is not None and incoming.edoc is not None:
        digests = identity.attachment_digests(incoming.edoc, incoming.attachment_files)
        plan.content_sha256 = identity.content_digest(incoming.edoc, digests)
    return plan.content_sha256 == content_sha


def result_for(row: Package, *, replayed: bool = False) -> SubmitResult:
    return SubmitResult(
        id=row.id,
        document_id=row.document_id,
        kind=row.kind,
        deliveries=tuple(DeliveryView(d.to_code, d.state) for d in row.deliveries),
        replayed=replayed,
        warnings=tuple(row.summary.get("warnings", ())),
    )


