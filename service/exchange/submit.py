"""Submit: accept an edXML package (document or status) from a client system, durably, exactly once.

Order of work (ARCHITECTURE.md, the exchange step 1):
1. parse (hardened, tolerant) and verify the package's XML signature;
2. refuse what policy forbids, *before* storing anything (foreign ``From``, unknown recipient, secret document,
   forged signature; unsigned/weak per policy; an illegal status transition);
3. append this node's TraceHeader and sign the package as this node (a relay that adds a TraceHeader breaks the
   previous enveloped signature, so it must re-sign; the sender's signature check is kept in the package record
   and the original bytes are kept as a blob for evidence). A document that arrived whole is relayed as received
   (``schemas.edxml.relay``): field packages carry quirks that do not affect routing (a UUID DocumentId, dates
   written dd/MM/yyyy, impossible dates in a nested DocumentId, over-long optional fields), and with
   ``EDOC_RELAY_POLICY=tolerant`` (the default) they are accepted and each is recorded as an oddity on the record
   and the recipients' inbox items; ``strict`` refuses what ``check_limits`` refuses (``package_check_failed``).
   Packages built here from native input, and status packages, are written canonically;
4. write the large blobs (package, original, decoded attachments) to the object store;
5. in ONE transaction: the small blobs (storage/blobs.py), package row, one delivery row per recipient, status
   history, exchange-log events and one outbox row per delivery. A retry with the same idempotency key returns the
   first answer; a different package under the same key is a conflict. A new document is also identified by its
   sender and DocumentId whatever the key (service/exchange/identity.py, unique in the database): the same content
   again is a replay, other content a conflict (``document_id_conflict``).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from schemas.edxml import (
    BusinessDocType,
    DocumentId,
    EdocPackage,
    MessageHeader,
    Oddity,
    ParsedPackage,
    ParseLimits,
    StatusPackage,
    TraceHeader,
    build_edoc,
    build_status,
    check_limits,
    parse_package,
    write_edoc,
)
from schemas.edxml.limits import require_clean
from schemas.edxml.relay import relay_as_received
from schemas.errors import SchemaError
from service.context import Gateway
from service.exchange import identity, log, status_effects, statuses
from service.exchange.clock import vn_wall_clock
from service.exchange.compose import sign_built
from service.exchange.directory import AgencyCache, Caller
from service.exchange.errors import Conflict, Invalid, PayloadTooLarge
from service.exchange.policy import check_not_secret, check_sender, check_signature, is_forged
from signing.xmldsig import XmlSignatureCheck, sign_package, sign_package_file, verify_package
from storage.blobs import PendingBlob
from storage.interfaces import BlobRef
from storage.models import ATTACHMENTS, DELIVERIES, OUTBOX, PACKAGES, Package, new_id

__all__ = ["DeliveryView", "SubmitResult", "result_for", "submit_built", "submit_package"]

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
class _Plan:
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
class _Incoming:
    edoc: EdocPackage | None
    status: StatusPackage | None
    oddities: tuple[Any, ...] = ()
    attachment_files: Mapping[str, Path] = field(default_factory=dict)
    received: bytes | None = None  # a package that arrived whole: relayed as received (module docstring, 3.)
    tolerant: bool = False


def submit_package(
    gw: Gateway,
    *,
    caller: Caller,
    raw: bytes,
    idempotency_key: str | None = None,
    channel: str = "api",
    recipients: Sequence[str] | None = None,
    precheck: Callable[[ParsedPackage], None] | None = None,
    share_statuses: bool = False,
) -> SubmitResult:
    """Accept a complete edXML package (see module docstring); raises an ExchangeError/SchemaError to refuse.

    ``recipients`` (VXP ``to``; a relay hop) restricts delivery to those codes of the package's own list: a node
    that receives a package from a peer delivers only the recipients the peer routed to it. ``precheck`` sees the
    parsed package before anything else is done with it and raises to refuse it (a protocol front end's own
    checks, such as VXP's messagetype and from headers, on this parse rather than one of its own).
    ``share_statuses``: every recipient of this document sees every recipient's delivery and statuses (default:
    its own only; service/access.py).
    """
    if not raw:
        raise Invalid("the request body is empty: expected an edXML package", code="empty_body")
    if len(raw) > gw.settings.max_package_bytes:
        raise PayloadTooLarge(
            f"the package is {len(raw)} bytes; the limit is {gw.settings.max_package_bytes}", code="package_too_large"
        )
    parsed = parse_package(raw, limits=ParseLimits(max_bytes=gw.settings.max_package_bytes))
    if precheck is not None:
        precheck(parsed)
    tolerant = gw.settings.relay_policy == "tolerant"
    if not tolerant:  # strict: only what this gateway would itself send
        read = parsed.edoc if parsed.edoc is not None else parsed.status
        assert read is not None
        require_clean(check_limits(read))
    check = verify_package(raw)
    warnings = check_signature(check, gw.settings.xml_signature_policy, tolerant=tolerant)
    oddities = parsed.oddities + _signature_oddities(check)
    incoming = _Incoming(parsed.edoc, parsed.status, oddities, received=raw, tolerant=tolerant)
    signature = {"incoming": _check_json(check)}
    request_sha = hashlib.sha256(raw).hexdigest()
    return _accept(
        gw, caller, incoming, request_sha, idempotency_key, channel, signature, warnings, evidence=raw, only=recipients,
        share_statuses=share_statuses,
    )


def submit_built(
    gw: Gateway,
    *,
    caller: Caller,
    package: EdocPackage | StatusPackage,
    fingerprint: str,
    idempotency_key: str | None = None,
    channel: str = "api",
    secrecy: Sequence[str | None] = (),
    attachment_files: Mapping[str, Path] | None = None,
    share_statuses: bool = False,
) -> SubmitResult:
    """Accept a package the gateway built from authenticated native input (compose.py).

    ``fingerprint`` identifies the request (not the built bytes, which carry a fresh timestamp), so a retry with
    the same idempotency key is recognised.
    """
    check_not_secret(secrecy, gw.settings.secret_markings)
    if isinstance(package, EdocPackage):
        # A recall/update/replace built here repeats the header of a document accepted earlier, with the field
        # quirks the tolerant policy accepted then (a UUID DocumentId, an over-long field): they must not stop it.
        echoes = package.business is not None and package.business.doc_type != BusinessDocType.NEW
        tolerant = echoes and gw.settings.relay_policy == "tolerant"
        incoming = _Incoming(package, None, attachment_files=attachment_files or {}, tolerant=tolerant)
    else:
        incoming = _Incoming(None, package)
    signature = {"incoming": {"code": "built", "problems": []}}
    return _accept(
        gw, caller, incoming, fingerprint, idempotency_key, channel, signature, [], evidence=None,
        share_statuses=share_statuses,
    )


def _accept(
    gw: Gateway,
    caller: Caller,
    incoming: _Incoming,
    request_sha: str,
    idempotency_key: str | None,
    channel: str,
    signature: dict[str, Any],
    warnings: list[str],
    *,
    evidence: bytes | None,
    only: Sequence[str] | None = None,
    share_statuses: bool = False,
) -> SubmitResult:
    with gw.sessions() as session:
        plan = _plan(gw, session, caller, incoming, idempotency_key, request_sha, only)
        plan.warnings += warnings
        if share_statuses and plan.kind == "edoc":
            plan.summary["share_statuses"] = True
        plan.signature = signature
        plan.oddities = [{"code": o.code, "message": o.message, "path": o.path} for o in incoming.oddities]
    replay = _find_replay(gw, plan, incoming)
    if replay is not None:
        return replay
    pending: list[PendingBlob | None] = []  # small blobs, written with the rows (storage/blobs.py)
    envelopes: list[bytes] = []  # the envelope _emit writes: the content digest is taken from it (identity.py)
    blob, attachments, original, relayed = _emit(gw, incoming, pending, evidence, envelopes)
    plan.oddities += [{"code": o.code, "message": o.message, "path": o.path} for o in relayed]
    if plan.content_sha256 is None and incoming.edoc is not None:  # the attachments were hashed as blobs
        digests = [ref.sha256 for _att, ref in attachments]
        plan.content_sha256 = (
            identity.content_digest_of(envelopes[0], digests)
            if envelopes
            else identity.content_digest(incoming.edoc, digests)  # relayed as received: its canonical form's
        )
    if original is not None:
        plan.signature["original_sha256"] = original.sha256
    return _commit(gw, caller, plan, blob, attachments, channel, pending)


def _signature_oddities(check: XmlSignatureCheck) -> tuple[Oddity, ...]:
    """An unverifiable signature (policy.py) accepted under the tolerant policy is an oddity of the package."""
    if check.code != "invalid" or is_forged(check):
        return ()
    return (Oddity(code="xml_signature_unverifiable", message="; ".join(check.problems), path=None),)


def _check_json(check: Any) -> dict[str, Any]:
    return {
        "code": check.code,
        "valid": check.valid,
        "weak": check.weak,
        "signature_algorithm": check.signature_algorithm,
        "digest_algorithm": check.digest_algorithm,
        "signer": check.signer_subject,
        "problems": list(check.problems),
    }


def _plan(
    gw: Gateway,
    session: Session,
    caller: Caller,
    parsed: _Incoming,
    key: str | None,
    request_sha: str,
    only: Sequence[str] | None = None,
) -> _Plan:
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
) -> _Plan:
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
    plan = _Plan(
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


def _key_by_content(plan: _Plan, parsed: _Incoming) -> None:
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
        row = session.execute(
            sa.select(Package).where(
                Package.kind == "edoc",
                Package.business_type == 0,
                Package.from_code == from_code,
                Package.document_id == document_id,
            )
        ).scalar_one_or_none()
        if row is not None:
            return row
    for date, code in _identities(pkg, candidates, from_code):
        identity = Package.summary["identity"]
        row = session.execute(
            sa.select(Package).where(
                Package.kind == "edoc",
                Package.business_type == 0,
                Package.from_code == from_code,
                identity["date"].as_string() == date,
                identity["code"].as_string() == code,
            ).order_by(Package.created_at.desc())
        ).scalars().first()
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


def _plan_status(session: Session, caller: Caller, st: StatusPackage, key: str | None, request_sha: str) -> _Plan:
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
    return _Plan(
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
    params = {"from_code": from_code, "key": key, "document_key": None}
    return session.execute(_REPLAY, params).first() is not None


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


# Every submit asks this once before the expensive work (and again if its INSERT loses a race), and almost always
# finds nothing: plain columns from a prebuilt statement; the package row is loaded only for an actual replay. It
# matches the idempotency key or, for a new document, the DocumentId (both unique per sender; a NULL
# document_key matches nothing).
_REPLAY = sa.select(
    PACKAGES.c.id, PACKAGES.c.request_sha256, PACKAGES.c.content_sha256, PACKAGES.c.idempotency_key,
    PACKAGES.c.document_key,
).where(
    PACKAGES.c.from_code == sa.bindparam("from_code"),
    sa.or_(
        PACKAGES.c.idempotency_key == sa.bindparam("key"),
        PACKAGES.c.document_key == sa.bindparam("document_key"),
    ),
)


def _find_replay(gw: Gateway, plan: _Plan, incoming: _Incoming | None = None) -> SubmitResult | None:
    """The answer to a submit already accepted (a replay), or None. Accepted means under the plan's idempotency key,
    or, for a new document, under its DocumentId from the same sender. A Conflict if what was accepted there has
    other content (identity.py): ``idempotency_conflict`` for the key, ``document_id_conflict`` for the
    DocumentId."""
    params = {"from_code": plan.from_code, "key": plan.idempotency_key, "document_key": plan.document_key}
    with gw.sessions() as session:
        rows = [tuple(row) for row in session.execute(_REPLAY, params)]
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


def _same_content(plan: _Plan, incoming: _Incoming | None, request_sha: str, content_sha: str | None) -> bool:
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


def _emit(
    gw: Gateway,
    parsed: _Incoming,
    pending: list[PendingBlob | None],
    evidence: bytes | None = None,
    envelopes: list[bytes] | None = None,
) -> tuple[BlobRef, list[tuple[Any, BlobRef]], BlobRef | None, tuple[Oddity, ...]]:
    """The package as this node sends it (TraceHeader appended, signed), its attachment blobs, the blob of
    ``evidence`` (the package as received, if any) and what relaying it changed besides the TraceHeader: large
    blobs written now, together (Blobs.stage_many), small ones added to ``pending`` for the transaction that records
    the package. A document this node builds has its unsigned envelope appended to ``envelopes``
    (identity.envelope_of); one relayed as received has none (its digest is taken from its parsed form)."""
    envelopes = [] if envelopes is None else envelopes
    if parsed.edoc is not None and parsed.attachment_files:
        original = _stage(gw, evidence, pending) if evidence is not None else None
        stage = lambda d: _stage(gw, d, pending)  # noqa: E731
        blob, attachments = _emit_streaming(gw, parsed.edoc, parsed.attachment_files, stage, envelopes)
        return blob, attachments, original, ()
    relayed: tuple[Oddity, ...] = ()
    trace = TraceHeader(organ_id=gw.settings.node_id, timestamp=vn_wall_clock())
    signed: bytes | BlobRef
    if parsed.edoc is not None and parsed.received is not None:
        as_received = relay_as_received(parsed.received, trace)
        relayed = as_received.oddities
        if len(as_received.data) > SIGN_IN_MEMORY_MAX_BYTES:
            signed = _sign_to_store(gw, as_received.data)
        else:
            signed = sign_package(as_received.data, gw.node_key)
        files = [att.data for att in parsed.edoc.attachments]
    elif parsed.edoc is not None:
        unsigned = build_edoc(parsed.edoc.with_trace(trace), strict=not parsed.tolerant)
        envelopes.append(identity.envelope_of(unsigned))
        signed = sign_built(unsigned, gw.node_key)
        files = [att.data for att in parsed.edoc.attachments]
    else:
        assert parsed.status is not None
        signed, files = sign_built(build_status(parsed.status, strict=not parsed.tolerant), gw.node_key), []
    written = [signed] if isinstance(signed, bytes) else []
    staged = gw.blobs.stage_many([*written, *files, *([evidence] if evidence is not None else [])])
    pending.extend(small for _ref, small in staged)
    refs = [ref for ref, _small in staged]
    if not isinstance(signed, bytes):
        refs.insert(0, signed)
    attachments = list(zip(parsed.edoc.attachments if parsed.edoc else [], refs[1 : 1 + len(files)], strict=True))
    return refs[0], attachments, refs[-1] if evidence is not None else None, relayed


# A received package larger than this is signed by the streaming signer (signing.xmldsig.sign_package_file) through
# temporary files: sign_package holds its tree, canonical form and output at once, about 5x the package (+144 MB
# for a 27 MB package against +77 MB for the canonical rebuild it replaced); the streaming signer stays flat. Below
# it the in-memory signer is the cheaper in CPU.
SIGN_IN_MEMORY_MAX_BYTES = 4 * 1024 * 1024


def _sign_to_store(gw: Gateway, data: bytes) -> BlobRef:
    with tempfile.TemporaryDirectory(prefix="edoc-relay-") as tmp:
        unsigned, signed = Path(tmp) / "unsigned.edxml", Path(tmp) / "signed.edxml"
        unsigned.write_bytes(data)
        sign_package_file(unsigned, signed, gw.node_key)
        unsigned.unlink()
        return gw.store.put_file(signed)


def _stage(gw: Gateway, data: bytes, pending: list[PendingBlob | None]) -> BlobRef:
    ref, small = gw.blobs.stage(data)
    pending.append(small)
    return ref


def _emit_streaming(
    gw: Gateway,
    pkg: EdocPackage,
    files: Mapping[str, Path],
    stage: Callable[[bytes], BlobRef],
    envelopes: list[bytes],
) -> tuple[BlobRef, list[tuple[Any, BlobRef]]]:
    """Large attachments: build and sign through temporary files, so memory stays flat whatever their size."""
    traced = pkg.with_trace(TraceHeader(organ_id=gw.settings.node_id, timestamp=vn_wall_clock()))
    with tempfile.TemporaryDirectory(prefix="edoc-emit-") as tmp:
        unsigned, signed = Path(tmp) / "unsigned.edxml", Path(tmp) / "signed.edxml"
        with open(unsigned, "wb") as out:
            write_edoc(traced, out, attachment_files=files)
        envelopes.append(identity.envelope_of(unsigned))
        sign_package_file(unsigned, signed, gw.node_key)
        unsigned.unlink()
        blob = gw.store.put_file(signed)
    attachments = []
    for att in pkg.attachments:
        path = files.get(att.content_id)
        attachments.append((att, gw.store.put_file(path) if path is not None else stage(att.data)))
    return blob, attachments


def _commit(
    gw: Gateway,
    caller: Caller,
    plan: _Plan,
    blob: BlobRef,
    attachments: list[tuple[Any, BlobRef]],
    channel: str,
    pending: Sequence[PendingBlob | None] = (),
) -> SubmitResult:
    try:
        # No second replay check here: the unique (from_code, idempotency_key) and (from_code, document_key) refuse
        # the INSERT of a package accepted since _accept looked (a concurrent submit), answered as below.
        views = tuple(DeliveryView(code, "pending") for code in sorted(plan.recipients))
        with gw.writes() as session, session.begin():
            row = _insert(gw, session, caller, plan, blob, attachments, channel, pending)
            result = SubmitResult(row.id, row.document_id, row.kind, views, warnings=tuple(plan.warnings))
    except sa.exc.IntegrityError:
        # A concurrent submit of the same key or DocumentId won the race: its replay, or a conflict.
        replay = _find_replay(gw, plan)
        if replay is None:
            raise
        return replay
    gw.wakeup.set()
    return result


@dataclass
class _Rows:
    """The rows one accepted package adds: its package row, attachments, deliveries, outbox messages, log event."""

    package: dict[str, Any]
    attachments: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    event: dict[str, Any]


def _rows(
    gw: Gateway, caller: Caller, plan: _Plan, blob: BlobRef, attachments: list[tuple[Any, BlobRef]], channel: str
) -> _Rows:
    summary = dict(plan.summary)
    if plan.warnings:
        summary["warnings"] = plan.warnings
    package_id = new_id()
    package = {
        "id": package_id,
        "kind": plan.kind,
        "document_id": plan.document_id,
        "from_code": plan.from_code,
        "business_type": plan.business_type,
        "subject": plan.subject,
        "status_code": plan.status_code,
        "response_for_id": plan.original_id,
        "blob_sha256": blob.sha256,
        "size": blob.size,
        "request_sha256": plan.request_sha256,
        "idempotency_key": plan.idempotency_key,
        "document_key": plan.document_key,
        "content_sha256": plan.content_sha256,
        "submitted_by": caller.client_id or None,
        "channel": channel,
        "summary": summary,
        "signature": plan.signature,
        "oddities": plan.oddities,
    }
    attachment_rows: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for position, (att, ref) in enumerate(attachments):
        is_pdf = (att.content_type or "").lower() == "application/pdf" or (att.name or "").lower().endswith(".pdf")
        attachment_rows.append(
            {
                "package_id": package_id,
                "position": position,
                "content_id": att.content_id,
                "name": att.name,
                "content_type": att.content_type or "application/octet-stream",
                "description": att.description,
                "blob_sha256": ref.sha256,
                "size": ref.size,
                "verification": {"state": "pending"} if is_pdf else None,
            }
        )
        if is_pdf:  # its signatures are verified by the delivery worker (service/signatures.py), off the submit path
            messages.append({"topic": "verify_attachment", "payload": {"package_id": package_id, "position": position}})
    deliveries: list[dict[str, Any]] = []
    for code in plan.recipients:
        delivery_id = new_id()
        deliveries.append(
            {"id": delivery_id, "package_id": package_id, "to_code": code, "route": gw.router.resolve(code)}
        )
        messages.append({"topic": "deliver", "payload": {"delivery_id": delivery_id}})
    event = log.event(
        "submitted" if plan.kind == "edoc" else "status_submitted",
        package_id=package_id,
        document_id=plan.document_id,
        agency=plan.from_code,
        actor=caller.name,
        to=plan.recipients,
        status_code=plan.status_code,
        business_type=plan.business_type or None,
        warnings=plan.warnings or None,
    )
    return _Rows(package, attachment_rows, deliveries, messages, event)


def _insert(
    gw: Gateway,
    session: Session,
    caller: Caller,
    plan: _Plan,
    blob: BlobRef,
    attachments: list[tuple[Any, BlobRef]],
    channel: str,
    pending: Sequence[PendingBlob | None] = (),
) -> Package:
    rows = _rows(gw, caller, plan, blob, attachments, channel)
    gw.blobs.insert_pending(session, pending)
    # Plain INSERTs in dependency order (the package row first), not the unit of work: the rows are new, nothing
    # else in this transaction reads them through the session, and this is the hot path of every submit.
    session.execute(sa.insert(PACKAGES), rows.package)
    row = Package(**rows.package)  # transient: what the rest of the transaction needs to know about the new package
    if rows.attachments:
        session.execute(sa.insert(ATTACHMENTS), rows.attachments)
    if rows.deliveries:
        session.execute(sa.insert(DELIVERIES), rows.deliveries)
    if rows.messages:
        session.execute(sa.insert(OUTBOX), rows.messages)
    log.record_many(session, [rows.event])
    status_effects.apply_effects(
        session, plan_kind=plan.kind, package=row, recipients=plan.recipients, recall_kind=plan.recall_kind,
        actor=caller.name, gw=gw,
    )
    return row
