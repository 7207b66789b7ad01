"""The report model and its renderings: JSON shape, Vietnamese/English wording, HTML escaping, the PDF receipt."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from signing.pdf.render import RenderError, render_html, render_receipt_pdf
from signing.pdf.report import (
    CertificateInfo,
    ChangesAfterSigning,
    Coverage,
    Finding,
    Indication,
    ModificationLevel,
    RevocationInfo,
    SignatureReport,
    SigningTimeSource,
    SubIndication,
    VerificationReport,
)
from tests.support.env import require_executable
from tests.unit.signing.test_pdf_verify_kit import base_pdf, sign, verify

NOW = datetime(2026, 6, 1, 2, 30, tzinfo=UTC)
EVIL = '<script>alert("x")</script>'


def _cert(cn: str, org: str | None = "Bộ Nội vụ") -> CertificateInfo:
    return CertificateInfo(
        subject=f"Common Name: {cn}", common_name=cn, organisation=org, serial_hex="1a", issuer="Common Name: CA",
        issuer_common_name="CA", not_before=datetime(2025, 1, 1, tzinfo=UTC),
        not_after=datetime(2028, 1, 1, tzinfo=UTC), sha256="00" * 32,
    )


def _sig(indication=Indication.TOTAL_PASSED, sub=None, cn="Nguyễn Văn An") -> SignatureReport:
    return SignatureReport(
        field_name="Sig1", signer=_cert(cn), claimed_signing_time=NOW, timestamp_time=None, signing_time_used=NOW,
        signing_time_source=SigningTimeSource.CLAIMED, integrity=True, coverage=Coverage.ENTIRE_FILE,
        signed_revision=2, changes=ChangesAfterSigning(level=ModificationLevel.NONE), covers_final_document=True,
        certificate_path=(_cert(cn), _cert("CA", None)), anchor_set="test-root", valid_at_signing_time=True,
        revocation=RevocationInfo(), algorithms=None, key_usage_ok=True, indication=indication,
        sub_indication=sub, warnings=(Finding("w", "cảnh báo", "warning"),),
    )


def _report(*sigs: SignatureReport, indication=Indication.TOTAL_PASSED) -> VerificationReport:
    return VerificationReport(
        file_sha256="ab" * 32, file_size=1234, revisions=2, signatures=sigs, indication=indication,
        sub_indication=None, whole_document_signed=True, generated_at=NOW, policy={"revocation": "hard-fail"},
    )


# --- report model -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indication", "code", "vi", "en"),
    [
        (Indication.TOTAL_PASSED, 0, "Chữ ký hợp lệ", "Signature valid"),
        (Indication.TOTAL_FAILED, 1, "Chữ ký không hợp lệ", "Signature invalid"),
        (Indication.INDETERMINATE, 2, "Chưa xác định được tính hợp lệ", "Validity could not be determined"),
    ],
)
def test_exit_codes_and_verdicts(indication, code, vi, en):
    report = _report(_sig(indication), indication=indication)
    assert report.exit_code == code
    assert (report.verdict_vi, report.verdict_en) == (vi, en)
    assert report.signatures[0].verdict("en") == en


def test_json_is_stable_and_plain():
    report = _report(_sig())
    text = report.to_json()
    doc = json.loads(text)
    assert list(doc) == [
        "schema_version", "file", "indication", "sub_indication", "verdict_vi", "verdict_en",
        "whole_document_signed", "generated_at", "policy", "warnings", "signatures", "document_timestamps",
    ]
    sig = doc["signatures"][0]
    assert sig["signer"]["common_name"] == "Nguyễn Văn An"  # UTF-8 kept, not \\u-escaped
    assert "Nguyễn" in text
    assert sig["summary_vi"]["Thời điểm ký"] == "2026-06-01T09:30:00+07:00 (do người ký tự khai)"
    assert sig["summary_en"]["Certificate validity period"].startswith("from 2025-01-01T07:00:00+07:00")
    assert sig["signing_time_source"] == "claimed" and sig["changes"]["level"] == "NONE"
    assert report.to_json() == _report(_sig()).to_json()


def test_summary_has_every_field_standards_7_requires():
    labels = set(json.loads(_report(_sig()).to_json())["signatures"][0]["summary_vi"])
    assert labels >= {
        "Kết quả", "Người ký", "Tổ chức cấp chứng thư", "Thời điểm ký", "Tính toàn vẹn",
        "Hiệu lực chứng thư tại thời điểm ký", "Thời hạn chứng thư",
    }


# --- HTML ---------------------------------------------------------------------------------------------------


def test_html_escapes_certificate_content():
    sig = replace(_sig(), signer=_cert(EVIL, org=EVIL), field_name=EVIL)
    page = render_html(_report(sig))
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_html_is_self_contained_and_localised():
    vi = render_html(_report(_sig()))
    en = render_html(_report(_sig()), lang="en")
    assert '<html lang="vi">' in vi and '<html lang="en">' in en
    assert "Chữ ký hợp lệ" in vi and "Signature valid" in en and "Người ký" in vi and "Signer" in en
    for page in (vi, en):
        assert not re.search(r"""(src|href)\s*=|@import|url\(""", page, re.I)  # no external asset of any kind
    with pytest.raises(RenderError):
        render_html(_report(_sig()), lang="fr")


def test_html_of_a_failed_signature_lists_its_errors():
    sig = replace(_sig(Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
                  errors=(Finding("hash", "Nội dung đã bị sửa", "Content altered"),))
    page = render_html(_report(sig, indication=Indication.TOTAL_FAILED))
    assert "Nội dung đã bị sửa" in page and "TOTAL_FAILED / HASH_FAILURE" in page


# --- PDF receipt ----------------------------------------------------------------------------------------------


def _pdftotext(pdf: bytes, tmp_path) -> str:
    exe = require_executable("pdftotext", "install poppler-utils")
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    return subprocess.run([exe, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_receipt_pdf_renders_vietnamese_text(test_pki, tmp_path):
    report = verify(sign(base_pdf(), test_pki, "good-rsa", timestamp=True), test_pki)
    text = _pdftotext(render_receipt_pdf(report), tmp_path)
    for needle in ("BIÊN NHẬN KIỂM TRA CHỮ KÝ SỐ", "Chữ ký hợp lệ", "Người ký: Nguyễn Văn An",
                   "Tổ chức cấp chứng thư: Edoc Test Issuing CA", "Hiệu lực chứng thư tại thời điểm ký: Còn hiệu lực",
                   "(theo dấu thời gian)", report.file_sha256):
        assert needle in text, needle


def test_receipt_pdf_in_english_and_with_hostile_names(tmp_path):
    sig = replace(_sig(), signer=_cert(EVIL))
    text = _pdftotext(render_receipt_pdf(_report(sig), lang="en"), tmp_path)
    assert "DIGITAL SIGNATURE VERIFICATION RECEIPT" in text and "Signature valid" in text
    assert EVIL in text  # shown as text: a PDF has nothing to execute, and nothing was dropped


def test_receipt_pdf_grows_to_more_pages(tmp_path):
    many = _report(*[_sig() for _ in range(6)])
    pdf = render_receipt_pdf(many)
    exe = require_executable("pdfinfo", "install poppler-utils")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    info = subprocess.run([exe, str(path)], check=True, capture_output=True, text=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 2  # type: ignore[union-attr]
