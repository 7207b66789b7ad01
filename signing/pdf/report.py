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

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

__all__ = [
    "FINDING_MESSAGES",
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
    "finding_text",
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

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> VerificationReport:
        """The report back from :meth:`to_dict` output (the derived ``verdict_*``/``summary_*`` keys are ignored).
        Raises ``ValueError`` on a document of another shape (e.g. a stored report a receipt is made from)."""
        try:
            if doc["schema_version"] != REPORT_SCHEMA_VERSION:
                raise ValueError(f"report schema version {doc['schema_version']!r} is not {REPORT_SCHEMA_VERSION}")
            flat = {
                **{k: v for k, v in doc.items() if k != "file"},
                "file_sha256": doc["file"]["sha256"],
                "file_size": doc["file"]["size"],
                "revisions": doc["file"]["revisions"],
            }
            restored = _restore(cls, flat)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a verification report: {exc!r}") from exc
        assert isinstance(restored, VerificationReport)
        return restored


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
        "modified_integrity": "Phần được ký còn nguyên vẹn, nhưng tệp đã bị sửa nội dung sau khi ký: "
        "bản đang xem không phải bản đã ký",
        "partial_integrity": "Chữ ký không bao trọn một phiên bản của tệp: có thể đã bị chèn nội dung",
        "added_integrity": "Nội dung được ký không bị thay đổi; sau khi ký, tệp chỉ được bổ sung những phần "
        "được phép (chữ ký khác, ô biểu mẫu, ghi chú hoặc dữ liệu kiểm tra)",
        "unchecked_integrity": "Không kiểm tra được, vì không đọc được chữ ký",
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
        "modified_integrity": "The signed part is intact, but the file's content was modified after signing: "
        "what you see is not what was signed",
        "partial_integrity": "The signature does not cover a complete revision of the file: content may have been "
        "inserted",
        "added_integrity": "The signed content is unchanged; after signing, only permitted additions were made "
        "(other signatures, form fields, comments or validation data)",
        "unchecked_integrity": "Could not be checked, because the signature cannot be read",
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


# What a clerk reads for each finding code: a whole sentence, no raw library detail (that stays in the JSON's
# ``vi``/``en`` texts of the finding). ``{revoked_at}`` and ``{fields}`` are filled from the signature's report.
# A code missing here is shown by its own text cut before any ": detail" or " (detail)" (see finding_text).
FINDING_MESSAGES: dict[str, tuple[str, str]] = {
    "timestamp_untrusted": (
        "Dấu thời gian của chữ ký không hợp lệ hoặc không tin cậy; thời điểm ký dùng để kiểm tra là thời điểm do "
        "người ký tự khai.",
        "The signature timestamp is invalid or untrusted; the signer's claimed time is used instead.",
    ),
    "revocation_as_embedded": (
        "Tình trạng thu hồi được lấy từ dữ liệu có sẵn trong tệp (cổng không tra cứu trực tuyến); chứng thư có thể "
        "đã bị thu hồi sau thời điểm đó.",
        "The revocation status was taken from data inside the file (no online check); the certificate may have "
        "been revoked since.",
    ),
    "revocation_unchecked": (
        "Không kiểm tra được chứng thư của người ký đã bị thu hồi hay chưa (không lấy được OCSP hoặc CRL).",
        "Whether the signer's certificate was revoked could not be checked (no OCSP response or CRL available).",
    ),
    "claimed_signing_time": (
        "Chữ ký không có dấu thời gian: thời điểm ký do người ký tự khai, không phải bằng chứng.",
        "The signature has no timestamp: the signing time is claimed by the signer and is not proof.",
    ),
    "claimed_time_in_future": (
        "Thời điểm ký tự khai muộn hơn thời điểm kiểm tra; cổng dùng thời điểm kiểm tra thay cho nó.",
        "The claimed signing time is later than the verification time; the verification time is used instead.",
    ),
    "no_signing_time": (
        "Chữ ký không ghi thời điểm ký; hiệu lực chứng thư được kiểm tra tại thời điểm kiểm tra.",
        "The signature states no signing time; the certificate is checked at verification time.",
    ),
    "certificate_revoked": (
        "Chứng thư của người ký đã bị thu hồi lúc {revoked_at}.",
        "The signer's certificate was revoked at {revoked_at}.",
    ),
    "byte_range": (
        "Vùng được ký không bao trọn một phiên bản của tệp: có thể đã bị chèn nội dung vào tệp.",
        "The signed range does not cover a complete revision of the file: content may have been inserted.",
    ),
    "modified_after_signing": (
        "Tệp đã bị sửa nội dung sau khi ký (trang, hình ảnh hoặc văn bản): bản đang xem không phải bản đã ký.",
        "The file's content (pages, images or text) was modified after signing: what you see is not what was "
        "signed.",
    ),
    "changed_after_signing": (
        "Sau khi ký, tệp được bổ sung ({fields}); chữ ký này chỉ xác nhận phiên bản trước khi bổ sung.",
        "After signing, the file received additions ({fields}); this signature confirms the earlier revision only.",
    ),
    "weak_algorithm": (
        "Chữ ký dùng thuật toán hoặc độ dài khóa không còn được chấp nhận là an toàn.",
        "The signature uses an algorithm or key size that is no longer accepted as safe.",
    ),
    "key_usage": (
        "Chứng thư của người ký không cho phép dùng khóa để ký văn bản.",
        "The signer's certificate does not allow its key to sign documents.",
    ),
    "no_signing_certificate": (
        "Chữ ký không kèm chứng thư của người ký, nên không xác định được người ký.",
        "The signature does not carry the signer's certificate, so the signer cannot be identified.",
    ),
    "signature_unreadable": (
        "Không đọc được chữ ký trong tệp.",
        "The signature in the file cannot be read.",
    ),
    "signature_malformed": (
        "Chữ ký trong tệp sai cấu trúc.",
        "The signature in the file is malformed.",
    ),
    "no_signatures": ("Tệp không có chữ ký số.", "The file carries no digital signature."),
    "unsigned_changes": (
        "Phiên bản mới nhất của tệp không được chữ ký nào bao trùm: có nội dung được thêm sau chữ ký cuối cùng.",
        "The newest revision of the file is covered by no signature: something was added after the last signature.",
    ),
    "document_timestamps_not_evaluated": (
        "Tệp có dấu thời gian tài liệu chưa được đánh giá.",
        "The file carries document timestamps that were not evaluated.",
    ),
}


def finding_text(finding: Finding, lang: str = "vi", sig: SignatureReport | None = None) -> str:
    """The sentence a person reads for ``finding`` (FINDING_MESSAGES), never pyHanko's detail."""
    lang = _lang(lang)
    pair = FINDING_MESSAGES.get(finding.code)
    if pair is None:
        return _first_clause(finding.text(lang))
    template = pair[0] if lang == "vi" else pair[1]
    unknown = _LABELS[lang]["unknown"].lower()
    revoked = sig.revocation.revoked_at if sig is not None else None
    fields = ", ".join(sig.changes.changed_form_fields) if sig is not None else ""
    return template.format(
        revoked_at=format_time(revoked) if revoked else unknown,
        fields=fields or ("chữ ký, ô biểu mẫu hoặc ghi chú" if lang == "vi" else "signatures, form fields or notes"),
    )


def _first_clause(text: str) -> str:
    """A finding text without its trailing detail: up to the first ': ' or ' (' (verify.py appends library
    messages that way), ending with a full stop."""
    cut = min((i for i in (text.find(": "), text.find(" (")) if i > 0), default=len(text))
    sentence = text[:cut].strip().rstrip(".")
    return sentence + "."


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
        (lab["integrity"], lab[_integrity_key(sig)]),
        (lab["validity"], validity),
        (lab["period"], period),
        (lab["revocation"], revocation),
    )


def _integrity_key(sig: SignatureReport) -> str:
    """The integrity sentence that agrees with the verdict: intact signed bytes do not make a file whose content
    was changed afterwards (TOTAL_FAILED / SIG_CONSTRAINTS_FAILURE) "unchanged" to a clerk."""
    if sig.sub_indication in (SubIndication.FORMAT_FAILURE, SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
                              SubIndication.SIGNED_DATA_NOT_FOUND) and not sig.integrity:
        return "unchecked_integrity"
    if not sig.integrity:
        return "no_integrity"
    if sig.coverage is Coverage.PARTIAL:
        return "partial_integrity"
    if sig.changes.level is ModificationLevel.OTHER:
        return "modified_integrity"
    return "added_integrity" if sig.changes.later_revisions else "yes_integrity"


def format_time(value: datetime) -> str:
    """ISO 8601 in Vietnam time (UTC+7), as NĐ 30/2020 asks for signing times shown to people."""
    return value.astimezone(timezone(timedelta(hours=7))).isoformat(timespec="seconds")


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "vi"


def _restore(kind: Any, value: Any) -> Any:
    """Inverse of :func:`_plain` for the report's own types (dataclasses, enums, datetimes, tuples, optionals)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        return _restore(next(a for a in args if a is not type(None)), value)
    if origin is tuple:
        return tuple(_restore(args[0], v) for v in value)
    if origin is not None and issubclass(origin, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        names = [f.name for f in dataclasses.fields(kind) if f.name in value]
        return kind(**{name: _restore(hints[name], value[name]) for name in names})
    if kind is datetime:
        return datetime.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return kind(value)
    if kind in (int, str, bool) and not isinstance(value, kind):
        raise TypeError(f"{value!r} is not {kind.__name__}")
    return value


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
