"""The auditors' pages (issue 21 item 8) in a real headless Chromium against a real ``edoc serve`` process.

At 1280 px and at 375 px (a phone): sign in with an auditor key, search, export CSV (the download is checked: BOM,
header, rows), open a document's timeline (each event's leaf in the log), view the statistics charts, verify the
document's evidence bundle by upload; the page never scrolls sideways (wide tables scroll inside their box). The
sign-in form is also used with the keyboard only (skip link, focus order, Enter).
Screenshots go to this test run's temporary folder, whose path is printed.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.exchange.directory import create_client
from service.wiring import build_gateway
from tests.support.gateway import A, B, C, make_settings, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import GatewayProcess

SUBJECT = "Về việc triển khai chuyển đổi số năm 2026"


def _submit(base: str, key: str, frm: str, to: list[str], number: str, subject: str) -> dict[str, str]:
    hdr = {"from": frm, "to": to, "code": {"number": number, "notation": "STTTT-VP"}, "subject": subject,
           "type_name": "Công văn", "date": "2026-11-20"}
    resp = httpx.post(f"{base}/api/v1/edocs", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      data={"header": json.dumps(hdr, ensure_ascii=False)},
                      files=[("files", ("cv.pdf", simple_pdf(1), "application/pdf"))])
    assert resp.status_code == 202, resp.text
    data: dict[str, str] = resp.json()
    return data


def _wait_delivered(base: str, key: str, count: int) -> list[dict[str, str]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = httpx.get(f"{base}/api/v1/inbox", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
        if len(items["items"]) >= count:
            return list(items["items"])
        time.sleep(0.2)
    raise AssertionError("documents were not delivered")


def _evidence(base: str, key: str, doc: str) -> bytes:
    """The document's evidence bundle once every event in it is in the signed tree (the sequencer runs each s)."""
    for _ in range(100):
        resp = httpx.get(f"{base}/api/v1/edocs/{doc}/evidence", headers={"Authorization": f"Bearer {key}"},
                         timeout=10)
        assert resp.status_code == 200, resp.text
        with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
            if not any(e.get("pending") for e in json.loads(zf.read("manifest.json"))["events"]):
                return resp.content
        time.sleep(0.2)
    raise AssertionError("the log did not cover the document's events")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, str, str, str]]:
    data = tmp_path_factory.mktemp("auditor-pages")
    url = f"sqlite:///{data / 'edoc.sqlite3'}"
    keys = provision(url, data, prefix="e2e")
    gw = build_gateway(make_settings(url, data))
    with gw.writes() as session, session.begin():
        auditor = create_client(session, name="thanh-tra-so", role="auditor", agencies=[])[1]
    gw.close()
    proc = GatewayProcess(data, database_url=url, embedded_worker="true")
    proc.start()
    try:
        base = proc.base
        docs = [_submit(base, keys["A"], A, [B], str(n), f"{SUBJECT} (đợt {n})") for n in range(1, 4)]
        _submit(base, keys["C"], C, [B], "77", "Về việc báo cáo thống kê quý IV")
        _wait_delivered(base, keys["B"], 4)
        for doc in docs:
            assert httpx.post(f"{base}/api/v1/edocs/{doc['id']}/ack", timeout=10,
                              headers={"Authorization": f"Bearer {keys['B']}"}).is_success
        yield proc, auditor, keys["A"], docs[0]["id"]
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("auditor-screens")
    print(f"\nauditor page screenshots: {folder}")
    return folder


def _context(browser, width: int):  # type: ignore[no-untyped-def]
    height = 800 if width > 600 else 740
    return browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN", accept_downloads=True)


def _no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width} px wide"


def _sign_in(page, base: str, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/audit/login")
    page.fill("#api_key", key)
    with page.expect_navigation():
        page.click("#login")


@pytest.mark.parametrize("width", [1280, 375])
def test_auditor_journey(server, browser, shots: Path, tmp_path: Path, width: int) -> None:
    proc, key, sender, first = server
    context = _context(browser, width)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        _sign_in(page, proc.base, key)
        assert page.url.endswith("/audit/search")
        assert page.get_attribute("html", "lang") == "vi"
        assert "thanh-tra-so" in page.locator("header").inner_text()
        page.screenshot(path=str(shots / f"search-{width}.png"), full_page=True)
        _no_sideways_scroll(page)

        # search: free text in the subject, newest first
        page.fill("#f-q", "chuyển đổi số")
        page.select_option("#f-kind", "submitted")
        with page.expect_navigation():
            page.click("#do-search")
        rows = page.locator("#events tbody tr")
        assert rows.count() == 3
        assert "(đợt 3)" in rows.nth(0).inner_text()  # newest first by default
        page.screenshot(path=str(shots / f"search-results-{width}.png"), full_page=True)
        _no_sideways_scroll(page)

        # export CSV: a real download of the same result set
        with page.expect_download() as info:
            page.click("#export-csv")
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        content = saved.read_bytes()
        assert saved.suffix == ".csv" and content.startswith(b"\xef\xbb\xbf")
        lines = content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("id,at,kind,status_code") and len(lines) == 4
        assert all(SUBJECT in line for line in lines[1:])

        # a document's timeline: its events in order, each with its leaf in the log
        with page.expect_navigation():
            page.locator("#events a.timeline").first.click()
        timeline = page.locator("#timeline tbody tr")
        assert timeline.count() >= 3
        kinds = [timeline.nth(i).locator("td").nth(1).inner_text() for i in range(timeline.count())]
        assert kinds[0] == "Gửi văn bản" and "Đã chuyển đến" in kinds
        proof = page.locator("#timeline td.proof").first.inner_text()
        assert re.fullmatch(r"lá #\d+, (đã có trong checkpoint \d+|chờ checkpoint)", proof), proof
        page.screenshot(path=str(shots / f"timeline-{width}.png"), full_page=True)
        _no_sideways_scroll(page)

        # statistics: both charts drawn, figures in the table
        with page.expect_navigation():
            page.click("header nav >> text=Thống kê")
        page.select_option("#f-group", "day")
        with page.expect_navigation():
            page.click("#do-stats")
        assert page.locator("svg#chart-periods").is_visible()
        assert page.locator("svg#chart-periods rect").count() > 4
        assert page.locator("svg#chart-agencies polyline").count() >= 1
        box = page.locator("svg#chart-periods").bounding_box()
        assert box is not None and box["width"] <= width
        assert page.locator("#stats tbody tr").count() >= 2
        page.screenshot(path=str(shots / f"stats-{width}.png"), full_page=True)
        _no_sideways_scroll(page)

        # verify evidence: upload the bundle the sender downloaded once the sequencer covered its events
        bundle = tmp_path / "evidence.zip"
        bundle.write_bytes(_evidence(proc.base, sender, first))
        with page.expect_navigation():
            page.click("header nav >> text=Kiểm tra hồ sơ chứng cứ")
        page.set_input_files("#bundle", str(bundle))
        with page.expect_navigation():
            page.click("#do-check")
        assert page.locator("#verdict.ok").inner_text().startswith("Hồ sơ chứng cứ hợp lệ")
        page.screenshot(path=str(shots / f"evidence-{width}.png"), full_page=True)
        _no_sideways_scroll(page)

        # English, then sign out
        with page.expect_navigation():
            page.click("#lang-switch")
        assert page.get_attribute("html", "lang") == "en"
        assert page.locator("h1").inner_text() == "Verify a document's evidence bundle"
        with page.expect_navigation():
            page.click("#logout")
        assert "/audit/login" in page.url
        page.goto(f"{proc.base}/audit/search")
        assert "/audit/login" in page.url
        assert errors == []
    finally:
        context.close()


def test_sign_in_with_the_keyboard_only(server, browser, shots: Path) -> None:
    proc, key, _sender, _first = server
    context = _context(browser, 1280)
    page = context.new_page()
    try:
        page.goto(f"{proc.base}/audit/login")
        order = []
        for _ in range(4):
            page.keyboard.press("Tab")
            order.append(page.evaluate("document.activeElement.id || document.activeElement.className"))
        assert order == ["skip", "lang-switch", "api_key", "login"], order
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.id") == "api_key"
        assert page.evaluate("document.activeElement.labels[0].textContent") == "Khóa API"
        page.keyboard.type(key)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith("/audit/search")
        # the skip link moves the focus to the main content
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.screenshot(path=str(shots / "keyboard-signed-in.png"))
    finally:
        context.close()
