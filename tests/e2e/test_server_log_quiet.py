"""The gateway's log holds one line per event, not pyHanko's traceback per verification (issue 16 item 8): a PDF
signed under a CA that publishes no CRL or OCSP is verified through ``/verify`` by a real ``edoc serve``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from asn1crypto import pem

from tests.e2e.test_cli_no_traceback import _write_pki
from tests.support.pdfs import simple_pdf
from tests.support.server import EDOC, ROOT, GatewayProcess

pytestmark = pytest.mark.slow


def test_a_verification_without_revocation_data_logs_no_traceback(tmp_path: Path) -> None:
    _write_pki(tmp_path)
    (tmp_path / "doc.pdf").write_bytes(simple_pdf())
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")} | {"EDOC_DATA_DIR": str(tmp_path)}
    signed = subprocess.run(
        [str(EDOC), "sign", str(tmp_path / "doc.pdf"), "-o", str(tmp_path / "signed.pdf"),
         "--key", f"p12:{tmp_path / 'leaf.p12'}"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert signed.returncode == 0, signed.stderr
    der = pem.unarmor((tmp_path / "ca.pem").read_bytes())[2]
    anchors = {"test-ca": [{"path": str(tmp_path / "ca.pem"), "sha256": hashlib.sha256(der).hexdigest()}]}
    server = GatewayProcess(
        tmp_path, database_url=f"sqlite:///{tmp_path / 'edoc.sqlite3'}", embedded_worker="false",
        trust_sets=json.dumps(anchors),
    ).start()
    try:
        for _ in range(2):
            resp = httpx.post(
                f"{server.base}/verify",
                files={"file": ("signed.pdf", (tmp_path / "signed.pdf").read_bytes(), "application/pdf")},
                timeout=60,
            )
            assert resp.status_code == 200 and "Chưa xác định" in resp.text, resp.text[-2000:]
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log, log
    assert "DeprecationWarning" not in log, log
    assert "InsufficientRevinfoError" not in log, log
