"""Submit, step 3 and 4 (service/exchange/submit.py): build. The package as this node sends it (its TraceHeader
appended, signed as this node; a package that arrived whole relayed as received), its blobs (large ones written
to the object store now, small ones staged for the transaction), and the rows that record it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from schemas.edxml import EdocPackage, Oddity, TraceHeader, build_edoc, build_status, write_edoc
from schemas.edxml.relay import relay_as_received
from service.context import Gateway
from service.exchange import identity, log
from service.exchange.clock import vn_wall_clock
from service.exchange.compose import sign_built
from service.exchange.directory import Caller
from service.exchange.submit_plan import Incoming, Plan
from service.observability.context import current_traceparent
from service.routing import LOCAL
from signing.xmldsig import sign_package, sign_package_file
from storage.blobs import PendingBlob
from storage.exchange.submissions import SubmissionRows
from storage.interfaces import BlobRef
from storage.models import new_id

__all__ = ["SIGN_IN_MEMORY_MAX_BYTES", "emit", "rows_of"]


def emit(
    gw: Gateway,
    parsed: Incoming,
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


def rows_of(
    gw: Gateway,
    caller: Caller,
    plan: Plan,
    blob: BlobRef,
    attachments: list[tuple[Any, BlobRef]],
    channel: str,
    pending: Sequence[PendingBlob | None] = (),
) -> SubmissionRows:
    """The rows that record the package: its package, attachment and delivery rows, one ``deliver`` message per
    delivery and one ``verify_attachment`` message per PDF attachment, its log event and its small blobs."""
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
    messages: list[tuple[str, dict[str, Any]]] = []
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
            messages.append(("verify_attachment", {"package_id": package_id, "position": position}))
    deliveries: list[dict[str, Any]] = []
    trace = current_traceparent()
    for code in plan.recipients:
        delivery_id, route = new_id(), gw.router.resolve(code)
        deliveries.append({"id": delivery_id, "package_id": package_id, "to_code": code, "route": route})
        deliver: dict[str, Any] = {"delivery_id": delivery_id}
        if route != LOCAL and trace is not None:  # the uplink call the worker makes later continues this trace
            deliver["traceparent"] = trace
        messages.append(("deliver", deliver))
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
    return SubmissionRows(package, attachment_rows, deliveries, messages, event, pending)
