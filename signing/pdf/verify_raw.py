"""Reports from the tolerant reading path (:mod:`signing.pdf.rawsig`): what the bytes alone prove (issue 18).

Used for a signature pyHanko cannot evaluate (legacy sub-filters, plain ECDSA values, two SignerInfos, an
unexpected exception) and for a whole file pyHanko cannot parse. The indication comes from
:func:`signing.pdf.classify.classify_raw`; this module words the findings that explain it. The classification
keeps three things apart, as ETSI EN 319 102-1 §5.1.3 does:

* the bytes prove tampering or forgery → TOTAL_FAILED (HASH_FAILURE, SIG_CRYPTO_FAILURE, or FORMAT_FAILURE for
  a /ByteRange that does not lie in the file or whose gap is not the signature value);
* the signed bytes are intact but the algorithm is no longer acceptable (SHA-1, the legacy sub-filters) →
  INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE, as for any SHA-1 signature;
* the signed bytes are intact but this verifier cannot evaluate the rest (trust path, revocation, changes
  after signing) → INDETERMINATE / FORMAT_FAILURE with a finding that says which format it was.

This path never yields TOTAL_PASSED: it checks no trust path and no revocation.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import x509 as asn1_x509

from signing.pdf.classify import RawFacts, RawReason, classify_raw
from signing.pdf.rawsig import RawSignature
from signing.pdf.report import (
    AlgorithmInfo,
    CertificateInfo,
    ChangesAfterSigning,
    Coverage,
    DocumentTimestampInfo,
    Finding,
    Indication,
    ModificationLevel,
    RevocationInfo,
    SignatureReport,
    SigningTimeSource,
    SubIndication,
)

__all__ = [
    "LEGACY_SUBFILTERS",
    "bare_report",
    "cert_info",
    "key_type_and_size",
    "raw_signature_report",
    "raw_timestamp_info",
]

LEGACY_SUBFILTERS = frozenset({"adbe.pkcs7.sha1", "adbe.x509.rsa_sha1"})
_WEAK = frozenset({"md2", "md5", "sha1"})


def raw_signature_report(
    name: str,
    sig: RawSignature,
    now: datetime,
    *,
    reason: str | None = None,
    revision: int = 0,
    coverage: Coverage | None = None,
    plain_ecdsa: bool = False,
) -> SignatureReport:
    """A report for one signature from the raw check; ``reason`` is why the full validation was not used.

    Never raises: it is the last resort of every other path, so a surprise here (a certificate asn1crypto cannot
    render) still ends in an INDETERMINATE report."""
    try:
        return _report(name, sig, now, reason, revision, coverage, plain_ecdsa)
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"[:500]
        return _minimal(name, now, revision, detail)


def _minimal(name: str, now: datetime, revision: int, detail: str) -> SignatureReport:
    finding = Finding(
        "signature_unreadable",
        "Không đọc được cấu trúc chữ ký; không xác định được chữ ký có hợp lệ hay không",
        "The signature structure cannot be read; its validity cannot be determined",
        detail,
    )
    return bare_report(
        name, now, SubIndication.FORMAT_FAILURE, finding, indication=Indication.INDETERMINATE, revision=revision
    )


def bare_report(
    field_name: str,
    now: datetime,
    sub: SubIndication,
    finding: Finding,
    *,
    indication: Indication,
    signer: CertificateInfo | None = None,
    claimed: datetime | None = None,
    revision: int = 0,
) -> SignatureReport:
    """A report for a signature that was not (or could not be) validated: no integrity, partial coverage, only
    ``finding`` to say why. verify.py uses it for failures before validation, this module for its last resort."""
    return SignatureReport(
        field_name=field_name,
        signer=signer,
        claimed_signing_time=claimed,
        timestamp_time=None,
        signing_time_used=claimed or now,
        signing_time_source=SigningTimeSource.CLAIMED if claimed else SigningTimeSource.VALIDATION_TIME,
        integrity=False,
        coverage=Coverage.PARTIAL,
        signed_revision=revision,
        changes=ChangesAfterSigning(level=ModificationLevel.OTHER),
        covers_final_document=False,
        certificate_path=(),
        anchor_set=None,
        valid_at_signing_time=None,
        revocation=RevocationInfo(),
        algorithms=None,
        key_usage_ok=None,
        indication=indication,
        sub_indication=sub,
        errors=(finding,),
    )


def _report(
    name: str,
    sig: RawSignature,
    now: datetime,
    reason: str | None,
    revision: int,
    coverage: Coverage | None,
    plain_ecdsa: bool,
) -> SignatureReport:
    indication, sub, errors, warnings = _classify(sig, reason, plain_ecdsa)
    claimed = sig.claimed_time
    cert = sig.signer_cert
    return SignatureReport(
        field_name=name,
        signer=cert_info(cert) if cert is not None else None,
        claimed_signing_time=claimed,
        timestamp_time=None,
        signing_time_used=min(claimed, now) if claimed else now,
        signing_time_source=SigningTimeSource.CLAIMED if claimed else SigningTimeSource.VALIDATION_TIME,
        integrity=sig.intact,
        coverage=coverage or (Coverage.ENTIRE_FILE if sig.byte_range_ok and sig.covers_file else Coverage.PARTIAL),
        signed_revision=revision,
        changes=ChangesAfterSigning(level=ModificationLevel.NONE if sig.covers_file else ModificationLevel.OTHER),
        covers_final_document=sig.intact and sig.covers_file,
        certificate_path=(),
        anchor_set=None,
        valid_at_signing_time=None,
        revocation=RevocationInfo(),
        algorithms=_algorithms(sig),
        key_usage_ok=None,
        indication=indication,
        sub_indication=sub,
        warnings=tuple(warnings),
        errors=tuple(errors),
    )


def _classify(
    sig: RawSignature, reason: str | None, plain_ecdsa: bool
) -> tuple[Indication, SubIndication, list[Finding], list[Finding]]:
    """The indication (:func:`signing.pdf.classify.classify_raw`) and the findings that explain it."""
    legacy = sig.subfilter in LEGACY_SUBFILTERS
    facts = RawFacts(
        byte_range_ok=sig.byte_range_ok, digest_ok=sig.digest_ok, signature_ok=sig.signature_ok, intact=sig.intact,
        weak_algorithm=(sig.digest_algorithm or "") in _WEAK or legacy,
    )  # fmt: skip
    indication, sub, why = classify_raw(facts)
    warnings = [_legacy_finding(sig)] if legacy and why is RawReason.WEAK_ALGORITHM else []
    if why is RawReason.NOT_EVALUATED:
        return indication, sub, [], [_not_evaluated_finding(reason, plain_ecdsa)]
    return indication, sub, [_error_finding(why, sig, reason)], warnings


def _error_finding(why: RawReason, sig: RawSignature, reason: str | None) -> Finding:
    if why is RawReason.BYTE_RANGE_INVALID:
        return Finding(
            "byte_range_invalid",
            "Vùng dữ liệu được ký không hợp lệ, tệp không còn nguyên vẹn; vùng ký không nằm trọn trong tệp hoặc"
            " không bao đúng giá trị chữ ký (/ByteRange)",
            "The signed byte range is invalid and the file is not intact; it does not lie within the file or does"
            " not frame the signature value (/ByteRange)",
            sig.problem,
        )
    if why is RawReason.DIGEST_MISMATCH:
        return Finding(
            "digest_mismatch",
            "Nội dung được ký đã bị thay đổi sau khi ký (giá trị băm không khớp)",
            "The signed content was changed after signing (the digest does not match)",
        )
    if why is RawReason.SIGNATURE_VALUE_INVALID:
        return Finding(
            "signature_value_invalid",
            "Giá trị chữ ký không khớp với khóa công khai của chứng thư người ký",
            "The signature value does not verify with the key of the signer's certificate",
        )
    if why is RawReason.UNREADABLE:
        return Finding(
            "signature_unreadable",
            "Không đọc được cấu trúc chữ ký; không xác định được chữ ký có hợp lệ hay không",
            "The signature structure cannot be read; its validity cannot be determined",
            sig.problem or reason,
        )
    return Finding(
        "weak_algorithm",
        f"Thuật toán không còn an toàn: {sig.digest_algorithm}",
        f"Algorithm no longer acceptable: {sig.digest_algorithm}",
    )


def _legacy_finding(sig: RawSignature) -> Finding:
    return Finding(
        "legacy_subfilter",
        "Chữ ký theo định dạng cũ dùng SHA-1, thuật toán không còn được chấp nhận; nội dung được ký không bị"
        f" thay đổi (định dạng {sig.subfilter})",
        "Legacy signature format using SHA-1, an algorithm no longer acceptable; the signed content is"
        f" unchanged (format {sig.subfilter})",
    )


def _not_evaluated_finding(reason: str | None, plain_ecdsa: bool) -> Finding:
    if plain_ecdsa:
        return Finding(
            "plain_ecdsa_value",
            "Giá trị chữ ký ECDSA không theo định dạng DER mà chuẩn CMS yêu cầu; nội dung được ký không bị thay"
            " đổi (giá trị ghi ở dạng thô r‖s)",
            "The ECDSA signature value is not in the DER form that CMS requires; the signed content is unchanged"
            " (the value is in plain r‖s form)",
        )
    return Finding(
        "format_not_evaluated",
        "Nội dung được ký không bị thay đổi, nhưng định dạng chữ ký này chưa được đánh giá đầy đủ; chưa kiểm"
        " tra được chuỗi chứng thư và tình trạng thu hồi",
        "The signed content is unchanged, but this signature format could not be fully evaluated; the"
        " certificate chain and revocation status were not checked",
        reason,
    )


def _algorithms(sig: RawSignature) -> AlgorithmInfo | None:
    if sig.signer_cert is None or sig.digest_algorithm is None:
        return None
    key_type, key_size = key_type_and_size(sig.signer_cert)
    weak = sig.digest_algorithm in _WEAK
    return AlgorithmInfo(
        digest=sig.digest_algorithm,
        signature=sig.signature_algorithm or "",
        key_type=key_type,
        key_size=key_size,
        weak=weak,
        problems=(f"digest {sig.digest_algorithm}",) if weak else (),
    )


_EDDSA_BITS = {"ed25519": 256, "ed448": 456}


def key_type_and_size(cert: asn1_x509.Certificate) -> tuple[str, int]:
    """The key algorithm and size in bits; EdDSA sizes are fixed (RFC 8032), asn1crypto cannot compute them."""
    key = cert.public_key
    algo = key.algorithm
    if algo in _EDDSA_BITS:
        return algo, _EDDSA_BITS[algo]
    try:
        return algo, int(key.bit_size)
    except Exception:  # an unknown or damaged key: report the type, size 0
        return algo, 0


def cert_info(cert: asn1_x509.Certificate) -> CertificateInfo:
    subject, issuer = cert.subject.native, cert.issuer.native
    validity = cert["tbs_certificate"]["validity"]
    return CertificateInfo(
        subject=cert.subject.human_friendly,
        common_name=_first(subject.get("common_name")),
        organisation=_first(subject.get("organization_name")),
        serial_hex=format(cert.serial_number, "x"),
        issuer=cert.issuer.human_friendly,
        issuer_common_name=_first(issuer.get("common_name")),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        sha256=cert.sha256.hex(),
    )


def _first(value: object) -> str | None:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def raw_timestamp_info(name: str, sig: RawSignature, *, revision: int, covers_revision: bool) -> DocumentTimestampInfo:
    """A document timestamp as checked from its bytes (token imprint and TSA signature)."""
    try:
        tsa_name = _cn(sig.signer_cert) if sig.signer_cert is not None else None
    except Exception:  # a TSA certificate asn1crypto cannot render: the name is informative only
        tsa_name = None
    return DocumentTimestampInfo(
        field_name=name,
        time=sig.claimed_time,
        intact=sig.intact,
        covers_revision=covers_revision and sig.byte_range_ok,
        signed_revision=revision,
        tsa=tsa_name,
        problem=sig.problem,
    )


def _cn(cert: asn1_x509.Certificate) -> str:
    return str(cert.subject.native.get("common_name") or cert.subject.human_friendly)
