"""Issue 16 item 10: what a clerk reads is a Vietnamese sentence consistent with the verdict, on the HTML page and
on the PDF receipt; pyHanko's raw detail, trust-set ids and English tokens stay in the JSON only.

Every scenario is a real verification of a real file (test PKI): a byte flipped inside the signed range, content
changed in a later revision, a second signature, an untrusted signer, and soft-fail offline revocation.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from html.parser import HTMLParser

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing.pdf.render import render_html, render_receipt_pdf
from signing.pdf.report import Indication, VerificationReport, summary_rows
from signing.pdf.revocation import RevocationMode, RevocationPolicy
from tests.integration.test_signing_api import tamper
from tests.support.env import require_executable
from tests.unit.signing.test_pdf_verify_kit import TEST_SET, UNTRUSTED_SET, base_pdf, sign, verify

# Raw or English tokens that must never reach the Vietnamese page or receipt outside an element marked lang="en"
RAW = re.compile(
    r"IndirectObject|Reference\(|PathInRevision|AbsoluteContext|unexplained|ENTIRE_FILE|ENTIRE_REVISION|PARTIAL"
    r"|FORM_FILLING|LTA_UPDATES|ANNOTATIONS|\bNONE\b|\bOTHER\b|revocation=|revocation_source|hard-fail|soft-fail"
    r"|embedded-only|timestamp-or-claimed|sha256_rsa|" + TEST_SET + "|" + UNTRUSTED_SET
)
ETSI_TOKEN = re.compile(r"\b[A-Z]+_[A-Z_]+\b")  # TOTAL_FAILED, HASH_FAILURE, …


def _modify_after_signing(signed: bytes) -> bytes:
    """A later incremental update that rotates page 1: content changed after signing (pyHanko level OTHER)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page[generic.pdf_name("/Rotate")] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def reports(test_pki) -> dict[str, VerificationReport]:
    pdf = base_pdf()
    good = sign(pdf, test_pki)
    offline = RevocationPolicy(mode=RevocationMode.SOFT_FAIL, offline=True)
    return {
        "tampered": verify(tamper(good), test_pki),
        "modified": verify(_modify_after_signing(good), test_pki),
        "two": verify(sign(good, test_pki, field="Sig2"), test_pki),
        "untrusted": verify(sign(pdf, test_pki, "untrusted"), test_pki),
        "offline": verify(good, test_pki, policy=offline),
    }


class _VisibleText(HTMLParser):
    """Text a reader sees, split into Vietnamese text and text inside lang="en" elements."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.vi: list[str] = []
        self.en: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("meta", "link", "br", "input", "img"):
            return
        inherited = self.stack[-1][1] if self.stack else False
        lang = dict(attrs).get("lang")
        self.stack.append((tag, lang == "en" if lang else inherited))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not data.strip() or any(t in ("style", "script", "title") for t, _ in self.stack):
            return
        (self.en if self.stack and self.stack[-1][1] else self.vi).append(data.strip())


def _visible(page: str) -> _VisibleText:
    parser = _VisibleText()
    parser.feed(page)
    return parser


@pytest.mark.parametrize("name", ["tampered", "modified", "two", "untrusted", "offline"])
def test_vietnamese_page_has_no_raw_detail_or_english_tokens(reports, name):
    text = _visible(render_html(reports[name]))
    joined = "\n".join(text.vi)
    assert not RAW.search(joined), RAW.search(joined)
    assert not ETSI_TOKEN.search(joined), ETSI_TOKEN.search(joined)
    assert all(not RAW.search(t) for t in text.en)  # the ETSI code may be shown, marked English; raw detail not


def test_raw_detail_stays_in_the_json(reports):
    doc = reports["modified"].to_json()
    assert "modified_after_signing" in doc and reports["modified"].signatures[0].changes.detail
    assert "OTHER" in doc and TEST_SET in doc


@pytest.mark.parametrize("name", ["tampered", "modified"])
def test_integrity_line_agrees_with_a_failed_verdict(reports, name):
    report = reports[name]
    assert report.indication is Indication.TOTAL_FAILED
    rows = dict(summary_rows(report.signatures[0], "vi"))
    assert rows["Tính toàn vẹn"] != "Nội dung được ký không bị thay đổi"
    assert "đã bị thay đổi" in rows["Tính toàn vẹn"] or "đã bị sửa" in rows["Tính toàn vẹn"]
    english = dict(summary_rows(report.signatures[0], "en"))["Integrity"]
    assert "altered" in english or "modified" in english


def test_page_says_what_to_do(reports):
    assert "Không sử dụng" in " ".join(_visible(render_html(reports["modified"])).vi)
    untrusted = " ".join(_visible(render_html(reports["untrusted"])).vi)
    assert "gốc tin cậy" in untrusted and "quản trị" in untrusted


def test_english_page_is_english(reports):
    page = render_html(reports["modified"], lang="en")
    text = "\n".join(_visible(page).vi + _visible(page).en).replace("Nguyễn Văn An", "")  # a certificate's name
    assert "Do not rely on this file" in text and not RAW.search(text)
    assert not re.search("[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]", text, re.I)


def _receipt_text(pdf: bytes, tmp_path) -> str:
    exe = require_executable("pdftotext", "install poppler-utils")
    png = require_executable("pdftoppm", "install poppler-utils")
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    subprocess.run([png, "-r", "40", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "p")], check=True)
    assert (tmp_path / "p-1.png").stat().st_size > 1000  # page 1 rasterises
    return subprocess.run([exe, str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("name", ["modified", "two", "offline"])
def test_receipt_is_vietnamese_sentences(reports, name, tmp_path):
    text = _receipt_text(render_receipt_pdf(reports[name]), tmp_path)
    assert not RAW.search(text), RAW.search(text)
    # the ETSI code appears once per verdict line that names it, never as a bare label of its own
    without_codes = re.sub(r"\([^()]*ETSI[^()]*\)", "", text.replace("\n", " "))
    assert not ETSI_TOKEN.search(without_codes), ETSI_TOKEN.search(without_codes)
    assert "Kết luận chung" in text


@pytest.mark.parametrize("name", ["tampered", "modified", "two", "untrusted", "offline"])
def test_report_comes_back_from_its_json(reports, name):
    """The /verify receipt is rendered from the report the result page carries: the JSON must restore it whole."""
    report = reports[name]
    assert VerificationReport.from_dict(json.loads(report.to_json(indent=None))) == report


def test_from_dict_refuses_other_documents():
    with pytest.raises(ValueError):
        VerificationReport.from_dict({"schema_version": 1, "file": {}})
    with pytest.raises(ValueError):
        VerificationReport.from_dict({"schema_version": 99})


def test_receipt_wraps_between_words(reports, tmp_path):
    """Long rows wrap at spaces: a word is never cut (the first line used to be split at the narrower width of the
    following ones, which printed 'b' / 'ản')."""
    report = reports["modified"]
    text = " ".join(_receipt_text(render_receipt_pdf(report), tmp_path).split())
    for _label, value in summary_rows(report.signatures[0], "vi"):
        assert " ".join(value.split()) in text, value


def test_an_unknown_finding_code_is_shown_without_its_detail():
    from signing.pdf.report import Finding, finding_text

    finding = Finding("new_reason", "Có điều bất thường: IndirectObject(7, 0) changed", "Something odd (Reference(4))")
    assert finding_text(finding) == "Có điều bất thường."
    assert finding_text(finding, "en") == "Something odd."
