"""Signing and verification use cases of the gateway: the API, the clerks' page, the CLI and verification on receipt.

Owns the per-gateway verification configuration: ONE :class:`~signing.pdf.trust.TrustStore` and ONE
:class:`~signing.pdf.revocation.RevocationPolicy` per :class:`~service.context.Gateway` (the policy holds the
OCSP/CRL cache, which must outlive a request for the ≤ 30 ms verification target to mean anything). They are
built on first use from the settings and kept on the gateway object, like a ``cached_property``; tests build a
gateway with the settings they want instead of patching anything (STYLE.md 7).

Signing keys for HTTP callers are only those configured in ``EDOC_SIGNING_KEYS`` (name → spec, secret *env var
name*, allowed agencies). A caller names a key; it never supplies a path or a PIN.

Verification on receipt: submit enqueues one outbox message ``verify_attachment`` {package_id, position} per PDF
attachment in its transaction (so submit latency does not include verification); the delivery worker calls
:func:`verify_attachment_messages` (the messages of one claim as a batch), which stores a compact summary on
``AttachmentRow.verification`` and the full report JSON in the object store (its SHA-256 in the summary): the
report keeps the certificates, revocation data and statuses that NĐ 23/2025 asks a verifier to keep
(STANDARDS.md §7).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from service.exchange.errors import Forbidden, Invalid, PayloadTooLarge
from signing.errors import SigningError

if TYPE_CHECKING:
    from service.context import Gateway
    from service.exchange.directory import Caller
    from service.settings import Settings
    from signing.pdf.appearance import Appearance
    from signing.pdf.keysources import KeySource
    from signing.pdf.report import VerificationReport
    from signing.pdf.revocation import RevocationPolicy
    from signing.pdf.trust import TrustStore
    from storage.blobs import PendingBlob

__all__ = [
    "PENDING",
    "TOPIC",
    "Rendered",
    "SignOptions",
    "SignatureServices",
    "build_appearance",
    "check_pdf",
    "render_report",
    "services",
    "sign_document",
    "summary_of",
    "trust_config",
    "verify_attachment_message",
    "verify_attachment_messages",
    "verify_document",
]

log = logging.getLogger(__name__)

TOPIC = "verify_attachment"
PENDING = {"state": "pending"}  # AttachmentRow.verification until the worker has verified the file
DEFAULT_BOX = (150.0, 60.0)  # width, height (points) of a visible signature placed at a text anchor
Format = Literal["json", "html", "pdf"]


@dataclass
class SignatureServices:
    """What one gateway process verifies and signs with; built once per gateway (see :func:`services`)."""

    settings: Settings
    trust: TrustStore
    revocation: RevocationPolicy
    page_slots: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))
    _keys: dict[str, KeySource] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> SignatureServices:
        from signing.pdf.revocation import RevocationMode, RevocationPolicy
        from signing.pdf.trust import TrustStore

        trust = TrustStore.from_config(trust_config(settings))
        if not trust.set_names:
            log.warning("no trust anchors configured (EDOC_TRUST_SETS): every signature will be INDETERMINATE")
        policy = RevocationPolicy(mode=RevocationMode(settings.revocation_mode), offline=settings.revocation_offline)
        return cls(settings=settings, trust=trust, revocation=policy)

    def key(self, name: str, caller: Caller | None = None) -> KeySource:
        """The configured key ``name``, opened once; refused if ``caller`` may not use it."""
        from signing.pdf.keysources import key_source_from_spec

        config = self.settings.signing_keys.get(name)
        if config is None:
            known = ", ".join(sorted(self.settings.signing_keys)) or "none configured"
            raise Invalid(f"no signing key named {name!r} (known: {known})", code="unknown_signing_key")
        restricted = caller is not None and bool(config.agencies) and caller.role != "admin"
        if restricted and not any(caller.may_act_for(c) for c in config.agencies):  # type: ignore[union-attr]
            raise Forbidden(f"signing key {name!r} belongs to other agencies", code="signing_key_forbidden")
        with self._lock:
            if name not in self._keys:
                self._keys[name] = key_source_from_spec(config.spec, secret_env=config.secret_env)
            return self._keys[name]

    def trust_roots(self) -> tuple[Any, ...]:
        """Every configured anchor as a ``cryptography`` certificate (B-LT signing collects status up to them)."""
        from cryptography import x509

        return tuple(x509.load_der_x509_certificate(a.der) for a in self.trust.anchors())


def trust_config(settings: Settings) -> dict[str, list[Any]]:
    """The trust sets to load: ``EDOC_TRUST_SETS`` plus, unless ``EDOC_TRUST_BUNDLED=false``, the shipped
    Vietnamese roots (signing/trust/README.md)."""
    from signing.trust import with_bundled

    configured: dict[str, list[Any]] = {name: list(entries) for name, entries in settings.trust_sets.items()}
    return with_bundled(configured) if settings.trust_bundled else configured


_HOLDER = "_edoc_signature_services"
_HOLDER_LOCK = threading.Lock()


def services(gw: Gateway) -> SignatureServices:
    """The gateway's :class:`SignatureServices`, created on first use and kept on the gateway object."""
    found = gw.__dict__.get(_HOLDER)
    if found is None:
        with _HOLDER_LOCK:
            found = gw.__dict__.get(_HOLDER)
            if found is None:
                found = gw.__dict__[_HOLDER] = SignatureServices.from_settings(gw.settings)
    return found


# --- verification ---------------------------------------------------------------------------------------------


def check_pdf(data: bytes, limit: int) -> None:
    """Refuse what is too large or plainly not a PDF before any parsing (stable codes for the API)."""
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is {len(data)} bytes; the limit is {limit}", code="file_too_large")
    if not data:
        raise Invalid("the file is empty", code="not_a_pdf")
    if b"%PDF-" not in data[:1024]:  # ISO 32000: the header may sit anywhere in the first 1024 bytes
        raise Invalid("the file is not a PDF (no %PDF- header)", code="not_a_pdf")


def verify_document(
    gw: Gateway, data: bytes, *, anchor_sets: Sequence[str] | None = None
) -> VerificationReport:
    """Verify every signature of ``data`` with the gateway's trust store and shared revocation cache.

    Synchronous (pyHanko runs its own event loop): call it from a worker thread, not from a running loop."""
    from signing.pdf.verify import verify_pdf

    svc = services(gw)
    check_pdf(data, gw.settings.verify_max_bytes)
    return verify_pdf(
        data,
        trust=svc.trust,
        anchor_sets=anchor_sets or None,
        revocation=svc.revocation,
        max_signatures=gw.settings.verify_max_signatures,
        max_seconds=gw.settings.verify_max_seconds,
    )


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str


def render_report(report: VerificationReport, *, fmt: Format = "json", lang: str = "vi") -> Rendered:
    """The report as JSON, a self-contained HTML page or a PDF receipt (Vietnamese first, ``lang="en"``)."""
    from signing.pdf.render import render_html, render_receipt_pdf

    if fmt == "html":
        return Rendered(render_html(report, lang).encode(), "text/html; charset=utf-8")
    if fmt == "pdf":
        return Rendered(render_receipt_pdf(report, lang), "application/pdf")
    return Rendered(report.to_json().encode(), "application/json")


def summary_of(report: VerificationReport, report_sha256: str) -> dict[str, Any]:
    """The compact form stored on an attachment row and shown in inbox items."""
    signers = [s.signer.common_name or s.signer.subject for s in report.signatures if s.signer is not None]
    warnings = len(report.warnings) + sum(len(s.warnings) for s in report.signatures)
    return {
        "state": "done",
        "indication": report.indication.value,
        "sub_indication": report.sub_indication.value if report.sub_indication else None,
        "verdict_vi": report.verdict_vi,
        "signatures": len(report.signatures),
        "signers": signers,
        "warnings": warnings,
        "whole_document_signed": report.whole_document_signed,
        "verified_at": report.generated_at.isoformat(),
        "report_sha256": report_sha256,
    }


def verify_attachment_message(gw: Gateway, message_id: int, *, worker: str) -> None:
    """Handle one ``verify_attachment`` outbox message leased by ``worker`` (see :func:`verify_attachment_messages`);
    raises what a retry may cure."""
    failures = verify_attachment_messages(gw, [message_id], worker=worker)
    if failures:
        raise RuntimeError(failures[0][1])


def verify_attachment_messages(
    gw: Gateway, message_ids: Sequence[int], *, worker: str, payloads: Mapping[int, dict[str, Any]] | None = None
) -> list[tuple[int, str]]:
    """Handle ``verify_attachment`` outbox messages leased by ``worker``: verify, store, mark done, as a batch.

    One read (the messages, their attachment rows and packages), each file verified outside any transaction, then
    ONE write transaction: the messages still leased by ``worker`` are marked done (a conditional UPDATE, so a
    message another worker took over is left to it), their summaries stored and an ``attachment_verified`` event
    logged for each. Idempotent: an attachment already verified is not verified again. A file that cannot be read
    as a PDF is a stored outcome (state ``unreadable``), not a retry; anything else raised while verifying one
    file is returned as (message id, error) for the worker's retries, and does not hold up the others.
    ``payloads`` are the messages' payloads when the caller has just leased them (the worker's claim read them).
    """
    jobs = _load_jobs(gw, message_ids, worker, payloads)
    failures: list[tuple[int, str]] = []
    finished: list[_VerifyJob] = []
    for job in jobs:
        try:
            if job.todo and job.blob:
                job.summary, job.pending = _verify_blob(gw, job.blob, job.size)
            finished.append(job)
        except Exception as exc:  # storage or network trouble: retried on the schedule, then buried
            log.exception("verifying attachment (message %s) failed", job.message_id)
            failures.append((job.message_id, f"{exc.__class__.__name__}: {exc}"))
    if finished:
        _finish(gw, worker, finished)
    return failures


@dataclass
class _VerifyJob:
    message_id: int
    key: tuple[str, int]
    todo: bool = False
    blob: str | None = None
    size: int | None = None
    summary: dict[str, Any] | None = None
    pending: PendingBlob | None = None  # the report, when small enough to go in with the rows


def _load_jobs(
    gw: Gateway, message_ids: Sequence[int], worker: str, payloads: Mapping[int, dict[str, Any]] | None
) -> list[_VerifyJob]:
    from storage.exchange import checks
    from storage.exchange import messages as leased

    with gw.sessions() as session:
        if payloads is not None:
            found: list[tuple[int, dict[str, Any]]] = [(mid, payloads[mid]) for mid in message_ids]
        else:
            found = leased.leased_payloads(session, message_ids, worker)
        jobs = [
            _VerifyJob(mid, (str(payload.get("package_id")), int(payload.get("position", -1))))
            for mid, payload in sorted(found, key=lambda m: m[0])
        ]
        attachments = checks.attachments_to_check(session, (job.key[0] for job in jobs))
    for job in jobs:
        row = attachments.get(job.key)
        if row is not None:
            job.todo = (row.verification or {}).get("state") in (None, "pending")
            job.blob, job.size = row.blob_sha256, row.size
    return jobs


def _verify_blob(gw: Gateway, sha256: str, size: int | None) -> tuple[dict[str, Any], PendingBlob | None]:
    """The summary of the file's verification, and its full report if that goes into the database with it."""
    data = gw.blobs.read(sha256, size)
    try:
        report = verify_document(gw, data)
    except (SigningError, Invalid, PayloadTooLarge) as exc:
        return {"state": "unreadable", "code": getattr(exc, "code", "error"), "detail": str(exc)[:500]}, None
    ref, pending = gw.blobs.stage(report.to_json().encode())
    return summary_of(report, ref.sha256), pending


def _finish(gw: Gateway, worker: str, jobs: Sequence[_VerifyJob]) -> None:
    """Complete the jobs' messages and store what was verified (storage.exchange.checks.Checks, one transaction)."""
    from service.exchange import log as exchange_log
    from storage.exchange.checks import CheckDone

    done = []
    for job in jobs:
        detail = None
        if job.summary is not None:
            detail = exchange_log.event("attachment_verified", position=job.key[1],
                                        indication=job.summary.get("indication"),
                                        report_sha256=job.summary.get("report_sha256"))["detail"]
        done.append(CheckDone(job.message_id, job.key[0], job.key[1], job.summary, job.pending, detail))
    gw.checks.finish(worker, done, ack=lambda session, ids: gw.bus.ack(ids, worker=worker, session=session))


# --- signing --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignOptions:
    """What a caller may choose when signing with a configured key (API ``options`` JSON, CLI flags)."""

    level: str | None = None  # default: the key's configured level
    certify: bool = False
    pss: bool = False
    reason: str | None = None
    location: str | None = None
    appearance: Appearance | None = None


def sign_document(gw: Gateway, data: bytes, *, key_name: str, caller: Caller | None, options: SignOptions) -> bytes:
    """Sign ``data`` with the configured key ``key_name``; returns the signed PDF."""
    from signing.pdf import LongTermSettings, sign_pdf

    svc = services(gw)
    check_pdf(data, gw.settings.verify_max_bytes)
    config = gw.settings.signing_keys.get(key_name)
    key = svc.key(key_name, caller)
    assert config is not None
    level = options.level or config.level
    long_term = LongTermSettings(trust_roots=svc.trust_roots()) if level in ("B-LT", "B-LTA") else None
    signed = sign_pdf(
        data,
        key=key,
        level=level,  # type: ignore[arg-type]  # sign_pdf refuses unknown levels with level_unsupported
        tsa_url=config.tsa_url or gw.settings.tsa_url,
        appearance=options.appearance,
        certify=options.certify,
        reason=options.reason,
        location=options.location,
        pss=options.pss,
        long_term=long_term,
    )
    assert signed is not None
    return signed


def build_appearance(
    *,
    image: bytes | Path | None = None,
    seal: bytes | Path | None = None,
    box: Sequence[float] | None = None,
    anchor: str | None = None,
    attachment_stamp: str | None = None,
    size: Sequence[float] | None = None,
) -> Appearance | None:
    """The NĐ 30/2020 appearance the options describe (signer image, seal, both, or attachment stamp), or None.

    ``box`` is (page from 1, x1, y1, x2, y2) in points; ``anchor`` is a placeholder such as ``[[CHU_KY]]``: the
    image is centred on it, paints it over, and is shrunk to fit between the position line above and the name
    line below; ``size`` (width, height in points, default 150 × 60) is the largest box wanted there. With
    ``seal`` alone the box/anchor is the *signer's* box the seal overlaps; with both, one appearance shows the
    signer's image and the seal over its left third (NĐ 30/2020 Phụ lục I)."""
    from signing.pdf import Appearance, Box, PdfSigningError, TextAnchor

    if attachment_stamp is not None:
        if image is not None or seal is not None:
            raise PdfSigningError("an attachment stamp has no image (NĐ 30/2020)", code="appearance_invalid")
        return Appearance.attachment(attachment_stamp)
    if image is None and seal is None:
        if box is not None or anchor is not None:
            raise PdfSigningError("a box or anchor needs --image or --seal", code="appearance_invalid")
        return None
    if (box is None) == (anchor is None):
        raise PdfSigningError("give exactly one of box or anchor for the image", code="appearance_invalid")
    if box is not None:
        if len(box) != 5:
            raise PdfSigningError("box is PAGE,X1,Y1,X2,Y2", code="appearance_invalid")
        placement: Box | TextAnchor = Box(int(box[0]) - 1, *(float(v) for v in box[1:]))
    else:
        assert anchor is not None
        placement = TextAnchor(anchor, *_anchor_size(size), fit=True)
    if image is not None and seal is not None:
        return Appearance.signer_with_seal(image, seal, placement)
    if seal is not None:
        return Appearance.seal(seal, placement)
    assert image is not None
    return Appearance.signer(image, placement)


def _anchor_size(size: Sequence[float] | None) -> tuple[float, float]:
    from signing.pdf import PdfSigningError

    if size is None:
        return DEFAULT_BOX
    if len(size) != 2 or not all(8 <= v <= 600 for v in size):
        raise PdfSigningError("size is WIDTH x HEIGHT in points, each 8-600", code="appearance_invalid")
    return float(size[0]), float(size[1])
