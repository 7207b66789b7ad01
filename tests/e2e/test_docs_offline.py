"""``/docs`` renders its operations in a real headless Chromium with no network beyond the gateway (issue 16
item 9): Swagger UI's assets are served by the gateway itself, under a Content-Security-Policy that allows nothing
else."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import GatewayProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    data = tmp_path_factory.mktemp("docs-page")
    proc = GatewayProcess(data, database_url=f"sqlite:///{data / 'edoc.sqlite3'}", embedded_worker="false")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _offline_page(browser, base: str):  # type: ignore[no-untyped-def]
    """A page whose every request outside the gateway is refused (and recorded), as on a network without Internet."""
    context = browser.new_context()
    outside: list[str] = []

    def route(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, outside, errors


def test_api_docs_render_without_internet(server: GatewayProcess, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, outside, errors = _offline_page(browser, server.base)
    try:
        page.goto(f"{server.base}/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        operations = page.locator(".opblock").count()
        print(f"/docs rendered {operations} operations offline")
        assert operations >= 10, operations
        assert page.locator(".opblock-summary-path", has_text="/api/v1/edocs").count() >= 1
        assert outside == [], f"the page asked the Internet for {outside}"
        assert errors == [], errors  # a Content-Security-Policy violation is reported as a console error
    finally:
        context.close()


def test_the_docs_page_carries_a_content_security_policy(server: GatewayProcess) -> None:
    resp = httpx.get(f"{server.base}/docs")
    csp = resp.headers.get("content-security-policy", "")
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "cdn" not in resp.text.lower() and "<script>" not in resp.text
