"""Verification of the signatures in a PDF (PAdES / adbe.pkcs7.detached), producing a :class:`VerificationReport`.

What is checked, per STANDARDS.md §7 (NĐ 23/2025 and its circular): the signature was made with the key of the
certificate (SIG_CRYPTO_FAILURE), the signed bytes are unchanged (HASH_FAILURE), what the /ByteRange covers and
what was appended after the signed revision (pyHanko's difference analysis), the path to a pinned trust anchor
(:mod:`signing.pdf.trust`), certificate validity **at signing time**, revocation (:mod:`signing.pdf.revocation`),
algorithm strength, key usage, and the signature timestamp.

This module orchestrates: it reads the file, runs pyHanko (or the tolerant raw path), gathers revocation data and
builds the report. The ETSI EN 319 102-1 rules that turn those facts into an indication and a sub-indication are
pure functions in :mod:`signing.pdf.classify`; the two paragraphs below say what they decide and why.

Signing time. The time used is the trusted signature timestamp when there is one (a proof of existence, POE),
else the signer's claimed time, with a warning saying so; a claimed time later than the verification time is
replaced by the verification time. Following ETSI EN 319 102-1, a failure at a *proven* time is TOTAL_FAILED
(REVOKED, EXPIRED, NOT_YET_VALID) while the same failure at a merely *claimed* time is INDETERMINATE
(REVOKED_NO_POE, OUT_OF_BOUNDS_NO_POE): a claimed time proves nothing, so it may never make a verdict better.
In particular a certificate revoked after the claimed time but before now, without a timestamp, is
REVOKED_NO_POE (a stolen key can backdate).

Changes after signing. ETSI has no sub-indication for PDF incremental updates; this project decides:
content changes (ModificationLevel OTHER, or beyond the DocMDP permission) make that signature TOTAL_FAILED /
SIG_CONSTRAINTS_FAILURE; a /ByteRange that does not delimit a complete revision (wrapping, gaps, or
non-whitespace bytes after the signed revision that form no revision) is TOTAL_FAILED / FORMAT_FAILURE;
allowed changes (form values) keep the signature valid for its revision, but the file overall is then at best
INDETERMINATE / SIG_CONSTRAINTS_FAILURE because its newest revision is not covered by any signature
(``whole_document_signed`` is False). Later signatures and LTA data (DSS, document timestamps) are not changes.

Speed (issue 3 asks ≤ 30 ms p50 for a two-signature B-LT file with cached revocation data; ``bench/verify.py``
measures it): anchors are parsed once per :class:`TrustStore`, one certificate registry serves every signature
of a file, revocation data comes from the document or the policy's cache, and path building is skipped when
the document carries status for every certificate it carries. Each signature's /Contents is read once, without
pyHanko's per-character hex lexer (:mod:`signing.pdf.verify_contents`), and certificates, OCSP responses and
CRLs are parsed once per DER for the life of the policy (``RevocationCache.shared_cert`` and friends), so their
memoised name normalisation is reused by every later signature and file (pyHanko is handed those shared
objects; see ``SharedCertificate``). What remains is pyHanko's: the difference analysis (about a third), CMS and
path validation with its revocation checks, and the signature timestamp's own validation.

Document timestamps (/DocTimeStamp, B-LTA; ETSI EN 319 142-1 §5.5) are each checked from their bytes (the
token's imprint against its byte range, the TSA's signature) and for a path from the TSA to a configured anchor,
and listed in the report; an intact, trusted one that covers a revision is LTA data, so the form field it adds is
not an unsigned change, while a forged, damaged or untrusted one is (:func:`_distrust_bad_stamps`).

Files other software writes (issue 18). A signature pyHanko cannot evaluate (legacy sub-filters, plain ECDSA
values, two SignerInfos, any unexpected exception) and a file pyHanko cannot parse go through the tolerant
reading path (:mod:`signing.pdf.rawsig`, :mod:`signing.pdf.verify_raw`): "the bytes prove tampering" stays
TOTAL_FAILED, "cannot evaluate" becomes INDETERMINATE, and an exception never escapes for one signature.

Only a file that cannot be verified at all raises :class:`PdfVerificationError` (codes ``pdf_unreadable``,
``pdf_encrypted``, ``too_many_signatures``); every signature problem is a value in the report (STYLE.md 4).
Resource bounds: at most ``max_signatures`` signatures per file (a PDF with 50,000 signature fields took 38 s and
1.18 GB before, issue 17) and, with ``max_seconds``, signatures not reached in time are INDETERMINATE.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import logging
import re
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import misc as pdf_misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DiffResult, SuspiciousModification
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError
from pyhanko_certvalidator.registry import CertificateRegistry, PathBuilder, SimpleTrustManager

from signing.errors import SigningError
from signing.pdf.classify import (
    Period,
    SignatureFacts,
    classify_file,
    classify_signature,
    coverage_of,
    validity_period,
)
from signing.pdf.classify import valid_at_signing as valid_at_signing_time
from signing.pdf.diff_rules import VERIFY_DIFF_POLICY
from signing.pdf.rawsig import RawSignature, check_signature, find_signatures, parse_pdf_date
from signing.pdf.report import (
    AlgorithmInfo,
    ChangesAfterSigning,
    Coverage,
    DocumentTimestampInfo,
    Finding,
    Indication,
    ModificationLevel,
    RevocationInfo,
    RevocationStatus,
    SignatureReport,
    SigningTimeSource,
    SubIndication,
    VerificationReport,
)
from signing.pdf.revocation import (
    RevocationCache,
    RevocationData,
    RevocationMode,
    RevocationPolicy,
    SharedCertificate,
    describe_status,
    fetch_for_path,
    revinfo_from_signed_data,
)
from signing.pdf.trust import TrustStore
from signing.pdf.verify_contents import prefill_signature_objects
from signing.pdf.verify_raw import (
    LEGACY_SUBFILTERS,
    bare_report,
    cert_info,
    key_type_and_size,
    raw_signature_report,
    raw_timestamp_info,
)

__all__ = ["DEFAULT_MAX_SIGNATURES", "PdfVerificationError", "averify_pdf", "verify_pdf"]

log = logging.getLogger(__name__)

# STANDARDS.md §7: RSA >= 2048 or ECDSA >= 256, SHA-256 or stronger.
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_DIGESTS = frozenset({"md2", "md5", "sha1"})
# Key usage a signing certificate must assert (either one; NĐ 23/2025 asks that key usage be checked).
SIGNING_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})
_MAX_FILE = 512 * 1024 * 1024
DEFAULT_MAX_SIGNATURES = 50
# Form fields a file may declare at the top of its AcroForm: each costs pyHanko a parsed object even when empty,
# and a file with 50,000 empty signature fields took 38 s (issue 17). Counted without reading any field.
_FIELDS_PER_SIGNATURE = 100
_MIN_FIELDS = 2_000


class PdfVerificationError(SigningError):
    """The file cannot be read as a PDF at all (not a PDF, damaged beyond repair, encrypted with a password)."""

    code = "pdf_unreadable"


def verify_pdf(
    data: bytes | Path,
    *,
    trust: TrustStore,
    anchor_sets: Sequence[str] | None = None,
    revocation: RevocationPolicy | None = None,
    at: datetime | None = None,
    max_signatures: int = DEFAULT_MAX_SIGNATURES,
    max_seconds: float | None = None,
) -> VerificationReport:
    """Verify every signature in ``data``. ``at`` is the verification ("current") time, default now (UTC).

    Pass one long-lived ``revocation`` policy to reuse its OCSP/CRL cache. Do not call from a running event
    loop: use :func:`averify_pdf` there (or run this in a worker thread). Each thread keeps one event loop for
    these calls: the delivery worker verifies every received PDF, and a fresh loop per file (``asyncio.run``)
    cost a third as much as verifying an unsigned 100 KB PDF."""
    return _thread_runner().run(
        averify_pdf(
            data,
            trust=trust,
            anchor_sets=anchor_sets,
            revocation=revocation,
            at=at,
            max_signatures=max_signatures,
            max_seconds=max_seconds,
        )
    )


_runners = threading.local()


def _thread_runner() -> asyncio.Runner:
    runner: asyncio.Runner | None = getattr(_runners, "runner", None)
    if runner is None:
        runner = _runners.runner = asyncio.Runner()
        weakref.finalize(threading.current_thread(), runner.close)  # closed with its thread, not left to the GC
    return runner


async def averify_pdf(
    data: bytes | Path,
    *,
    trust: TrustStore,
    anchor_sets: Sequence[str] | None = None,
    revocation: RevocationPolicy | None = None,
    at: datetime | None = None,
    max_signatures: int = DEFAULT_MAX_SIGNATURES,
    max_seconds: float | None = None,
) -> VerificationReport:
    """Async form of :func:`verify_pdf` (network fetches of OCSP/CRL happen inside)."""
    raw = _read_bytes(data)
    now = (at or datetime.now(UTC)).astimezone(UTC)
    policy = revocation or RevocationPolicy()
    if b"%PDF-" not in raw[:1024]:  # ISO 32000 lets the header sit anywhere in the first 1024 bytes
        raise PdfVerificationError("Tệp không phải PDF (không có phần đầu %PDF-)")
    try:
        reader = _open(raw)
        _check_field_count(reader, max(_MIN_FIELDS, _FIELDS_PER_SIGNATURE * max_signatures))
        prefill_signature_objects(reader, raw)  # /Contents without pyHanko's per-character hex lexer
        ctx = _context_for_file(raw, reader, trust, anchor_sets, policy, now)
        found, stamps = _collect(reader, raw, now, policy.cache, max_signatures)
    except PdfVerificationError as exc:
        if exc.code != PdfVerificationError.code:
            raise
        return _raw_file_report(raw, now, policy, anchor_sets, trust, str(exc), max_signatures)
    except SigningError:  # configuration (e.g. an unknown trust set): the caller's problem, not the file's
        raise
    except Exception as exc:  # pyHanko met something it does not expect: the bytes may still allow a verdict
        log.info("falling back to the tolerant reader: %r", exc)
        return _raw_file_report(raw, now, policy, anchor_sets, trust, f"{type(exc).__name__}: {exc}", max_signatures)
    timestamps = tuple([await _trusted_timestamp(name, emb, ctx) for name, emb in stamps])
    lta_fields = {t.field_name for t in timestamps if t.intact and t.covers_revision and t.trusted}
    signed_fields = {
        name for name, emb in found if isinstance(emb, EmbeddedPdfSignature) or emb.integrity  # later signatures
    } | lta_fields
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    reports = []
    for name, emb in found:
        if deadline is not None and time.monotonic() > deadline:
            reports.append(_out_of_time(name, now, max_seconds or 0.0))
        elif isinstance(emb, EmbeddedPdfSignature):
            reports.append(await _verify_guarded(emb, ctx, signed_fields))
        else:
            reports.append(emb)
    return _overall(raw, reader, _distrust_bad_stamps(reports, timestamps), timestamps, policy, now, ctx.anchor_sets)


def _distrust_bad_stamps(
    reports: list[SignatureReport], timestamps: tuple[DocumentTimestampInfo, ...]
) -> tuple[SignatureReport, ...]:
    """A document timestamp that fails its own check is an unverified change, not LTA data: a signature followed
    by one no longer covers the newest revision (so a fake timestamp field cannot hide what came with it)."""
    bad = [t.signed_revision for t in timestamps if not (t.intact and t.covers_revision and t.trusted)]
    if not bad:
        return tuple(reports)
    return tuple(
        dataclasses.replace(r, covers_final_document=False)
        if r.covers_final_document and r.coverage is not Coverage.ENTIRE_FILE
        and any(rev == 0 or rev > r.signed_revision for rev in bad)
        else r
        for r in reports
    )


# --- reading -----------------------------------------------------------------------------------------------


def _read_bytes(data: bytes | Path) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    try:
        size = data.stat().st_size
        if size > _MAX_FILE:
            raise PdfVerificationError(f"{data} is larger than {_MAX_FILE} bytes")
        return data.read_bytes()
    except OSError as exc:
        raise PdfVerificationError(f"cannot read {data}: {exc}") from exc


def _open(raw: bytes) -> PdfFileReader:
    try:
        reader = PdfFileReader(io.BytesIO(raw), strict=False)
        if reader.encrypted:
            result = reader.decrypt(b"")
            if result.status.name == "FAILED":
                raise _encrypted()
        reader.root  # noqa: B018 - forces the catalog to resolve
    except PdfVerificationError:
        raise
    except (pdf_misc.PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise PdfVerificationError(f"the PDF cannot be parsed: {exc}") from exc
    return reader


def _context_for_file(
    raw: bytes,
    reader: PdfFileReader,
    trust: TrustStore,
    anchor_sets: Sequence[str] | None,
    policy: RevocationPolicy,
    now: datetime,
) -> _Context:
    """What all signatures of one file share: anchors, one certificate registry, the DSS content."""
    roots = trust.parsed(trust.anchors(anchor_sets))
    dss = _read_dss(reader)
    shared = policy.cache
    registry = CertificateRegistry.build([shared.shared_cert(c) for c in dss.load_certs()] if dss else ())
    trust_manager = SimpleTrustManager.build(trust_roots=roots)
    for root in roots:
        registry.register(root)
    return _Context(
        raw=raw,
        reader=reader,
        roots=roots,
        trust=trust,
        anchor_sets=tuple(anchor_sets) if anchor_sets is not None else trust.set_names,
        policy=policy,
        now=now,
        dss_ocsps=[shared.shared_ocsp(_load_ocsp(o)) for o in dss.ocsps] if dss else [],
        dss_crls=[shared.shared_crl(_load_crl(c)) for c in dss.crls] if dss else [],
        registry=registry,
        trust_manager=trust_manager,
        path_builder=PathBuilder(trust_manager=trust_manager, registry=registry),
    )


def _read_dss(reader: PdfFileReader) -> DocumentSecurityStore | None:
    try:
        return DocumentSecurityStore.read_dss(reader)
    except Exception:  # a missing or damaged DSS only means no embedded LTV data
        return None


def _collect(
    reader: PdfFileReader, raw: bytes, now: datetime, cache: RevocationCache, max_signatures: int
) -> tuple[list[tuple[str, EmbeddedPdfSignature | SignatureReport]], list[tuple[str, object]]]:
    """Filled signature fields in signing order, and the document timestamps (B-LTA data, checked apart).

    A signature pyHanko cannot even load is judged from its bytes at once (:mod:`signing.pdf.verify_raw`).
    More than ``max_signatures`` filled fields in all is refused before any is verified."""
    found: list[tuple[str, EmbeddedPdfSignature | SignatureReport]] = []
    stamps: list[tuple[str, object]] = []
    for fq_name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
        if len(found) + len(stamps) >= max_signatures:
            raise _too_many(max_signatures)
        try:
            obj = sig_obj.get_object()
            if obj.get("/Type") == "/DocTimeStamp" or obj.get("/SubFilter") == "/ETSI.RFC3161":
                stamps.append((fq_name, _embedded_or_object(reader, sig_field, fq_name, obj)))
                continue
            if _subfilter(obj) in LEGACY_SUBFILTERS:
                found.append((fq_name, _raw_for_object(raw, now, fq_name, obj, "legacy sub-filter")))
                continue
            emb = EmbeddedPdfSignature(reader, sig_field, fq_name)
            _share_cms_certs(emb, cache)
            found.append((fq_name, emb))
        except Exception as exc:  # any parse failure of one signature is judged from that signature's bytes
            found.append((fq_name, _raw_for_object(raw, now, fq_name, sig_obj, f"{type(exc).__name__}: {exc}")))

    def order(item: tuple[str, EmbeddedPdfSignature | SignatureReport]) -> int:
        value = item[1]
        return value.signed_revision if isinstance(value, EmbeddedPdfSignature) else 1 << 30

    found.sort(key=order)
    return found, stamps


def _subfilter(obj) -> str | None:
    value = obj.get("/SubFilter")
    return str(value)[1:] if value is not None else None


def _embedded_or_object(reader: PdfFileReader, sig_field, fq_name: str, obj) -> object:
    try:
        return EmbeddedPdfSignature(reader, sig_field, fq_name)
    except Exception:  # judged from its bytes alone in _check_timestamp
        return obj


def _raw_of(raw: bytes, obj, *, doc_timestamp: bool = False) -> RawSignature:
    """The tolerant check of one signature dictionary (already resolved by pyHanko)."""
    try:
        byte_range = tuple(int(v) for v in obj["/ByteRange"])
        contents = obj.get("/Contents")
        cert = obj.get("/Cert")
        when = obj.get("/M")
    except Exception as exc:
        return RawSignature((0, 0, 0, 0), problem=f"unreadable signature dictionary: {exc}")
    if len(byte_range) != 4:
        return RawSignature((0, 0, 0, 0), problem="a /ByteRange needs four numbers")
    return check_signature(
        raw,
        (byte_range[0], byte_range[1], byte_range[2], byte_range[3]),
        subfilter=_subfilter(obj),
        doc_timestamp=doc_timestamp,
        cert_der=_first_cert(cert),
        claimed_time=parse_pdf_date(str(when)) if when is not None else None,
        contents=bytes(contents) if isinstance(contents, bytes | bytearray) and contents else None,
    )


def _first_cert(value) -> bytes | None:
    try:
        if isinstance(value, list | tuple):
            value = next(iter(value))
        return bytes(value) if value is not None else None
    except Exception:
        return None


def _raw_for_object(raw: bytes, now: datetime, name: str, obj, reason: str) -> SignatureReport:
    try:
        checked = _raw_of(raw, obj.get_object())
    except Exception as exc:  # a dangling reference to the dictionary itself
        checked = RawSignature((0, 0, 0, 0), problem=f"{type(exc).__name__}: {exc}")
    return raw_signature_report(name, checked, now, reason=reason)


async def _trusted_timestamp(name: str, emb: object, ctx: _Context) -> DocumentTimestampInfo:
    """A document timestamp: its token against its byte range (rawsig), whether it delimits a revision, and
    whether its TSA certificate leads to a configured anchor (a timestamp anyone can make proves nothing, and
    its field could otherwise carry a visible appearance into the "covered" part of the file)."""
    try:
        if isinstance(emb, EmbeddedPdfSignature):
            level = emb.evaluate_signature_coverage()
            covers = level in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION)
            checked, revision = _raw_of(ctx.raw, emb.sig_object, doc_timestamp=True), emb.signed_revision + 1
        else:
            checked, revision, covers = _raw_of(ctx.raw, emb, doc_timestamp=True), 0, False
        info = raw_timestamp_info(name, checked, revision=revision, covers_revision=covers)
        if not info.intact or checked.signer_cert is None:
            return info
        carried = [ctx.policy.cache.shared_cert(c) for c in checked.certificates]
        ctx.registry.register_multiple(carried)
        path = await _path(ctx.policy.cache.shared_cert(checked.signer_cert), ctx)
        return dataclasses.replace(info, trusted=bool(path))
    except Exception as exc:  # a timestamp we cannot read is simply not LTA evidence
        return DocumentTimestampInfo(name, None, False, False, 0, problem=f"{type(exc).__name__}: {exc}"[:300])


def _share_cms_certs(emb: EmbeddedPdfSignature, cache: RevocationCache) -> None:
    """Let the signature's CMS (and its timestamp token's) hand pyHanko the shared parsed certificates.

    asn1crypto keeps a Choice's parsed alternative in ``_parsed`` and ``chosen`` returns it; before pyHanko
    first reads the certificates, each is pointed at the shared object with the same DER, on this signature's own
    CMS object only (see :class:`signing.pdf.revocation.SharedCertificate`). Anything unexpected leaves the CMS as
    pyHanko parsed it."""
    for signed_data in (emb.signed_data, _tst_signed_data(emb.signer_info)):
        try:
            choices = list(signed_data["certificates"] or ()) if signed_data is not None else []
            for choice in choices:
                if choice.name != "certificate":
                    continue
                shared = cache.shared_cert(choice.chosen)
                if isinstance(shared, SharedCertificate) and shared.dump() == choice.chosen.dump():
                    choice._parsed = shared
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.debug("certificates of %s left as parsed: %s", emb.fq_name, exc)


# --- per signature -----------------------------------------------------------------------------------------


@dataclass
class _Context:
    raw: bytes
    reader: PdfFileReader
    roots: list[asn1_x509.Certificate]
    trust: TrustStore
    anchor_sets: tuple[str, ...]
    policy: RevocationPolicy
    now: datetime
    dss_ocsps: list[asn1_ocsp.OCSPResponse]
    dss_crls: list[asn1_crl.CertificateList]
    registry: CertificateRegistry
    trust_manager: SimpleTrustManager
    path_builder: PathBuilder


@dataclass
class _Findings:
    warnings: list[Finding] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)

    def warn(self, code: str, vi: str, en: str) -> None:
        self.warnings.append(Finding(code, vi, en))

    def error(self, code: str, vi: str, en: str) -> None:
        self.errors.append(Finding(code, vi, en))


class _Malformed(Exception):
    """pyHanko could not process the signature structure (becomes TOTAL_FAILED / FORMAT_FAILURE)."""


@dataclass(frozen=True)
class _Timing:
    claimed: datetime | None
    tst: datetime | None  # genTime of the signature timestamp token, not yet validated
    used: datetime
    source: SigningTimeSource


async def _verify_guarded(emb: EmbeddedPdfSignature, ctx: _Context, signed_fields: set[str]) -> SignatureReport:
    """:func:`_verify_one`, with any unexpected exception turned into that signature's INDETERMINATE report."""
    try:
        return await _verify_one(emb, ctx, signed_fields)
    except Exception as exc:
        log.warning("verification of %s failed unexpectedly: %r", emb.fq_name, exc)
        detail = f"{type(exc).__name__}: {exc}"[:500]
        return _crashed(emb, ctx, detail)


def _crashed(emb: EmbeddedPdfSignature, ctx: _Context, detail: str) -> SignatureReport:
    """An exception inside the verifier: what the bytes prove still counts, but never better than INDETERMINATE."""
    report = raw_signature_report(
        emb.fq_name, _raw_of(ctx.raw, emb.sig_object), ctx.now, reason=detail, revision=emb.signed_revision + 1
    )
    finding = Finding(
        "verification_error",
        "Phần mềm kiểm tra gặp lỗi khi đánh giá chữ ký này; chưa xác định được tính hợp lệ (chi tiết trong báo cáo"
        " JSON)",
        "The verifier failed while evaluating this signature; its validity could not be determined (details in the"
        " JSON report)",
        detail,
    )
    if report.indication is Indication.TOTAL_FAILED:
        return dataclasses.replace(report, errors=(*report.errors, finding))
    return dataclasses.replace(
        report,
        indication=Indication.INDETERMINATE,
        sub_indication=report.sub_indication or SubIndication.FORMAT_FAILURE,
        errors=(*report.errors, finding),
    )


async def _verify_one(emb: EmbeddedPdfSignature, ctx: _Context, signed_fields: set[str]) -> SignatureReport:
    notes = _Findings()
    try:
        cert = emb.signer_cert  # pyHanko keeps it on ``emb`` and its validation reads it there again
    except Exception as exc:  # pyHanko raises plain errors when the SignerInfo names no cert
        return _no_signer_cert(emb, ctx, exc)
    timing = _timing(emb, ctx.now, use_timestamp=True)
    try:
        status, revdata = await _validate(emb, cert, timing, ctx)
        if timing.source is SigningTimeSource.TIMESTAMP and not _timestamp_ok(status):
            notes.warn(
                "timestamp_untrusted",
                "Dấu thời gian của chữ ký không hợp lệ hoặc không tin cậy; dùng thời điểm ký do người ký tự khai",
                "The signature timestamp is invalid or untrusted; the signer's claimed time is used instead",
            )
            timing = _timing(emb, ctx.now, use_timestamp=False)
            status, revdata = await _validate(emb, cert, timing, ctx)
    except _Malformed as exc:
        return _from_bytes(emb, ctx, str(exc))
    if status.intact and not status.valid:
        # pyHanko's CMS check refused the value; a plain r‖s ECDSA value (BSI TR-03111) verifies in the tolerant
        # reader: a format deviation, not a forgery
        checked = _raw_of(ctx.raw, emb.sig_object)
        if checked.intact:
            return _from_bytes(emb, ctx, "signature value not in the CMS encoding", checked, plain=_is_plain_ec(emb))
    return _build_report(emb, cert, status, revdata, timing, ctx, signed_fields, notes)


def _from_bytes(
    emb: EmbeddedPdfSignature, ctx: _Context, reason: str, checked: RawSignature | None = None, *, plain: bool = False
) -> SignatureReport:
    """The verdict of the tolerant reader for a signature pyHanko could load but not evaluate."""
    log.info("signature %s judged from its bytes: %s", emb.fq_name, reason)
    checked = checked or _raw_of(ctx.raw, emb.sig_object)
    coverage = None
    if checked.byte_range_ok and emb.coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        coverage = Coverage.ENTIRE_REVISION
    return raw_signature_report(
        emb.fq_name, checked, ctx.now, reason=reason, revision=emb.signed_revision + 1, coverage=coverage,
        plain_ecdsa=plain,
    )


def _is_plain_ec(emb: EmbeddedPdfSignature) -> bool:
    try:
        value = emb.signer_info["signature"].native
        return emb.signer_cert.public_key.algorithm == "ec" and value[:1] != b"\x30"
    except Exception:
        return False


def _timing(emb: EmbeddedPdfSignature, now: datetime, *, use_timestamp: bool) -> _Timing:
    claimed = _claimed_time(emb)
    tst = _tst_time(emb.signer_info) if use_timestamp else None
    if tst is not None:
        return _Timing(claimed, tst, tst, SigningTimeSource.TIMESTAMP)
    if claimed is not None:
        return _Timing(claimed, None, min(claimed, now), SigningTimeSource.CLAIMED)
    return _Timing(None, None, now, SigningTimeSource.VALIDATION_TIME)


def _claimed_time(emb: EmbeddedPdfSignature) -> datetime | None:
    """The signer's claimed time; ISO 32000 allows /M without a UTC offset, which is read as UTC (and noted)."""
    try:
        claimed = emb.self_reported_timestamp
    except Exception:  # an unreadable /M is no claimed time at all
        return None
    if claimed is not None and claimed.tzinfo is None:
        return claimed.replace(tzinfo=UTC)
    return claimed


def _naive_claimed_time(emb: EmbeddedPdfSignature) -> bool:
    try:
        claimed = emb.self_reported_timestamp
    except Exception:
        return False
    return claimed is not None and claimed.tzinfo is None


def _tst_time(signer_info: asn1_cms.SignerInfo) -> datetime | None:
    for attr in signer_info["unsigned_attrs"] or ():
        if attr["type"].native != "signature_time_stamp_token":
            continue
        for token in attr["values"]:
            content = token["content"]["encap_content_info"]["content"]
            tst_info: asn1_tsp.TSTInfo = content.parsed
            return tst_info["gen_time"].native
    return None


async def _validate(
    emb: EmbeddedPdfSignature, cert: asn1_x509.Certificate, timing: _Timing, ctx: _Context
) -> tuple[PdfSignatureStatus, RevocationData]:
    # our own parsed copies, shared across verifications (pyHanko still reads its own from the CMS): registered
    # first, they are the registry's answer when path building looks for an issuer
    shared = ctx.policy.cache
    carried = [shared.shared_cert(c) for c in _cms_certs(emb.signed_data) + _tst_certs(emb.signer_info)]
    ctx.registry.register_multiple(carried)
    revdata = RevocationData(cache=shared)
    ocsps, crls = revinfo_from_signed_data(emb.signed_data)
    revdata.add_embedded([shared.shared_ocsp(o) for o in ocsps], [shared.shared_crl(c) for c in crls])
    revdata.add_embedded(ctx.dss_ocsps, ctx.dss_crls)
    if not ctx.policy.offline:
        await _gather_revinfo(cert, emb, carried, revdata, timing, ctx)
    signer_vc = _context(ctx, revdata, timing.used, ctx.policy.mode)
    ts_vc = None
    if timing.tst is not None:
        ts_vc = _context(ctx, revdata, timing.tst, RevocationMode.SOFT_FAIL)
    try:
        status = await async_validate_pdf_signature(
            emb,
            signer_validation_context=signer_vc,
            ts_validation_context=ts_vc,
            diff_policy=VERIFY_DIFF_POLICY,
            key_usage_settings=KeyUsageConstraints(key_usage=set(SIGNING_KEY_USAGES), match_all_key_usages=False),
        )
    except (SignatureValidationError, pdf_misc.PdfError, ValueError, KeyError, NotImplementedError) as exc:
        raise _Malformed(str(exc)) from exc
    except AssertionError as exc:  # pyhanko-certvalidator asserts e.g. key type == declared algorithm
        raise _Malformed(f"inconsistent signature structure ({exc!r})") from exc
    return status, revdata


async def _gather_revinfo(
    cert: asn1_x509.Certificate,
    emb: EmbeddedPdfSignature,
    carried: list[asn1_x509.Certificate],
    revdata: RevocationData,
    timing: _Timing,
    ctx: _Context,
) -> None:
    """Add cached or fetched status for the signer's path (and the TSA's) where the document's own is not enough.

    Embedded data suffices when a timestamp proves the signing time; otherwise current status is needed, since
    a revocation after a merely claimed time must be seen."""
    proven = timing.source is SigningTimeSource.TIMESTAMP
    if proven and all(revdata.has_status_for(c) for c in carried if c.self_signed == "no"):
        return  # B-LT: the document carries status for every certificate it carries (path building costs ~5 ms)
    leaves = [cert]
    tsa_cert = _tsa_cert(emb.signer_info)
    if tsa_cert is not None:
        leaves.append(tsa_cert)
    for leaf in leaves:
        path = await _path(leaf, ctx)
        if path and not (proven and all(revdata.has_status_for(c) for c in path[:-1])):
            await fetch_for_path(path, revdata, ctx.policy, ctx.now)


def _context(ctx: _Context, revdata: RevocationData, moment: datetime, mode: RevocationMode) -> ValidationContext:
    return ValidationContext(
        trust_manager=ctx.trust_manager,
        certificate_registry=ctx.registry,
        moment=moment,
        best_signature_time=moment,
        allow_fetching=False,
        ocsps=list(revdata.ocsps),
        crls=list(revdata.crls),
        revocation_mode="require" if mode is RevocationMode.HARD_FAIL else "soft-fail",
        retroactive_revinfo=True,
    )


async def _path(cert: asn1_x509.Certificate, ctx: _Context) -> list[asn1_x509.Certificate]:
    """One candidate path, leaf first, anchor last; empty when none leads to a configured anchor."""
    try:
        paths = await ctx.path_builder.async_build_paths(cert)
    except PathBuildingError:
        return []
    if not paths:
        return []
    return _leaf_first(paths[0], cert)


def _leaf_first(vpath, cert: asn1_x509.Certificate) -> list[asn1_x509.Certificate]:
    chain = list(reversed(list(vpath.iter_certs(include_root=True))))
    if not chain or chain[0].sha256 != cert.sha256:
        chain.insert(0, cert)
    return chain


def _cms_certs(signed_data: asn1_cms.SignedData) -> list[asn1_x509.Certificate]:
    return [c.chosen for c in signed_data["certificates"] or () if c.name == "certificate"]


def _tst_signed_data(signer_info: asn1_cms.SignerInfo) -> asn1_cms.SignedData | None:
    for attr in signer_info["unsigned_attrs"] or ():
        if attr["type"].native == "signature_time_stamp_token":
            for token in attr["values"]:
                return token["content"]
    return None


def _tst_certs(signer_info: asn1_cms.SignerInfo) -> list[asn1_x509.Certificate]:
    sd = _tst_signed_data(signer_info)
    return [] if sd is None else _cms_certs(sd)


def _tsa_cert(signer_info: asn1_cms.SignerInfo) -> asn1_x509.Certificate | None:
    sd = _tst_signed_data(signer_info)
    if sd is None:
        return None
    sid = sd["signer_infos"][0]["sid"]
    for cert in _cms_certs(sd):
        if sid.name == "issuer_and_serial_number":
            if cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native:
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


def _load_ocsp(ref) -> asn1_ocsp.OCSPResponse:
    return asn1_ocsp.OCSPResponse.load(ref.get_object().data)


def _load_crl(ref) -> asn1_crl.CertificateList:
    return asn1_crl.CertificateList.load(ref.get_object().data)


def _timestamp_ok(status: PdfSignatureStatus) -> bool:
    tst = status.timestamp_validity
    return tst is not None and tst.intact and tst.valid and tst.trusted


# --- mapping to the report ---------------------------------------------------------------------------------


def _build_report(
    emb: EmbeddedPdfSignature,
    cert: asn1_x509.Certificate,
    status: PdfSignatureStatus,
    revdata: RevocationData,
    timing: _Timing,
    ctx: _Context,
    signed_fields: set[str],
    notes: _Findings,
) -> SignatureReport:
    path = _leaf_first(status.validation_path, cert) if status.validation_path else []
    trusted_path = status.trust_problem_indic is None and status.validation_path is not None
    anchor_set = _anchor_set(status, ctx)
    revocation = describe_status(cert, revdata)
    algorithms = _algorithms(status, cert, path)
    key_usage_ok = _key_usage_ok(cert)
    changes = _changes(emb, ctx.reader)
    coverage = _coverage(emb.coverage, changes, _trailing_bytes(emb, ctx.raw))
    covers_final = _covers_final(coverage, changes, emb.fq_name, signed_fields)
    proven = timing.source is SigningTimeSource.TIMESTAMP
    in_period = _in_period(cert, timing.used)
    missing_revinfo = _missing_revinfo(path, revdata)
    facts = SignatureFacts(
        intact=bool(status.intact), valid=bool(status.valid), coverage=coverage, modification=changes.level,
        docmdp_ok=status.docmdp_ok, trust_problem=getattr(status.trust_problem_indic, "name", None),
        weak_algorithms=algorithms is not None and algorithms.weak, revocation=revocation,
        signing_time=timing.used, in_period=in_period, proven=proven, missing_revocation=missing_revinfo,
        hard_fail=ctx.policy.mode is RevocationMode.HARD_FAIL,
    )  # fmt: skip
    indication, sub = classify_signature(facts)
    if missing_revinfo:
        _warn_no_revocation(notes, revdata)
    _timing_notes(notes, timing, cert, revocation)
    if _naive_claimed_time(emb):
        notes.warn(
            "signing_time_without_offset",
            "Thời điểm ký ghi trong tệp không có múi giờ; được hiểu là giờ UTC",
            "The signing time in the file states no UTC offset; it is read as UTC",
        )
    _change_notes(notes, changes, covers_final, coverage)
    _algorithm_notes(notes, algorithms, key_usage_ok)
    if ctx.policy.offline and revocation.status is RevocationStatus.GOOD and not proven:
        notes.warn(
            "revocation_as_embedded",
            "Chế độ ngoại tuyến: tình trạng thu hồi lấy từ dữ liệu trong tệp, có thể đã thay đổi sau đó",
            "Offline mode: revocation status is as embedded in the file and may have changed since",
        )
    valid_at_signing = valid_at_signing_time(
        sub, trusted_path=trusted_path, in_period=in_period, revocation=revocation, when=timing.used
    )
    return SignatureReport(
        field_name=emb.fq_name,
        signer=cert_info(cert),
        claimed_signing_time=timing.claimed,
        timestamp_time=timing.tst if proven else None,
        signing_time_used=timing.used,
        signing_time_source=timing.source,
        integrity=bool(status.intact and status.valid),
        coverage=coverage,
        signed_revision=emb.signed_revision + 1,
        changes=changes,
        covers_final_document=covers_final,
        certificate_path=tuple(cert_info(c) for c in path),
        anchor_set=anchor_set,
        valid_at_signing_time=valid_at_signing,
        revocation=revocation,
        algorithms=algorithms,
        key_usage_ok=key_usage_ok,
        indication=indication,
        sub_indication=sub,
        warnings=tuple(notes.warnings),
        errors=tuple(notes.errors),
    )


def _missing_revinfo(path: list[asn1_x509.Certificate], revdata: RevocationData) -> bool:
    return bool(path) and not all(revdata.has_status_for(c) for c in path[:-1])


def _warn_no_revocation(notes: _Findings, revdata: RevocationData) -> None:
    detail = "; ".join(revdata.fetch_failures)[:300]
    notes.warn(
        "revocation_unchecked",
        "Không kiểm tra được tình trạng thu hồi chứng thư (không có OCSP/CRL sử dụng được)"
        + (f": {detail}" if detail else ""),
        "Certificate revocation status could not be checked (no usable OCSP response or CRL)"
        + (f": {detail}" if detail else ""),
    )


def _timing_notes(notes: _Findings, timing: _Timing, cert: asn1_x509.Certificate, rev: RevocationInfo) -> None:
    if timing.source is SigningTimeSource.CLAIMED:
        notes.warn(
            "claimed_signing_time",
            "Không có dấu thời gian: thời điểm ký do người ký tự khai, không phải bằng chứng",
            "No timestamp: the signing time is claimed by the signer and is not proof",
        )
        if timing.claimed is not None and timing.claimed > timing.used:
            notes.warn(
                "claimed_time_in_future",
                "Thời điểm ký tự khai muộn hơn thời điểm kiểm tra; dùng thời điểm kiểm tra",
                "The claimed signing time is later than the verification time; the verification time is used",
            )
    elif timing.source is SigningTimeSource.VALIDATION_TIME:
        notes.warn(
            "no_signing_time",
            "Chữ ký không ghi thời điểm ký; hiệu lực chứng thư được kiểm tra tại thời điểm kiểm tra",
            "The signature states no signing time; certificate validity is checked at verification time",
        )
    if rev.status is RevocationStatus.REVOKED and rev.revoked_at is not None:
        when = rev.revoked_at.isoformat()
        notes.warn(
            "certificate_revoked",
            f"Chứng thư của người ký đã bị thu hồi lúc {when}",
            f"The signer's certificate was revoked at {when}",
        )


def _change_notes(notes: _Findings, changes: ChangesAfterSigning, covers_final: bool, coverage: Coverage) -> None:
    if coverage is Coverage.PARTIAL:
        notes.error(
            "byte_range",
            "Vùng ký (/ByteRange) không bao trọn một phiên bản của tệp: có thể đã bị chèn nội dung",
            "The signed byte range does not delimit a complete revision of the file: content may be injected",
        )
    elif changes.level is ModificationLevel.OTHER:
        notes.error(
            "modified_after_signing",
            "Tài liệu đã bị sửa nội dung sau khi ký" + (f" ({changes.detail})" if changes.detail else ""),
            "The document's content was modified after signing" + (f" ({changes.detail})" if changes.detail else ""),
        )
    elif not covers_final:
        fields = ", ".join(changes.changed_form_fields) or "—"
        notes.warn(
            "changed_after_signing",
            f"Tài liệu đã được bổ sung sau khi ký (trường biểu mẫu: {fields}); chữ ký chỉ xác nhận phiên bản trước đó",
            f"The document was changed after signing (form fields: {fields}); the signature covers an earlier"
            " revision only",
        )


def _algorithm_notes(notes: _Findings, algorithms: AlgorithmInfo | None, key_usage_ok: bool | None) -> None:
    if algorithms is not None and algorithms.weak:
        problems = "; ".join(algorithms.problems)
        notes.error(
            "weak_algorithm",
            f"Thuật toán không còn an toàn: {problems}",
            f"Algorithm no longer acceptable: {problems}",
        )
    if key_usage_ok is False:
        notes.error(
            "key_usage",
            "Chứng thư không cho phép dùng khóa để ký (Key Usage thiếu digitalSignature/nonRepudiation)",
            "The certificate does not allow signing (Key Usage lacks digitalSignature/nonRepudiation)",
        )


def _in_period(cert: asn1_x509.Certificate, when: datetime) -> Period:
    validity = cert["tbs_certificate"]["validity"]
    return validity_period(validity["not_before"].native, validity["not_after"].native, when)


def _coverage(level: SignatureCoverageLevel | None, changes: ChangesAfterSigning, trailing: bytes) -> Coverage:
    return coverage_of(
        entire_file=level == SignatureCoverageLevel.ENTIRE_FILE,
        entire_revision=level == SignatureCoverageLevel.ENTIRE_REVISION,
        later_revisions=changes.later_revisions,
        trailing=trailing,
    )


def _trailing_bytes(emb: EmbeddedPdfSignature, raw: bytes) -> bytes:
    try:
        _, _, start2, len2 = (int(v) for v in emb.byte_range)
    except (TypeError, ValueError):
        return b""
    return raw[start2 + len2 :]


def _changes(emb: EmbeddedPdfSignature, reader: PdfFileReader) -> ChangesAfterSigning:
    later = reader.xrefs.total_revisions - 1 - emb.signed_revision
    diff = emb.diff_result
    if isinstance(diff, DiffResult):
        level = ModificationLevel(diff.modification_level.name)
        fields: tuple[str, ...] = tuple(sorted(diff.changed_form_fields))
        detail = None
    else:
        level, fields = ModificationLevel.OTHER, ()
        detail = str(diff) if isinstance(diff, SuspiciousModification) else None
    if later <= 0:
        return ChangesAfterSigning(level=level, later_revisions=0, changed_form_fields=fields, detail=detail)
    before, after = _page_stats(reader, emb.signed_revision), _page_stats(reader, None)
    return ChangesAfterSigning(
        level=level,
        later_revisions=later,
        pages_added=max(0, after[0] - before[0]),
        pages_removed=max(0, before[0] - after[0]),
        annotations_added=max(0, after[1] - before[1]),
        changed_form_fields=fields,
        detail=detail,
    )


def _page_stats(reader: PdfFileReader, revision: int | None) -> tuple[int, int]:
    """(pages, annotations) of a revision (``None``: the newest). Best effort: (0, 0) when unreadable."""
    try:
        root = reader.root if revision is None else reader.get_historical_root(revision)
        pages = annots = 0
        stack, seen = [root["/Pages"]], 0
        while stack and seen < 100_000:
            node = stack.pop()
            seen += 1
            if node.get("/Type") == "/Pages" or "/Kids" in node:
                stack.extend(kid.get_object() for kid in node.get("/Kids", ()))
            else:
                pages += 1
                annots += len(node.get("/Annots", ()) or ())
        return pages, annots
    except Exception:  # informative counts only; the diff analysis makes the decision
        return 0, 0


def _covers_final(coverage: Coverage, changes: ChangesAfterSigning, name: str, signed_fields: set[str]) -> bool:
    if coverage is Coverage.ENTIRE_FILE:
        return True
    if coverage is Coverage.PARTIAL or changes.level is ModificationLevel.OTHER:
        return False
    if changes.level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return True
    later_signatures = signed_fields - {name}
    return changes.level is ModificationLevel.FORM_FILLING and set(changes.changed_form_fields) <= later_signatures


def _anchor_set(status: PdfSignatureStatus, ctx: _Context) -> str | None:
    path = status.validation_path
    if path is None or status.trust_problem_indic is not None:
        return None
    cert = getattr(path.trust_anchor.authority, "certificate", None)
    if cert is None:
        return None
    names = ctx.trust.set_names_of(cert.sha256.hex(), ctx.anchor_sets)
    return ",".join(names) or None


def _algorithms(
    status: PdfSignatureStatus, cert: asn1_x509.Certificate, path: list[asn1_x509.Certificate]
) -> AlgorithmInfo | None:
    try:
        digest = str(status.md_algorithm)
        mechanism = str(status.pkcs7_signature_mechanism)
        key_type, key_size = key_type_and_size(cert)
    except Exception:  # an algorithm summary must never stop the report
        return None
    problems = []
    if digest.lower() in WEAK_DIGESTS:
        problems.append(f"digest {digest}")
    if any(w in mechanism.lower() for w in WEAK_DIGESTS):
        problems.append(f"signature {mechanism}")
    if key_type in ("rsa", "rsassa_pss") and key_size < MIN_RSA_BITS:
        problems.append(f"RSA key {key_size} bits < {MIN_RSA_BITS}")
    if key_type == "ec" and key_size < MIN_EC_BITS:
        problems.append(f"EC key {key_size} bits < {MIN_EC_BITS}")
    for c in path[:-1]:  # the anchor's self-signature is not relied upon
        hash_algo = c["signature_algorithm"].hash_algo
        if hash_algo in WEAK_DIGESTS:
            problems.append(
                f"certificate '{_cn(c)}' signed with {c['signature_algorithm'].signature_algo} ({hash_algo})"
            )
    return AlgorithmInfo(
        digest=digest,
        signature=mechanism,
        key_type=key_type,
        key_size=key_size,
        weak=bool(problems),
        problems=tuple(problems),
    )


def _key_usage_ok(cert: asn1_x509.Certificate) -> bool | None:
    usage = cert.key_usage_value
    if usage is None:
        return None  # no KeyUsage extension: unrestricted by RFC 5280, reported as unknown
    return bool(set(usage.native) & SIGNING_KEY_USAGES)


def _cn(cert: asn1_x509.Certificate) -> str:
    return cert.subject.native.get("common_name") or cert.subject.human_friendly


# --- failures before validation ----------------------------------------------------------------------------


def _no_signer_cert(emb: EmbeddedPdfSignature, ctx: _Context, exc: Exception) -> SignatureReport:
    return bare_report(
        emb.fq_name,
        ctx.now,
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
        Finding(
            "no_signing_certificate",
            "Chữ ký không kèm chứng thư của người ký",
            f"The signature does not carry the signer's certificate: {exc}",
        ),
        indication=Indication.INDETERMINATE,
        revision=emb.signed_revision + 1,
    )


# --- the whole file ----------------------------------------------------------------------------------------


def _overall(
    raw: bytes,
    reader: PdfFileReader | None,
    sigs: tuple[SignatureReport, ...],
    timestamps: tuple[DocumentTimestampInfo, ...],
    policy: RevocationPolicy,
    now: datetime,
    anchor_sets: tuple[str, ...],
) -> VerificationReport:
    warnings: list[Finding] = []
    verdict = classify_file(sigs)
    if not sigs:
        warnings.append(Finding("no_signatures", "Tệp không có chữ ký số", "The file has no digital signature"))
    if verdict.unsigned_changes:
        warnings.append(
            Finding(
                "unsigned_changes",
                "Phiên bản mới nhất của tài liệu không được chữ ký nào bao trùm: có nội dung bổ sung sau chữ ký cuối",
                "The newest revision of the document is not covered by any signature: something was added after"
                " the last signature",
            )
        )
    bad = [t.field_name for t in timestamps if not (t.intact and t.covers_revision and t.trusted)]
    if bad:
        warnings.append(
            Finding(
                "document_timestamp_invalid",
                "Dấu thời gian tài liệu không hợp lệ, không bao trọn một phiên bản hoặc không do tổ chức cấp dấu thời"
                f" gian tin cậy cấp: {', '.join(bad)}",
                "Document timestamp invalid, not covering a complete revision, or not from a trusted time-stamping"
                f" authority: {', '.join(bad)}",
                "; ".join(t.problem or "" for t in timestamps if t.field_name in bad) or None,
            )
        )
    return VerificationReport(
        file_sha256=hashlib.sha256(raw).hexdigest(),
        file_size=len(raw),
        revisions=reader.xrefs.total_revisions if reader is not None else max(1, raw.count(b"%%EOF")),
        signatures=sigs,
        indication=verdict.indication,
        sub_indication=verdict.sub_indication,
        whole_document_signed=verdict.whole_document_signed,
        generated_at=now,
        policy={**policy.describe(), "anchor_sets": ",".join(anchor_sets), "signing_time": "timestamp-or-claimed"},
        warnings=tuple(warnings),
        document_timestamps=timestamps,
    )


# --- refusals, limits and the tolerant reading path ----------------------------------------------------------


def _encrypted() -> PdfVerificationError:
    return PdfVerificationError(
        "Tệp PDF được mã hóa bằng mật khẩu; không kiểm tra được chữ ký (hãy dùng bản không mã hóa)",
        code="pdf_encrypted",
    )


def _check_field_count(reader: PdfFileReader, limit: int) -> None:
    try:
        count = len(reader.root["/AcroForm"]["/Fields"])
    except Exception:  # no form, or not an array: nothing to bound here
        return
    if count > limit:
        raise PdfVerificationError(
            f"Tệp có {count} trường biểu mẫu (giới hạn {limit}); từ chối kiểm tra để bảo vệ hệ thống",
            code="too_many_fields",
        )


def _too_many(limit: int) -> PdfVerificationError:
    return PdfVerificationError(
        f"Tệp có hơn {limit} chữ ký; từ chối kiểm tra để bảo vệ hệ thống (giới hạn EDOC_VERIFY_MAX_SIGNATURES)",
        code="too_many_signatures",
    )


def _out_of_time(name: str, now: datetime, seconds: float) -> SignatureReport:
    return bare_report(
        name,
        now,
        SubIndication.TRY_LATER,
        Finding(
            "time_limit",
            f"Chưa kiểm tra chữ ký này vì đã hết thời gian cho phép cho một tệp ({seconds:g} giây)",
            f"This signature was not checked because the time allowed for one file ran out ({seconds:g} s)",
        ),
        indication=Indication.INDETERMINATE,
    )


def _raw_file_report(
    raw: bytes,
    now: datetime,
    policy: RevocationPolicy,
    anchor_sets: Sequence[str] | None,
    trust: TrustStore,
    reason: str,
    max_signatures: int,
) -> VerificationReport:
    """pyHanko cannot read the file's structure: judge every signature from its bytes (issue 18, item 4)."""
    if re.search(rb"/Encrypt\s", raw[-65536:]) or re.search(rb"/Encrypt\s+\d+\s+\d+\s+R", raw):
        raise _encrypted()
    found = find_signatures(raw, limit=max_signatures + 1)
    if len(found) > max_signatures:
        raise _too_many(max_signatures)
    if not found:
        raise PdfVerificationError(f"Không đọc được tệp PDF: {reason}"[:400])
    sigs = tuple(
        raw_signature_report(f"#{i}", checked, now, reason=reason)
        for i, checked in enumerate(found, start=1)
        if not checked.doc_timestamp
    )
    stamps = tuple(
        raw_timestamp_info(f"#{i}", checked, revision=0, covers_revision=checked.covers_file)
        for i, checked in enumerate(found, start=1)
        if checked.doc_timestamp
    )
    names = tuple(anchor_sets) if anchor_sets is not None else trust.set_names
    report = _overall(raw, None, sigs, stamps, policy, now, names)
    unreadable = Finding(
        "structure_unreadable",
        "Cấu trúc tệp PDF bị hỏng hoặc không đọc được; chỉ kiểm tra được phần dữ liệu được ký của từng chữ ký",
        "The PDF's structure is damaged or unreadable; only the signed bytes of each signature could be checked",
        reason[:500],
    )
    indication, sub = report.indication, report.sub_indication
    if indication is Indication.TOTAL_PASSED:  # unreachable today (raw reports are never TOTAL_PASSED); kept safe
        indication, sub = Indication.INDETERMINATE, SubIndication.FORMAT_FAILURE
    return dataclasses.replace(
        report, indication=indication, sub_indication=sub, warnings=(unreadable, *report.warnings)
    )
