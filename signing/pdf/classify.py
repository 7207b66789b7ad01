"""ETSI EN 319 102-1 classification of PDF signatures: facts in, indication and sub-indication out.

Pure functions over plain values (no pyHanko object, no I/O, no clock): :mod:`signing.pdf.verify` and
:mod:`signing.pdf.verify_raw` gather the facts of a signature (what pyHanko or the raw reader found, the
revocation status, the signing time and whether it is proven) and this module applies the rules, so each rule can
be read, and tested, on its own (tests/unit/signing/test_pdf_classify.py).

The rules, in the order they are applied to one signature (:func:`classify_signature`):

1. The bytes prove tampering or a malformed signature → TOTAL_FAILED: HASH_FAILURE (digest), SIG_CRYPTO_FAILURE
   (signature value), FORMAT_FAILURE (a /ByteRange that does not delimit a complete revision).
2. Content changed after signing (ModificationLevel OTHER, or beyond the DocMDP permission) → TOTAL_FAILED /
   SIG_CONSTRAINTS_FAILURE. ETSI has no sub-indication for PDF incremental updates; this project decides.
3. A failure at a *proven* signing time (a trusted signature timestamp) → TOTAL_FAILED: REVOKED, EXPIRED,
   NOT_YET_VALID.
4. Weak algorithms (STANDARDS.md §7) → INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE.
5. The same time failures at a merely *claimed* time → INDETERMINATE: OUT_OF_BOUNDS_NO_POE, REVOKED_NO_POE. A
   claimed time proves nothing, so it may never make a verdict better (a stolen key can backdate).
6. No trusted path → INDETERMINATE with pyHanko's trust indication mapped to ours (CERTIFICATE_CHAIN_GENERAL_FAILURE
   when unknown; TRY_LATER when the path was refused for lack of revocation data).
7. In hard-fail revocation mode, missing revocation data turns TOTAL_PASSED into INDETERMINATE / TRY_LATER.

The file (:func:`classify_file`): no signature → INDETERMINATE / SIGNED_DATA_NOT_FOUND; else the worst signature
decides (its first sub-indication); all passed but no intact signature covers the newest revision →
INDETERMINATE / SIG_CONSTRAINTS_FAILURE (something was added after the last signature).

The tolerant reading path (:func:`classify_raw`, issue 18) never passes: it checks no trust path and no
revocation. The bytes proving tampering stay TOTAL_FAILED; intact but weak is INDETERMINATE /
CRYPTO_CONSTRAINTS_FAILURE; intact but not evaluable is INDETERMINATE / FORMAT_FAILURE (ETSI EN 319 102-1 §5.1.3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from signing.pdf.report import (
    Coverage,
    Indication,
    ModificationLevel,
    RevocationInfo,
    RevocationStatus,
    SignatureReport,
    SubIndication,
)

__all__ = [
    "FileVerdict",
    "Period",
    "RawFacts",
    "RawReason",
    "SignatureFacts",
    "Verdict",
    "classify_file",
    "classify_raw",
    "classify_signature",
    "coverage_of",
    "revoked_by",
    "valid_at_signing",
    "validity_period",
]

Period = Literal["before", "in", "after"]
Verdict = tuple[Indication, SubIndication | None]

# pyHanko's trust problem indications (their names) mapped to ours; anything else is a general chain failure
_TRUST_SUB = {
    "NO_CERTIFICATE_CHAIN_FOUND": SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    "CHAIN_CONSTRAINTS_FAILURE": SubIndication.CHAIN_CONSTRAINTS_FAILURE,
    "CRYPTO_CONSTRAINTS_FAILURE": SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
    "REVOKED_NO_POE": SubIndication.REVOKED_NO_POE,
    "REVOKED_CA_NO_POE": SubIndication.REVOKED_CA_NO_POE,
    "OUT_OF_BOUNDS_NO_POE": SubIndication.OUT_OF_BOUNDS_NO_POE,
    "TRY_LATER": SubIndication.TRY_LATER,
    "NO_SIGNING_CERTIFICATE_FOUND": SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
}


@dataclass(frozen=True)
class SignatureFacts:
    """What was established about one signature evaluated by pyHanko, as plain values.

    ``trust_problem`` is the name of pyHanko's trust problem indication (None: a trusted path was built);
    ``in_period`` is where ``signing_time`` falls in the signer certificate's validity; ``proven`` whether
    ``signing_time`` comes from a trusted signature timestamp; ``missing_revocation`` whether some certificate of
    the path has no revocation status; ``hard_fail`` whether the policy then refuses to pass the signature."""

    intact: bool
    valid: bool
    coverage: Coverage
    modification: ModificationLevel
    docmdp_ok: bool | None
    trust_problem: str | None
    weak_algorithms: bool
    revocation: RevocationInfo
    signing_time: datetime
    in_period: Period
    proven: bool
    missing_revocation: bool = False
    hard_fail: bool = False


def classify_signature(facts: SignatureFacts) -> Verdict:
    """The indication of one signature (rules 1-7 of the module docstring)."""
    verdict = _classify(facts)
    if facts.missing_revocation and facts.hard_fail and verdict[0] is Indication.TOTAL_PASSED:
        return Indication.INDETERMINATE, SubIndication.TRY_LATER
    return verdict


def _classify(facts: SignatureFacts) -> Verdict:
    bytes_verdict = _bytes_verdict(facts)
    if bytes_verdict is not None:
        return bytes_verdict
    time_verdict = _time_verdict(facts)
    if time_verdict is not None:
        return time_verdict
    if facts.trust_problem is not None:
        return Indication.INDETERMINATE, _trust_sub(facts.trust_problem, facts.missing_revocation)
    if facts.revocation.status is RevocationStatus.REVOKED and not facts.proven:
        return Indication.INDETERMINATE, SubIndication.REVOKED_NO_POE
    return Indication.TOTAL_PASSED, None


def _bytes_verdict(facts: SignatureFacts) -> Verdict | None:
    """Rules 1 and 2: what the signed bytes and the changes after them prove."""
    failed = Indication.TOTAL_FAILED
    if not facts.intact:
        return failed, SubIndication.HASH_FAILURE
    if not facts.valid:
        return failed, SubIndication.SIG_CRYPTO_FAILURE
    if facts.coverage is Coverage.PARTIAL:
        return failed, SubIndication.FORMAT_FAILURE
    if facts.modification is ModificationLevel.OTHER or facts.docmdp_ok is False:
        return failed, SubIndication.SIG_CONSTRAINTS_FAILURE
    return None


def _time_verdict(facts: SignatureFacts) -> Verdict | None:
    """Rules 3 to 5: failures at the signing time, final only when that time is proven."""
    if facts.proven and (revoked_by(facts.revocation, facts.signing_time) or facts.trust_problem == "REVOKED_NO_POE"):
        return Indication.TOTAL_FAILED, SubIndication.REVOKED
    if facts.proven and facts.in_period != "in":
        expired = facts.in_period == "after"
        return Indication.TOTAL_FAILED, SubIndication.EXPIRED if expired else SubIndication.NOT_YET_VALID
    if facts.weak_algorithms:
        return Indication.INDETERMINATE, SubIndication.CRYPTO_CONSTRAINTS_FAILURE
    if facts.in_period != "in" and facts.trust_problem != "NO_CERTIFICATE_CHAIN_FOUND":
        return Indication.INDETERMINATE, SubIndication.OUT_OF_BOUNDS_NO_POE
    return None


def _trust_sub(trust_problem: str, missing_revocation: bool) -> SubIndication:
    sub = _TRUST_SUB.get(trust_problem, SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE)
    if sub is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE and missing_revocation:
        return SubIndication.TRY_LATER  # hard-fail: certvalidator refused the path for lack of revocation data
    return sub


def revoked_by(revocation: RevocationInfo, when: datetime) -> bool:
    """Whether the certificate was revoked at or before ``when``."""
    return (
        revocation.status is RevocationStatus.REVOKED
        and revocation.revoked_at is not None
        and revocation.revoked_at <= when
    )


def validity_period(not_before: datetime, not_after: datetime, when: datetime) -> Period:
    """Where ``when`` falls in a certificate's validity period (both bounds inclusive, RFC 5280 §4.1.2.5)."""
    if when < not_before:
        return "before"
    if when > not_after:
        return "after"
    return "in"


def valid_at_signing(
    sub: SubIndication | None, *, trusted_path: bool, in_period: Period, revocation: RevocationInfo, when: datetime
) -> bool | None:
    """The report's ``valid_at_signing_time``: False when the certificate was out of its period or revoked at the
    signing time, True when the path is trusted and nothing else failed, None when it cannot be said."""
    if in_period != "in" or sub in (SubIndication.REVOKED, SubIndication.REVOKED_CA_NO_POE):
        return False
    if revoked_by(revocation, when):
        return False
    if trusted_path and sub is None:
        return True
    return None


def coverage_of(*, entire_file: bool, entire_revision: bool, later_revisions: int, trailing: bytes) -> Coverage:
    """What a /ByteRange covers. Bytes after the signed revision that form no revision of their own are not "a
    later update": they are uncovered data that lenient viewers may still act on, so the coverage is PARTIAL."""
    if entire_file:
        return Coverage.ENTIRE_FILE
    if entire_revision:
        if later_revisions == 0 and trailing.strip(b"\r\n\t\f\0 "):
            return Coverage.PARTIAL
        return Coverage.ENTIRE_REVISION
    return Coverage.PARTIAL


@dataclass(frozen=True)
class FileVerdict:
    """The indication of a whole file and why: ``whole_document_signed`` is whether an intact signature covers
    the newest revision; ``unsigned_changes`` whether that alone kept an otherwise passing file from passing."""

    indication: Indication
    sub_indication: SubIndication | None
    whole_document_signed: bool
    unsigned_changes: bool = False


def classify_file(signatures: Iterable[SignatureReport]) -> FileVerdict:
    """The indication of a file from its signatures' (module docstring, "The file")."""
    sigs = tuple(signatures)
    whole = any(s.integrity and s.covers_final_document for s in sigs)
    if not sigs:
        return FileVerdict(Indication.INDETERMINATE, SubIndication.SIGNED_DATA_NOT_FOUND, whole)
    for worst in (Indication.TOTAL_FAILED, Indication.INDETERMINATE):
        first = next((s for s in sigs if s.indication is worst), None)
        if first is not None:
            return FileVerdict(worst, first.sub_indication, whole)
    if not whole:
        return FileVerdict(Indication.INDETERMINATE, SubIndication.SIG_CONSTRAINTS_FAILURE, whole, True)
    return FileVerdict(Indication.TOTAL_PASSED, None, whole)


class RawReason(StrEnum):
    """Why the tolerant reading path gave its indication; :mod:`signing.pdf.verify_raw` words each one."""

    BYTE_RANGE_INVALID = "byte_range_invalid"
    DIGEST_MISMATCH = "digest_mismatch"
    SIGNATURE_VALUE_INVALID = "signature_value_invalid"
    UNREADABLE = "signature_unreadable"
    WEAK_ALGORITHM = "weak_algorithm"
    NOT_EVALUATED = "not_evaluated"


@dataclass(frozen=True)
class RawFacts:
    """What the raw reader proved from the bytes alone; ``digest_ok``/``signature_ok`` are None when not checked."""

    byte_range_ok: bool
    digest_ok: bool | None
    signature_ok: bool | None
    intact: bool
    weak_algorithm: bool


def classify_raw(facts: RawFacts) -> tuple[Indication, SubIndication, RawReason]:
    """The indication of a signature read by the tolerant path; never TOTAL_PASSED."""
    failed, indeterminate = Indication.TOTAL_FAILED, Indication.INDETERMINATE
    if not facts.byte_range_ok:
        return failed, SubIndication.FORMAT_FAILURE, RawReason.BYTE_RANGE_INVALID
    if facts.digest_ok is False:
        return failed, SubIndication.HASH_FAILURE, RawReason.DIGEST_MISMATCH
    if facts.signature_ok is False:
        return failed, SubIndication.SIG_CRYPTO_FAILURE, RawReason.SIGNATURE_VALUE_INVALID
    if not facts.intact:
        return indeterminate, SubIndication.FORMAT_FAILURE, RawReason.UNREADABLE
    if facts.weak_algorithm:
        return indeterminate, SubIndication.CRYPTO_CONSTRAINTS_FAILURE, RawReason.WEAK_ALGORITHM
    return indeterminate, SubIndication.FORMAT_FAILURE, RawReason.NOT_EVALUATED
