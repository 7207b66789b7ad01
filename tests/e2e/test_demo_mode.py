"""`edoc serve --demo` on a fresh folder (the README's first command): demo agencies and keys are printed and the
gateway answers with them; a restart reuses them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import EDOC, ROOT, free_port, wait_ready

pytestmark = pytest.mark.slow


def _serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
    return subprocess.Popen(
        [str(EDOC), "serve", "--demo", "--port", str(port), "--data-dir", str(folder / "var")],
        cwd=ROOT,
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    try:
        ready = wait_ready(base, proc=proc)
    except RuntimeError as exc:
        raise AssertionError(f"{exc}: {proc.stdout.read().decode() if proc.stdout else ''}") from exc
    assert ready, "demo gateway did not become ready"


def test_demo_prints_keys_that_work(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, port)
    try:
        _wait_ready(base, proc)
        keys = json.loads((tmp_path / "var" / "demo-keys.json").read_text(encoding="utf-8"))
        assert "TEST ONLY" in keys["warning"]
        sender = next(c for c in keys["clients"] if c["name"] == "demo-dms-sotttt")
        receiver = next(c for c in keys["clients"] if c["name"] == "demo-dms-sonv")
        header = {
            "from": sender["agency"],
            "to": [receiver["agency"]],
            "code": {"number": "1", "notation": "DEMO"},
            "subject": "Thử nghiệm chế độ demo",
        }
        resp = httpx.post(
            f"{base}/api/v1/edocs",
            data={"header": json.dumps(header)},
            files=[("files", ("a.pdf", b"%PDF-1.4 demo", "application/pdf"))],
            headers={"Authorization": f"Bearer {sender['api_key']}"},
        )
        assert resp.status_code == 202, resp.text
        deadline = time.monotonic() + 20
        items: list[object] = []
        while not items and time.monotonic() < deadline:
            items = httpx.get(
                f"{base}/api/v1/inbox", headers={"Authorization": f"Bearer {receiver['api_key']}"}
            ).json()["items"]
            time.sleep(0.1)
        assert len(items) == 1
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert sender["api_key"] in out and "TEST ONLY" in out  # the keys were printed at start

    proc = _serve(tmp_path, port)  # a restart on the same folder reuses the demo data
    try:
        _wait_ready(base, proc)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert sender["api_key"] in out
