"""SIGKILL ``edoc serve`` while a remote signature waits for the official's phone; restart; the official confirms;
a poll then serves a complete, valid signature, the restarted gateway's own poller calls the webhook without any
client asking, and the provider was asked to sign once (issue 23, "Done when", third point). SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from service.exchange.directory import create_client, import_agencies
from service.signatures import verify_document
from service.wiring import build_gateway
from storage.migrate import upgrade
from tests.support import remote_vn
from tests.support.gateway import AGENCIES, A, make_settings
from tests.support.pdfs import simple_pdf
from tests.support.pki import TestPki
from tests.support.remote_vn import SmartCAServer, load_test_key
from tests.support.server import GatewayProcess

pytestmark = pytest.mark.slow
SECRET_ENV = "EDOC_TEST_E2E_SP_PASSWORD"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *_args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def hook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/signed"
    server.shutdown()
    server.server_close()


def _clerk_key(url: str, tmp: Path) -> str:
    upgrade(url)
    gw = build_gateway(make_settings(url, tmp))
    with gw.writes() as session, session.begin():
        import_agencies(session, AGENCIES)
        key = create_client(session, name="e2e-clerk", role="clerk", agencies=[A])[1]
    gw.close()
    return key


def _gateway(tmp: Path, url: str, smartca: SmartCAServer) -> GatewayProcess:
    signers = {"vnpt": {"url": smartca.url, "options": {"sp_id": remote_vn.SP_ID}, "level": "B-B",
                        "secret_env": {"sp_password": SECRET_ENV}}}
    return GatewayProcess(tmp, database_url=url, remote_signers=json.dumps(signers), remote_poll_seconds="0.2",
                          remote_webhook_allowed_networks='["127.0.0.1/32"]')


def test_sigkill_while_pending_then_confirm_completes_a_valid_signature(
    empty_database_url: str, tmp_path: Path, test_pki: TestPki, hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, remote_vn.SP_PASSWORD)
    key = _clerk_key(empty_database_url, tmp_path)
    smartca = SmartCAServer(load_test_key(*test_pki.signer("good-rsa")[:2])).start()
    auth = {"Authorization": f"Bearer {key}"}
    first = _gateway(tmp_path, empty_database_url, smartca).start()
    try:
        options = {"remote": {"provider": "vnpt", "credential": remote_vn.USER, "webhook_url": hook}}
        response = httpx.post(f"{first.base}/api/v1/sign", headers=auth, timeout=60,
                              files={"file": ("cv.pdf", simple_pdf(1), "application/pdf")},
                              data={"options": json.dumps(options)})
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
        first.kill()  # SIGKILL while the official has not answered
        smartca.confirm()  # the official confirms while the gateway is down
        second = _gateway(tmp_path, empty_database_url, smartca).start()
        try:
            deadline = time.monotonic() + 30
            while not _Hook.received and time.monotonic() < deadline:  # the restarted poller finds it alone
                time.sleep(0.1)
            assert [r["status"] for r in _Hook.received] == ["done"]
            done = httpx.get(second.base + location, headers=auth, timeout=60)
            again = httpx.get(second.base + location, headers=auth, timeout=60)
        finally:
            second.stop()
    finally:
        first.stop()
        smartca.stop()
    assert done.status_code == 200 and done.headers["content-type"] == "application/pdf"
    assert again.content == done.content and smartca.sign_requests == 1
    gw = build_gateway(make_settings(empty_database_url, tmp_path))
    report = verify_document(gw, done.content)
    gw.close()
    assert len(report.signatures) == 1 and report.signatures[0].integrity
    assert report.signatures[0].signer is not None and report.signatures[0].signer.common_name == "Nguyễn Văn An"
