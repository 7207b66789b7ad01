"""The ETSI EN 319 102-1 rules of signing.pdf.classify, one by one, on plain facts (no PDF, no PKI).

test_pdf_verify.py and test_pdf_verify_foreign.py check the same rules end to end on real signed files; these
tests pin each rule and the order in which the rules apply, which end-to-end files cannot all reach.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from signing.pdf.classify import (
    RawFacts,
    RawReason,
    SignatureFacts,
    classify_file,
    classify_raw,
    classify_signature,
    coverage_of,
    valid_at_signing,
    validity_period,
)
from signing.pdf.report import (
    ChangesAfterSigning,
    Coverage,
    Indication,
    ModificationLevel,
    RevocationInfo,
    RevocationStatus,
    SignatureReport,
    SigningTimeSource,
    SubIndication,
)

T = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PASSED, INDET, FAILED = Indication.TOTAL_PASSED, Indication.INDETERMINATE, Indication.TOTAL_FAILED
GOOD = RevocationInfo(status=RevocationStatus.GOOD)
REVOKED_BEFORE = RevocationInfo(status=RevocationStatus.REVOKED, revoked_at=T - timedelta(days=1))
REVOKED_AFTER = RevocationInfo(status=RevocationStatus.REVOKED, revoked_at=T + timedelta(days=1))

CLEAN = SignatureFacts(
    intact=True, valid=True, coverage=Coverage.ENTIRE_FILE, modification=ModificationLevel.NONE, docmdp_ok=None,
    trust_problem=None, weak_algorithms=False, revocation=GOOD, signing_time=T, in_period="in", proven=True,
)  # fmt: skip


def facts(**changes: object) -> SignatureFacts:
    return dataclasses.replace(CLEAN, **changes)  # type: ignore[arg-type]


def test_a_clean_signature_passes() -> None:
    assert classify_signature(CLEAN) == (PASSED, None)
    assert classify_signature(facts(proven=False)) == (PASSED, None)


@pytest.mark.parametrize(
    ("change", "sub"),
    [
        ({"intact": False}, SubIndication.HASH_FAILURE),
        ({"valid": False}, SubIndication.SIG_CRYPTO_FAILURE),
        ({"coverage": Coverage.PARTIAL}, SubIndication.FORMAT_FAILURE),
        ({"modification": ModificationLevel.OTHER}, SubIndication.SIG_CONSTRAINTS_FAILURE),
        ({"docmdp_ok": False}, SubIndication.SIG_CONSTRAINTS_FAILURE),
    ],
)
def test_what_the_bytes_prove_is_total_failed(change: dict[str, object], sub: SubIndication) -> None:
    assert classify_signature(facts(**change)) == (FAILED, sub)


def test_the_bytes_are_judged_before_anything_else() -> None:
    everything_wrong = facts(
        intact=False, valid=False, coverage=Coverage.PARTIAL, weak_algorithms=True, revocation=REVOKED_BEFORE,
        in_period="after", trust_problem="NO_CERTIFICATE_CHAIN_FOUND",
    )  # fmt: skip
    assert classify_signature(everything_wrong) == (FAILED, SubIndication.HASH_FAILURE)


def test_allowed_form_changes_keep_the_signature_valid_for_its_revision() -> None:
    assert classify_signature(facts(modification=ModificationLevel.FORM_FILLING)) == (PASSED, None)
    assert classify_signature(facts(coverage=Coverage.ENTIRE_REVISION)) == (PASSED, None)


@pytest.mark.parametrize(
    ("change", "proven_verdict", "claimed_verdict"),
    [
        ({"revocation": REVOKED_BEFORE}, (FAILED, SubIndication.REVOKED), (INDET, SubIndication.REVOKED_NO_POE)),
        ({"in_period": "after"}, (FAILED, SubIndication.EXPIRED), (INDET, SubIndication.OUT_OF_BOUNDS_NO_POE)),
        ({"in_period": "before"}, (FAILED, SubIndication.NOT_YET_VALID), (INDET, SubIndication.OUT_OF_BOUNDS_NO_POE)),
    ],
)
def test_a_claimed_time_never_makes_a_verdict_final(
    change: dict[str, object], proven_verdict: tuple[Indication, SubIndication], claimed_verdict: object
) -> None:
    """ETSI EN 319 102-1: a failure at a proven time is TOTAL_FAILED, at a merely claimed one INDETERMINATE."""
    assert classify_signature(facts(proven=True, **change)) == proven_verdict
    assert classify_signature(facts(proven=False, **change)) == claimed_verdict


def test_revoked_after_a_proven_signing_time_passes_but_not_after_a_claimed_one() -> None:
    """A stolen key can backdate: revoked after the claimed time, with no timestamp, is REVOKED_NO_POE."""
    assert classify_signature(facts(proven=True, revocation=REVOKED_AFTER)) == (PASSED, None)
    assert classify_signature(facts(proven=False, revocation=REVOKED_AFTER)) == (INDET, SubIndication.REVOKED_NO_POE)


def test_pyhankos_revoked_without_poe_is_final_once_the_time_is_proven() -> None:
    assert classify_signature(facts(trust_problem="REVOKED_NO_POE")) == (FAILED, SubIndication.REVOKED)
    verdict = classify_signature(facts(trust_problem="REVOKED_NO_POE", proven=False))
    assert verdict == (INDET, SubIndication.REVOKED_NO_POE)


def test_weak_algorithms_come_after_proven_time_failures_and_before_claimed_ones() -> None:
    assert classify_signature(facts(weak_algorithms=True)) == (INDET, SubIndication.CRYPTO_CONSTRAINTS_FAILURE)
    weak_expired = facts(weak_algorithms=True, in_period="after")
    assert classify_signature(weak_expired) == (FAILED, SubIndication.EXPIRED)
    assert classify_signature(dataclasses.replace(weak_expired, proven=False)) == (
        INDET,
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
    )


def test_an_untrusted_path_outranks_an_out_of_period_claimed_time() -> None:
    no_chain = facts(proven=False, in_period="after", trust_problem="NO_CERTIFICATE_CHAIN_FOUND")
    assert classify_signature(no_chain) == (INDET, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)


@pytest.mark.parametrize(
    ("problem", "sub"),
    [
        ("NO_CERTIFICATE_CHAIN_FOUND", SubIndication.NO_CERTIFICATE_CHAIN_FOUND),
        ("CHAIN_CONSTRAINTS_FAILURE", SubIndication.CHAIN_CONSTRAINTS_FAILURE),
        ("CRYPTO_CONSTRAINTS_FAILURE_NO_POE", SubIndication.CRYPTO_CONSTRAINTS_FAILURE),
        ("REVOKED_CA_NO_POE", SubIndication.REVOKED_CA_NO_POE),
        ("TRY_LATER", SubIndication.TRY_LATER),
        ("SOMETHING_PYHANKO_ADDS_LATER", SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE),
    ],
)
def test_pyhankos_trust_problems_map_to_etsi_sub_indications(problem: str, sub: SubIndication) -> None:
    assert classify_signature(facts(trust_problem=problem)) == (INDET, sub)


def test_missing_revocation_data() -> None:
    # soft-fail: a warning elsewhere, the verdict stands
    assert classify_signature(facts(missing_revocation=True)) == (PASSED, None)
    # hard-fail: a passing signature becomes TRY_LATER, a failing one keeps its reason
    assert classify_signature(facts(missing_revocation=True, hard_fail=True)) == (INDET, SubIndication.TRY_LATER)
    assert classify_signature(facts(missing_revocation=True, hard_fail=True, intact=False)) == (
        FAILED,
        SubIndication.HASH_FAILURE,
    )
    # certvalidator refused the path for lack of revocation data: TRY_LATER rather than a general failure
    refused = facts(missing_revocation=True, trust_problem="CERTIFICATE_CHAIN_GENERAL_FAILURE")
    assert classify_signature(refused) == (INDET, SubIndication.TRY_LATER)


def test_validity_period_bounds_are_inclusive() -> None:
    start, end = T - timedelta(days=365), T + timedelta(days=365)
    assert validity_period(start, end, start) == "in"
    assert validity_period(start, end, end) == "in"
    assert validity_period(start, end, start - timedelta(seconds=1)) == "before"
    assert validity_period(start, end, end + timedelta(seconds=1)) == "after"


def test_valid_at_signing_time() -> None:
    assert valid_at_signing(None, trusted_path=True, in_period="in", revocation=GOOD, when=T) is True
    assert valid_at_signing(None, trusted_path=False, in_period="in", revocation=GOOD, when=T) is None
    assert valid_at_signing(None, trusted_path=True, in_period="after", revocation=GOOD, when=T) is False
    assert valid_at_signing(None, trusted_path=True, in_period="in", revocation=REVOKED_BEFORE, when=T) is False
    assert valid_at_signing(None, trusted_path=True, in_period="in", revocation=REVOKED_AFTER, when=T) is True
    revoked_ca = SubIndication.REVOKED_CA_NO_POE
    assert valid_at_signing(revoked_ca, trusted_path=True, in_period="in", revocation=GOOD, when=T) is False
    weak = SubIndication.CRYPTO_CONSTRAINTS_FAILURE
    assert valid_at_signing(weak, trusted_path=True, in_period="in", revocation=GOOD, when=T) is None


def test_coverage_of_a_byte_range() -> None:
    revision = {"entire_file": False, "entire_revision": True}
    whole = coverage_of(entire_file=True, entire_revision=False, later_revisions=0, trailing=b"x")
    assert whole is Coverage.ENTIRE_FILE
    assert coverage_of(**revision, later_revisions=1, trailing=b"1 0 obj") is Coverage.ENTIRE_REVISION
    assert coverage_of(**revision, later_revisions=0, trailing=b"\r\n\0 ") is Coverage.ENTIRE_REVISION
    # bytes after the signed revision that are no revision: uncovered data a lenient viewer may act on
    assert coverage_of(**revision, later_revisions=0, trailing=b"\n<< /Evil >>") is Coverage.PARTIAL
    assert coverage_of(entire_file=False, entire_revision=False, later_revisions=0, trailing=b"") is Coverage.PARTIAL


def report(
    name: str, indication: Indication, sub: SubIndication | None, *, covers_final: bool = True
) -> SignatureReport:
    return SignatureReport(
        field_name=name, signer=None, claimed_signing_time=None, timestamp_time=None, signing_time_used=T,
        signing_time_source=SigningTimeSource.TIMESTAMP, integrity=indication is not FAILED,
        coverage=Coverage.ENTIRE_FILE, signed_revision=1, changes=ChangesAfterSigning(ModificationLevel.NONE),
        covers_final_document=covers_final, certificate_path=(), anchor_set=None, valid_at_signing_time=None,
        revocation=GOOD, algorithms=None, key_usage_ok=None, indication=indication, sub_indication=sub,
    )  # fmt: skip


def test_a_file_without_signatures() -> None:
    verdict = classify_file([])
    assert (verdict.indication, verdict.sub_indication) == (INDET, SubIndication.SIGNED_DATA_NOT_FOUND)
    assert not verdict.whole_document_signed


def test_the_worst_signature_decides_the_file_with_its_first_sub_indication() -> None:
    sigs = [
        report("a", PASSED, None),
        report("b", INDET, SubIndication.TRY_LATER),
        report("c", FAILED, SubIndication.HASH_FAILURE),
        report("d", FAILED, SubIndication.REVOKED),
    ]
    verdict = classify_file(sigs)
    assert (verdict.indication, verdict.sub_indication) == (FAILED, SubIndication.HASH_FAILURE)
    verdict = classify_file(sigs[:2])
    assert (verdict.indication, verdict.sub_indication) == (INDET, SubIndication.TRY_LATER)


def test_passing_signatures_that_leave_the_newest_revision_uncovered() -> None:
    verdict = classify_file([report("a", PASSED, None, covers_final=False)])
    assert (verdict.indication, verdict.sub_indication) == (INDET, SubIndication.SIG_CONSTRAINTS_FAILURE)
    assert verdict.unsigned_changes and not verdict.whole_document_signed
    verdict = classify_file([report("a", PASSED, None, covers_final=False), report("b", PASSED, None)])
    assert (verdict.indication, verdict.whole_document_signed, verdict.unsigned_changes) == (PASSED, True, False)


RAW_OK = RawFacts(byte_range_ok=True, digest_ok=True, signature_ok=True, intact=True, weak_algorithm=False)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"byte_range_ok": False, "intact": False},
            (FAILED, SubIndication.FORMAT_FAILURE, RawReason.BYTE_RANGE_INVALID),
        ),
        ({"digest_ok": False, "intact": False}, (FAILED, SubIndication.HASH_FAILURE, RawReason.DIGEST_MISMATCH)),
        (
            {"signature_ok": False, "intact": False},
            (FAILED, SubIndication.SIG_CRYPTO_FAILURE, RawReason.SIGNATURE_VALUE_INVALID),
        ),
        ({"signature_ok": None, "intact": False}, (INDET, SubIndication.FORMAT_FAILURE, RawReason.UNREADABLE)),
        ({"weak_algorithm": True}, (INDET, SubIndication.CRYPTO_CONSTRAINTS_FAILURE, RawReason.WEAK_ALGORITHM)),
        ({}, (INDET, SubIndication.FORMAT_FAILURE, RawReason.NOT_EVALUATED)),
    ],
)
def test_the_tolerant_path_never_passes(change: dict[str, object], expected: tuple[object, ...]) -> None:
    assert classify_raw(dataclasses.replace(RAW_OK, **change)) == expected  # type: ignore[arg-type]
