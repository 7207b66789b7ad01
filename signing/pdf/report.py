"""The verification report of a signed PDF: plain frozen values in ETSI EN 319 102-1 vocabulary.

Owns what a clerk, an auditor and an API client read after verification, and nothing else: no pyHanko or
asn1crypto type appears here (STYLE.md 4), so ``service/`` can store, serialise and render a report without
knowing how it was computed. The Vietnamese wording of STANDARDS.md §7 (NĐ 23/2025: hợp lệ / không hợp lệ,
người ký, tổ chức cấp chứng thư, thời điểm ký, tính toàn vẹn, hiệu lực chứng thư tại thời điểm ký, thời hạn
chứng thư) lives here too, next to its English equivalent, so every surface says the same thing.

Indications follow ETSI EN 319 102-1 §5.1.3: TOTAL_PASSED, TOTAL_FAILED (proven bad) and INDETERMINATE
(cannot be proven either way with the data at hand). Two project decisions, both documented in
``signing/pdf/verify.py``: content changed after signing (pyHanko ModificationLevel OTHER) is TOTAL_FAILED /
SIG_CONSTRAINTS_FAILURE; a file whose newest revision is covered by no valid signature is at best
INDETERMINATE overall even when every signature is individually fine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "AlgorithmInfo",
    "CertificateInfo",
    "ChangesAfterSigning",
    "Coverage",
    "DocumentTimestampInfo",
    "Finding",
    "Indication",
    "ModificationLevel",
    "RevocationInfo",
    "RevocationSource",
    "RevocationStatus",
    "SignatureReport",
    "SigningTimeSource",
    "SubIndication",
    "VerificationReport",
    "format_time",
    "summary_rows",
]

REPORT_SCHEMA_VERSION = 1


class Indication(StrEnum):
    """ETSI EN 319 102-1 main status indication."""

    TOTAL_PASSED = "TOTAL_PASSED"
    INDETERMINATE = "INDETERMINATE"
    TOTAL_FAILED = "TOTAL_FAILED"


class SubIndication(StrEnum):
    """ETSI EN 319 102-1 sub-indications used by this verifier (tables 5 and 6 of the standard)."""

    # TOTAL_FAILED
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    # INDETERMINATE
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"


class Coverage(StrEnum):
    """What the signature's /ByteRange covers."""

    ENTIRE_FILE = "ENTIRE_FILE"  # every byte of the file except the signature value
    ENTIRE_REVISION = "ENTIRE_REVISION"  # a complete earlier revision; later incremental updates exist
    PARTIAL = "PARTIAL"  # neither: gaps, shifted ranges, a revision not fully covered


class ModificationLevel(StrEnum):
    """Mirror of pyHanko's ModificationLevel: the strictest level at which all later changes are allowed."""

    NONE = "NONE"
    LTA_UPDATES = "LTA_UPDATES"  # DSS / document timestamps only
    FORM_FILLING = "FORM_FILLING"  # further signatures, form values
    ANNOTATIONS = "ANNOTATIONS"
    OTHER = "OTHER"  # anything else: content, pages, unexplained objects


class RevocationStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class RevocationSource(StrEnum):
    OCSP = "OCSP"
    CRL = "CRL"
    NONE = "none"


class SigningTimeSource(StrEnum):
    """Where the time used for 'validity at signing time' came from (STANDARDS.md §7)."""

    TIMESTAMP = "timestamp"  # a trusted RFC 3161 signature timestamp: proof of existence
    CLAIMED = "claimed"  # the signer's own signingTime or /M: not proof
    VALIDATION_TIME = "validation_time"  # nothing in the signature; the verification time was used


@dataclass(frozen=True)
class Finding:
    """One remark on a signature or file, with a stable code and its text in both languages."""

    code: str
    vi: str
    en: str
    detail: str | None = None  # raw technical detail (exception text, pyHanko's reason): JSON only, never shown

    def text(self, lang: str = "vi") -> str:
        return self.vi if lang == "vi" else self.en


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    common_name: str | None
    organisation: str | None
    serial_hex: str
    issuer: str
    issuer_common_name: str | None
    not_before: datetime
    not_after: datetime
    sha256: str


@dataclass(frozen=True)
class RevocationInfo:
    status: RevocationStatus = RevocationStatus.UNKNOWN
    source: RevocationSource = RevocationSource.NONE
    embedded: bool = False  # taken from the document (DSS or CMS) rather than fetched
    produced_at: datetime | None = None  # OCSP producedAt / CRL thisUpdate
    revoked_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AlgorithmInfo:
    digest: str
    signature: str
    key_type: str
    key_size: int
    weak: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangesAfterSigning:
    """What was appended after the signed revision (pyHanko difference analysis plus a page/annotation count)."""

    level: ModificationLevel
    later_revisions: int = 0
    pages_added: int = 0
    pages_removed: int = 0
    annotations_added: int = 0
    changed_form_fields: tuple[str, ...] = ()
    detail: str | None = None  # pyHanko's reason when the change was judged suspicious


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    signer: CertificateInfo | None
    claimed_signing_time: datetime | None
    timestamp_time: datetime | None  # a trusted signature timestamp, if any
    signing_time_used: datetime
    signing_time_source: SigningTimeSource
    integrity: bool  # digest of the signed bytes matches and the signature value verifies with the cert's key
    coverage: Coverage
    signed_revision: int  # 1-based revision number of the file that the signature covers
    changes: ChangesAfterSigning
    covers_final_document: bool  # nothing but LTA updates and later signatures after it
    certificate_path: tuple[CertificateInfo, ...]  # signer first, trust anchor last
    anchor_set: str | None
    valid_at_signing_time: bool | None
    revocation: RevocationInfo
    algorithms: AlgorithmInfo | None
    key_usage_ok: bool | None
    indication: Indication
    sub_indication: SubIndication | None
    warnings: tuple[Finding, ...] = ()
    errors: tuple[Finding, ...] = ()

    @property
    def verdict_vi(self) -> str:
        return _VERDICT["vi"][self.indication]

    @property
    def verdict_en(self) -> str:
        return _VERDICT["en"][self.indication]

    def verdict(self, lang: str = "vi") -> str:
        return _VERDICT[_lang(lang)][self.indication]

    def to_dict(self) -> dict[str, Any]:
        out = _plain(self)
        out["verdict_vi"] = self.verdict_vi
        out["verdict_en"] = self.verdict_en
        out["summary_vi"] = dict(summary_rows(self, "vi"))
        out["summary_en"] = dict(summary_rows(self, "en"))
        return out


@dataclass(frozen=True)
class DocumentTimestampInfo:
    """A document timestamp (/DocTimeStamp, PAdES B-LTA; ETSI EN 319 142-1 §5.5), checked on its own.

    ``intact``: the token's message imprint equals the digest of its byte range and the TSA's signature over it
    verifies; ``covers_revision``: its byte range delimits a complete revision; ``trusted``: the TSA chains to
    a configured anchor. Only a timestamp with all three makes its field count as LTA data rather than an
    unsigned change."""

    field_name: str
    time: datetime | None
    intact: bool
    covers_revision: bool
    signed_revision: int
    tsa: str | None = None
    problem: str | None = None
    trusted: bool = False  # the TSA's certificate leads to a configured trust anchor


@dataclass(frozen=True)
class VerificationReport:
    file_sha256: str
    file_size: int
    revisions: int
    signatures: tuple[SignatureReport, ...]
    indication: Indication
    sub_indication: SubIndication | None
    whole_document_signed: bool  # the newest revision is covered by a signature whose integrity holds
    generated_at: datetime  # the verification ("current") time used
    policy: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[Finding, ...] = ()
    schema_version: int = REPORT_SCHEMA_VERSION
    document_timestamps: tuple[DocumentTimestampInfo, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 passed, 1 failed, 2 indeterminate (for the CLI)."""
        return {Indication.TOTAL_PASSED: 0, Indication.TOTAL_FAILED: 1, Indication.INDETERMINATE: 2}[self.indication]

    @property
    def verdict_vi(self) -> str:
        return _VERDICT["vi"][self.indication]

    @property
    def verdict_en(self) -> str:
        return _VERDICT["en"][self.indication]

    def verdict(self, lang: str = "vi") -> str:
        return _VERDICT[_lang(lang)][self.indication]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "file": {"sha256": self.file_sha256, "size": self.file_size, "revisions": self.revisions},
            "indication": self.indication.value,
            "sub_indication": None if self.sub_indication is None else self.sub_indication.value,
            "verdict_vi": self.verdict_vi,
            "verdict_en": self.verdict_en,
            "whole_document_signed": self.whole_document_signed,
            "generated_at": _plain(self.generated_at),
            "policy": dict(self.policy),
            "warnings": [_plain(w) for w in self.warnings],
            "signatures": [s.to_dict() for s in self.signatures],
            "document_timestamps": [_plain(t) for t in self.document_timestamps],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """Stable JSON: fixed key order, UTF-8 text kept as is, datetimes in ISO 8601 with offset."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


_VERDICT = {
    "vi": {
        Indication.TOTAL_PASSED: "Chữ ký hợp lệ",
        Indication.TOTAL_FAILED: "Chữ ký không hợp lệ",
        Indication.INDETERMINATE: "Chưa xác định được tính hợp lệ",
    },
    "en": {
        Indication.TOTAL_PASSED: "Signature valid",
        Indication.TOTAL_FAILED: "Signature invalid",
        Indication.INDETERMINATE: "Validity could not be determined",
    },
}

_LABELS = {
    "vi": {
        "verdict": "Kết quả",
        "signer": "Người ký",
        "organisation": "Tổ chức của người ký",
        "issuer": "Tổ chức cấp chứng thư",
        "signing_time": "Thời điểm ký",
        "integrity": "Tính toàn vẹn",
        "validity": "Hiệu lực chứng thư tại thời điểm ký",
        "period": "Thời hạn chứng thư",
        "revocation": "Tình trạng thu hồi",
        "yes_integrity": "Nội dung được ký không bị thay đổi",
        "no_integrity": "Nội dung được ký đã bị thay đổi",
        "valid": "Còn hiệu lực",
        "invalid": "Không còn hiệu lực",
        "unknown": "Chưa xác định",
        "from": "từ",
        "to": "đến",
        "ts": "theo dấu thời gian",
        "claimed": "do người ký tự khai",
        "now": "thời điểm kiểm tra (chữ ký không ghi thời điểm ký)",
        "good": "Chưa bị thu hồi",
        "revoked": "Đã bị thu hồi",
    },
    "en": {
        "verdict": "Result",
        "signer": "Signer",
        "organisation": "Signer's organisation",
        "issuer": "Certificate issuer",
        "signing_time": "Signing time",
        "integrity": "Integrity",
        "validity": "Certificate valid at signing time",
        "period": "Certificate validity period",
        "revocation": "Revocation status",
        "yes_integrity": "The signed content is unchanged",
        "no_integrity": "The signed content has been altered",
        "valid": "Valid",
        "invalid": "Not valid",
        "unknown": "Undetermined",
        "from": "from",
        "to": "to",
        "ts": "from a timestamp",
        "claimed": "claimed by the signer",
        "now": "verification time (the signature states no signing time)",
        "good": "Not revoked",
        "revoked": "Revoked",
    },
}


def summary_rows(sig: SignatureReport, lang: str = "vi") -> tuple[tuple[str, str], ...]:
    """The fields STANDARDS.md §7 requires, as (label, value) rows in ``lang`` ("vi" or "en")."""
    lang = _lang(lang)
    lab = _LABELS[lang]
    signer = sig.signer
    when = {
        SigningTimeSource.TIMESTAMP: lab["ts"],
        SigningTimeSource.CLAIMED: lab["claimed"],
        SigningTimeSource.VALIDATION_TIME: lab["now"],
    }[sig.signing_time_source]
    validity = {True: lab["valid"], False: lab["invalid"], None: lab["unknown"]}[sig.valid_at_signing_time]
    period = (
        f"{lab['from']} {format_time(signer.not_before)} {lab['to']} {format_time(signer.not_after)}"
        if signer
        else lab["unknown"]
    )
    revocation = {
        RevocationStatus.GOOD: lab["good"],
        RevocationStatus.REVOKED: lab["revoked"],
        RevocationStatus.UNKNOWN: lab["unknown"],
    }[sig.revocation.status]
    return (
        (lab["verdict"], sig.verdict(lang)),
        (lab["signer"], (signer.common_name or signer.subject) if signer else lab["unknown"]),
        (lab["organisation"], (signer.organisation or "—") if signer else lab["unknown"]),
        (lab["issuer"], (signer.issuer_common_name or signer.issuer) if signer else lab["unknown"]),
        (lab["signing_time"], f"{format_time(sig.signing_time_used)} ({when})"),
        (lab["integrity"], lab["yes_integrity"] if sig.integrity else lab["no_integrity"]),
        (lab["validity"], validity),
        (lab["period"], period),
        (lab["revocation"], revocation),
    )


def format_time(value: datetime) -> str:
    """ISO 8601 in Vietnam time (UTC+7), as NĐ 30/2020 asks for signing times shown to people."""
    return value.astimezone(timezone(timedelta(hours=7))).isoformat(timespec="seconds")


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "vi"


def _plain(value: Any) -> Any:
    """Dataclasses, enums, tuples and datetimes as JSON-ready values, keeping field order."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
