"""Submit: accept an edXML package (document or status) from a client system, durably, exactly once.

Order of work (ARCHITECTURE.md, the exchange step 1), one module per concern:
1. parse (hardened, tolerant) and verify the package's XML signature (here);
2. plan (``submit_plan.py``): refuse what policy forbids, *before* storing anything (foreign ``From``, unknown
   recipient, secret document, forged signature; unsigned/weak per policy; an illegal status transition), and
   answer a replay;
3. build (``submit_build.py``): append this node's TraceHeader and sign the package as this node (a relay that adds
   a TraceHeader breaks the previous enveloped signature, so it must re-sign; the sender's signature check is kept
   in the package record and the original bytes are kept as a blob for evidence). A document that arrived whole is
   relayed as received (``schemas.edxml.relay``): field packages carry quirks that do not affect routing (a UUID
   DocumentId, dates written dd/MM/yyyy, impossible dates in a nested DocumentId, over-long optional fields), and
   with ``EDOC_RELAY_POLICY=tolerant`` (the default) they are accepted and each is recorded as an oddity on the
   record and the recipients' inbox items; ``strict`` refuses what ``check_limits`` refuses
   (``package_check_failed``). Packages built here from native input, and status packages, are written
   canonically; the large blobs (package, original, decoded attachments) go to the object store;
4. persist (here, :func:`_commit`): in ONE transaction the small blobs (storage/blobs.py), the package, attachment
   and delivery rows (``storage.exchange.submissions``), status history, exchange-log events and one bus message
   per delivery and per PDF attachment to check. A retry with the same idempotency key returns the first answer; a
   different package under the same key is a conflict. A new document is also identified by its sender and
   DocumentId whatever the key (service/exchange/identity.py, unique in the database): the same content again is a
   replay, other content a conflict (``document_id_conflict``).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.edxml import (
    BusinessDocType,
    EdocPackage,
    ParsedPackage,
    ParseLimits,
    StatusPackage,
    check_limits,
    parse_package,
)
from schemas.edxml.limits import require_clean
from service.context import Gateway
from service.exchange import identity, status_effects
from service.exchange.directory import Caller
from service.exchange.errors import Invalid, PayloadTooLarge
from service.exchange.policy import check_not_secret, check_signature
from service.exchange.submit_build import SIGN_IN_MEMORY_MAX_BYTES, emit, rows_of
from service.exchange.submit_plan import (
    DeliveryView,
    Incoming,
    Plan,
    SubmitResult,
    check_json,
    find_replay,
    plan_submission,
    result_for,
    signature_oddities,
)
from signing.xmldsig import verify_package
from storage.blobs import PendingBlob
from storage.interfaces import BlobRef
from storage.models import Package

__all__ = [
    "SIGN_IN_MEMORY_MAX_BYTES",
    "DeliveryView",
    "SubmitResult",
    "result_for",
    "submit_built",
    "submit_package",
]


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
    oddities = parsed.oddities + signature_oddities(check)
    incoming = Incoming(parsed.edoc, parsed.status, oddities, received=raw, tolerant=tolerant)
    signature = {"incoming": check_json(check)}
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
        incoming = Incoming(package, None, attachment_files=attachment_files or {}, tolerant=tolerant)
    else:
        incoming = Incoming(None, package)
    signature = {"incoming": {"code": "built", "problems": []}}
    return _accept(
        gw, caller, incoming, fingerprint, idempotency_key, channel, signature, [], evidence=None,
        share_statuses=share_statuses,
    )


def _accept(
    gw: Gateway,
    caller: Caller,
    incoming: Incoming,
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
        plan = plan_submission(gw, session, caller, incoming, idempotency_key, request_sha, only)
        plan.warnings += warnings
        if share_statuses and plan.kind == "edoc":
            plan.summary["share_statuses"] = True
        plan.signature = signature
        plan.oddities = [{"code": o.code, "message": o.message, "path": o.path} for o in incoming.oddities]
    replay = find_replay(gw, plan, incoming)
    if replay is not None:
        return replay
    pending: list[PendingBlob | None] = []  # small blobs, written with the rows (storage/blobs.py)
    envelopes: list[bytes] = []  # the envelope emit() writes: the content digest is taken from it (identity.py)
    blob, attachments, original, relayed = emit(gw, incoming, pending, evidence, envelopes)
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


def _commit(
    gw: Gateway,
    caller: Caller,
    plan: Plan,
    blob: BlobRef,
    attachments: list[tuple[Any, BlobRef]],
    channel: str,
    pending: Sequence[PendingBlob | None] = (),
) -> SubmitResult:
    """Record the package in ONE transaction (storage.exchange.submissions.Submissions), with the status effects
    of a package that answers another; the answer, or the replay of a concurrent submit that won the race."""
    rows = rows_of(gw, caller, plan, blob, attachments, channel, pending)
    row = Package(**rows.package)  # transient: what the status effects need to know about the new package
    effects = None if plan.original_id is None else functools.partial(_apply_effects, gw, caller, plan, row)
    try:
        # No second replay check here: the unique (from_code, idempotency_key) and (from_code, document_key) refuse
        # the INSERT of a package accepted since _accept looked (a concurrent submit), answered as below.
        gw.submissions.record(rows, effects=effects)
    except IntegrityError:
        replay = find_replay(gw, plan)
        if replay is None:
            raise
        return replay
    gw.wakeup.set()
    views = tuple(DeliveryView(code, "pending") for code in sorted(plan.recipients))
    return SubmitResult(row.id, row.document_id, row.kind, views, warnings=tuple(plan.warnings))


def _apply_effects(gw: Gateway, caller: Caller, plan: Plan, row: Package, session: Session) -> None:
    status_effects.apply_effects(
        session, plan_kind=plan.kind, package=row, recipients=plan.recipients, recall_kind=plan.recall_kind,
        actor=caller.name, gw=gw,
    )
