"""The clerks' page ``/verify`` in a real headless Chromium against a real ``edoc serve`` process.

A PDF signed with the test PKI (root trusted through EDOC_TRUST_SETS) is chosen with the file input and the
verdict "Chữ ký hợp lệ" and the signer's name are read from the page; a tampered copy is dropped on the drop
zone (the JavaScript enhancement) and reads "không hợp lệ"; a hostile file name is shown as text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_signing_api import signed_pdf, tamper, trust_sets
from tests.support.env import require_executable
from tests.support.server import GatewayProcess

SCREENSHOT = Path("/tmp/edoc-verify-page.png")


@pytest.fixture(scope="module")
def server(test_pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    data = tmp_path_factory.mktemp("verify-page")
    proc = GatewayProcess(
        data,
        database_url=f"sqlite:///{data / 'edoc.sqlite3'}",
        trust_sets=json.dumps(trust_sets(test_pki)),
        embedded_worker="false",
    )
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def good_pdf(test_pki) -> bytes:
    """Signed before the browser starts: Playwright's sync API runs an event loop in this thread, and sign_pdf
    (like verify_pdf) uses asyncio.run."""
    return signed_pdf(test_pki)


@pytest.fixture
def page(browser):
    context = browser.new_context(java_script_enabled=True, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()


def choose_and_submit(page, name: str, data: bytes) -> None:
    page.set_input_files("#file", files=[{"name": name, "mimeType": "application/pdf", "buffer": data}])
    with page.expect_navigation():
        page.click("#submit")


def test_valid_then_tampered_pdf(server, good_pdf, page):
    good = good_pdf
    page.goto(f"{server.base}/verify")
    assert page.get_attribute("html", "lang") == "vi"
    assert page.locator("label[for=file]").inner_text() == "Tệp PDF cần kiểm tra"
    assert page.locator("#dropzone").is_visible()  # the same-origin script ran under the page's CSP

    choose_and_submit(page, "cong-van-12.pdf", good)
    text = page.locator("body").inner_text()
    assert "Chữ ký hợp lệ" in text and "Nguyễn Văn An" in text and "cong-van-12.pdf" in text
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    bad = base64.b64encode(tamper(good)).decode()
    transfer = page.evaluate_handle(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "phu-luc.pdf", {type: "application/pdf"}));
            return dt;
        }""",
        bad,
    )
    with page.expect_navigation():
        page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    text = page.locator("body").inner_text()
    assert "Chữ ký không hợp lệ" in text and "phu-luc.pdf" in text
    assert page.console_errors == []


def test_english_page_and_errors_are_escaped(server, page):
    page.goto(f"{server.base}/verify?lang=en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("#submit").inner_text() == "Verify signatures"
    page.goto(f"{server.base}/verify")
    hostile = '<img src=x onerror="document.title=1">.pdf'
    choose_and_submit(page, hostile, b"%PDF-1.7\nnot a real document")
    assert page.locator("[role=alert]").inner_text().startswith("Không kiểm tra được tệp")
    choose_and_submit(page, hostile, b"hello")
    assert "tệp không phải là tệp PDF" in page.locator("[role=alert]").inner_text()
    assert page.locator("main img").count() == 0


def _pdftotext(pdf: Path) -> str:
    exe = require_executable("pdftotext", "install poppler-utils")
    return subprocess.run([exe, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def test_result_page_offers_the_receipt_of_the_file_just_verified(server, good_pdf, page, tmp_path):
    """Issue 16 item 10: one click on the result page downloads the PDF receipt of that verification."""
    page.goto(f"{server.base}/verify")
    choose_and_submit(page, "cong-van-12.pdf", tamper(good_pdf))
    verdict = page.locator("body").inner_text()
    assert "Chữ ký không hợp lệ" in verdict and "Không sử dụng tệp này" in verdict
    assert "IndirectObject" not in verdict and "test-root" not in verdict
    with page.expect_download() as info:
        page.click("#receipt")
    download = info.value
    assert download.suggested_filename == "bien-nhan-cong-van-12.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = _pdftotext(saved)
    assert "BIÊN NHẬN KIỂM TRA CHỮ KÝ SỐ" in text and "Chữ ký không hợp lệ" in text
    assert hashlib.sha256(tamper(good_pdf)).hexdigest() in text.replace("\n", "")
    assert "Nguyễn Văn An" in text and "test-root" not in text
    assert page.locator("#receipt").is_visible()  # the page stays: a download, not a navigation
    assert page.console_errors == []


def test_receipt_form_refuses_what_the_gateway_did_not_seal(server, good_pdf, page):
    page.goto(f"{server.base}/verify")
    choose_and_submit(page, "cong-van-12.pdf", good_pdf)
    form = {n: page.get_attribute(f"#receipt-form input[name={n}]", "value") for n in ("report", "name", "tag")}
    forged = json.loads(form["report"])
    forged["signatures"][0]["signer"]["common_name"] = "Người khác"
    ok = httpx.post(f"{server.base}/verify/receipt", data=form, timeout=30)
    assert ok.status_code == 200 and ok.content.startswith(b"%PDF-")
    assert ok.headers["content-disposition"].startswith("attachment;")
    bad = httpx.post(f"{server.base}/verify/receipt", data={**form, "report": json.dumps(forged)}, timeout=30)
    assert bad.status_code == 400 and "biên nhận không hợp lệ" in bad.text
    huge = httpx.post(f"{server.base}/verify/receipt", content=b"report=" + b"a" * (2 << 20), timeout=30,
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413
