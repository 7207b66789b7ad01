"""verify_pdf against the shared test PKI: every signer kind, timestamps, revocation modes, caching, bad inputs."""

from __future__ import annotations

import json

import pytest

from signing.errors import SigningError
from signing.pdf.report import (
    Coverage,
    Indication,
    RevocationSource,
    RevocationStatus,
    SigningTimeSource,
    SubIndication,
)
from signing.pdf.revocation import RevocationMode, RevocationPolicy
from signing.pdf.verify import PdfVerificationError, verify_pdf
from tests.unit.signing.test_pdf_verify_kit import TEST_SET, UNTRUSTED_SET, base_pdf, sign, trust_store, verify

PASSED, FAILED, INDET = Indication.TOTAL_PASSED, Indication.TOTAL_FAILED, Indication.INDETERMINATE


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return base_pdf()


@pytest.fixture(scope="module")
def signed_bb(test_pki, pdf) -> bytes:
    return sign(pdf, test_pki, "good-rsa")


@pytest.fixture(scope="module")
def signed_lt(test_pki, pdf) -> bytes:
    return sign(pdf, test_pki, "good-rsa", lt=True)


# signer, timestamped, expected indication, expected sub-indication. Without a timestamp the signing time is only
# claimed, so certificate-time failures are INDETERMINATE (…_NO_POE); with one they are proven: TOTAL_FAILED.
MATRIX = [
    ("good-rsa", False, PASSED, None),
    ("good-ec", False, PASSED, None),
    ("good-rsa", True, PASSED, None),
    ("revoked", False, INDET, SubIndication.REVOKED_NO_POE),
    ("revoked", True, FAILED, SubIndication.REVOKED),
    ("expired", False, INDET, SubIndication.OUT_OF_BOUNDS_NO_POE),
    ("expired", True, FAILED, SubIndication.EXPIRED),
    ("not-yet-valid", False, INDET, SubIndication.OUT_OF_BOUNDS_NO_POE),
    ("not-yet-valid", True, FAILED, SubIndication.NOT_YET_VALID),
    ("wrong-ku", False, INDET, SubIndication.CHAIN_CONSTRAINTS_FAILURE),
    ("rsa1024", False, INDET, SubIndication.CRYPTO_CONSTRAINTS_FAILURE),
    ("sha1", False, INDET, SubIndication.CRYPTO_CONSTRAINTS_FAILURE),
    ("untrusted", False, INDET, SubIndication.NO_CERTIFICATE_CHAIN_FOUND),
]


@pytest.mark.parametrize(("signer", "timestamped", "indication", "sub"), MATRIX)
def test_signer_matrix(test_pki, pdf, signer, timestamped, indication, sub):
    report = verify(sign(pdf, test_pki, signer, timestamp=timestamped), test_pki)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (indication, sub), [w.en for w in sig.warnings + sig.errors]
    assert (report.indication, report.sub_indication) == (indication, sub)
    assert sig.integrity is True  # every one of these is cryptographically intact
    expected_source = SigningTimeSource.TIMESTAMP if timestamped else SigningTimeSource.CLAIMED
    assert sig.signing_time_source is expected_source
    assert report.exit_code == {PASSED: 0, FAILED: 1, INDET: 2}[indication]


def test_good_signature_report_fields(test_pki, signed_bb):
    report = verify(signed_bb, test_pki)
    (sig,) = report.signatures
    assert sig.signer is not None and sig.signer.common_name == "Nguyễn Văn An"
    assert sig.signer.issuer_common_name == "Edoc Test Issuing CA"
    assert [c.common_name for c in sig.certificate_path] == [
        "Nguyễn Văn An", "Edoc Test Issuing CA", "Edoc Test Root CA",
    ]
    assert sig.anchor_set == TEST_SET
    assert sig.coverage is Coverage.ENTIRE_FILE and sig.covers_final_document and report.whole_document_signed
    assert sig.valid_at_signing_time is True and sig.key_usage_ok is True
    assert sig.algorithms is not None and not sig.algorithms.weak and sig.algorithms.key_size == 2048
    assert (sig.revocation.status, sig.revocation.source) == (RevocationStatus.GOOD, RevocationSource.OCSP)
    assert not sig.revocation.embedded
    # the signer's clock (wall time) is later than the pinned verification time: the report says so
    assert {w.code for w in sig.warnings} >= {"claimed_signing_time", "claimed_time_in_future"}
    assert sig.signing_time_used == test_pki.now
    assert sig.verdict_vi == "Chữ ký hợp lệ" and report.verdict_vi == "Chữ ký hợp lệ"
    assert report.revisions == 2 and sig.signed_revision == 2


def test_timestamp_time_is_used_and_reported(test_pki, pdf):
    (sig,) = verify(sign(pdf, test_pki, "good-rsa", timestamp=True), test_pki).signatures
    assert sig.timestamp_time == test_pki.now  # the TSA answers at the pinned time
    assert sig.signing_time_used == test_pki.now
    assert "claimed_signing_time" not in {w.code for w in sig.warnings}


def test_revoked_with_timestamp_reports_revocation_details(test_pki, pdf):
    (sig,) = verify(sign(pdf, test_pki, "revoked", timestamp=True), test_pki).signatures
    assert sig.revocation.status is RevocationStatus.REVOKED
    assert sig.revocation.revoked_at == test_pki.revocation_time("revoked")
    assert sig.valid_at_signing_time is False
    assert sig.verdict_vi == "Chữ ký không hợp lệ"


def test_b_lt_verifies_offline_from_embedded_data(test_pki, signed_lt):
    policy = RevocationPolicy(mode=RevocationMode.HARD_FAIL, offline=True)
    report = verify(signed_lt, test_pki, policy=policy)
    (sig,) = report.signatures
    assert sig.indication is PASSED, [w.en for w in sig.warnings]
    assert sig.revocation.embedded and sig.revocation.status is RevocationStatus.GOOD
    assert policy.cache.fetches == 0
    assert report.policy["revocation_source"] == "embedded-only"


def test_offline_without_revocation_data_hard_fail_is_indeterminate(test_pki, signed_bb):
    report = verify(signed_bb, test_pki, policy=RevocationPolicy(mode=RevocationMode.HARD_FAIL, offline=True))
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (INDET, SubIndication.TRY_LATER)
    assert "revocation_unchecked" in {w.code for w in sig.warnings}
    assert sig.revocation.status is RevocationStatus.UNKNOWN


def test_offline_without_revocation_data_soft_fail_passes_with_a_warning(test_pki, signed_bb):
    report = verify(signed_bb, test_pki, policy=RevocationPolicy(mode=RevocationMode.SOFT_FAIL, offline=True))
    (sig,) = report.signatures
    assert sig.indication is PASSED
    assert "revocation_unchecked" in {w.code for w in sig.warnings}  # never silently passed


def test_unreachable_responder_hard_fail_is_try_later(test_pki, signed_bb):
    """Online mode, but the responders cannot be reached in time: a clear warning, INDETERMINATE."""
    policy = RevocationPolicy(mode=RevocationMode.HARD_FAIL, timeout_seconds=0.000001)
    (sig,) = verify(signed_bb, test_pki, policy=policy).signatures
    if sig.indication is PASSED:  # pragma: no cover - the local responder answered within a microsecond
        pytest.skip("responder too fast to time out")
    assert (sig.indication, sig.sub_indication) == (INDET, SubIndication.TRY_LATER)
    assert "revocation_unchecked" in {w.code for w in sig.warnings}


def test_revocation_responses_are_cached_between_verifications(test_pki, signed_bb):
    policy = RevocationPolicy()
    verify(signed_bb, test_pki, policy=policy)
    fetched = policy.cache.fetches
    assert fetched >= 1
    report = verify(signed_bb, test_pki, policy=policy)
    assert policy.cache.fetches == fetched  # served from the cache until nextUpdate
    assert report.indication is PASSED


def test_anchor_sets_are_independent(test_pki, signed_bb):
    report = verify(signed_bb, test_pki, anchor_sets=[UNTRUSTED_SET])
    assert report.signatures[0].sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    both = verify(signed_bb, test_pki, anchor_sets=[UNTRUSTED_SET, TEST_SET])
    assert both.indication is PASSED and both.signatures[0].anchor_set == TEST_SET


def test_untrusted_signer_passes_when_its_root_is_configured(test_pki, pdf):
    report = verify(sign(pdf, test_pki, "untrusted"), test_pki, anchor_sets=[UNTRUSTED_SET], policy=RevocationPolicy(
        mode=RevocationMode.SOFT_FAIL))
    assert report.indication is PASSED and report.signatures[0].anchor_set == UNTRUSTED_SET


def test_two_signatures_both_valid_and_whole_document_signed(test_pki, pdf):
    two = sign(sign(pdf, test_pki, "good-rsa", field="Signer"), test_pki, "good-ec", field="Org")
    report = verify(two, test_pki)
    first, second = report.signatures
    assert [s.field_name for s in report.signatures] == ["Signer", "Org"]
    assert first.coverage is Coverage.ENTIRE_REVISION and first.covers_final_document
    assert first.changes.level.value == "FORM_FILLING" and first.changes.changed_form_fields == ("Org",)
    assert second.coverage is Coverage.ENTIRE_FILE
    assert report.indication is PASSED and report.whole_document_signed


def test_unsigned_pdf_is_indeterminate(test_pki, pdf):
    report = verify(pdf, test_pki)
    assert report.signatures == () and report.indication is INDET and report.exit_code == 2
    assert [w.code for w in report.warnings] == ["no_signatures"]


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n garbage without objects"])
def test_unreadable_input_raises_pdf_unreadable(test_pki, data):
    with pytest.raises(PdfVerificationError) as info:
        verify_pdf(data, trust=trust_store(test_pki), at=test_pki.now)
    assert info.value.code == "pdf_unreadable" and isinstance(info.value, SigningError)


def test_path_input_and_json(test_pki, signed_bb, tmp_path):
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_bb)
    report = verify(path, test_pki)  # type: ignore[arg-type]
    doc = json.loads(report.to_json())
    assert doc["indication"] == "TOTAL_PASSED" and doc["file"]["size"] == len(signed_bb)
    assert doc["signatures"][0]["summary_vi"]["Người ký"] == "Nguyễn Văn An"
    assert report.to_json() == report.to_json()  # stable
