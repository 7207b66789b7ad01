"""``edoc sign --remote NAME --credential ID`` through the real typer app against the local VNPT SmartCA test server:
the progress line while the official decides, a signed file only after confirmation, one Vietnamese line and
exit 1 when the official refuses, the window closes, ``--timeout`` passes or the service is away."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from signing.pdf.trust import TrustStore
from signing.pdf.verify import verify_pdf
from tests.support import remote_vn
from tests.support.pdfs import simple_pdf
from tests.support.pki import TestPki
from tests.support.remote_vn import SmartCAServer, load_test_key
from tests.support.server import free_port

SECRET_ENV = "EDOC_TEST_CLI_SP_PASSWORD"


@pytest.fixture
def smartca(test_pki: TestPki) -> Iterator[SmartCAServer]:
    server = SmartCAServer(load_test_key(*test_pki.signer("good-rsa")[:2])).start()
    yield server  # type: ignore[misc]
    server.stop()


def configure(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    signers = {"vnpt": {"url": url, "options": {"sp_id": remote_vn.SP_ID}, "secret_env": {"sp_password": SECRET_ENV}}}
    monkeypatch.setenv("EDOC_REMOTE_SIGNERS", json.dumps(signers))
    monkeypatch.setenv(SECRET_ENV, remote_vn.SP_PASSWORD)
    for name in ("EDOC_TRUST_SETS", "EDOC_TSA_URL"):
        monkeypatch.delenv(name, raising=False)


def run_while(server: SmartCAServer, act: Callable[[], None] | None, args: list[str]) -> tuple[int, str]:
    """Run ``edoc`` with ``args``; ``act`` plays the official's phone once the request has arrived."""
    def phone() -> None:
        deadline = time.monotonic() + 30
        while not server.txs and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # let the command show it is waiting
        if act is not None:
            act()

    thread = threading.Thread(target=phone)
    thread.start()
    result = CliRunner().invoke(app, args)
    thread.join()
    return result.exit_code, result.output


def sign_args(tmp_path: Path, *extra: str) -> tuple[list[str], Path]:
    src, out = tmp_path / "cong-van.pdf", tmp_path / "signed.pdf"
    src.write_bytes(simple_pdf(1))
    return ["sign", str(src), "-o", str(out), "--remote", "vnpt", "--credential", remote_vn.USER, *extra], out


def test_waits_for_the_phone_then_writes_a_signed_file(smartca, tmp_path, monkeypatch):
    configure(monkeypatch, smartca.url)
    args, out = sign_args(tmp_path)
    code, output = run_while(smartca, smartca.confirm, args)
    assert code == 0, output
    assert "Đang chờ người ký xác nhận trên điện thoại… 0:0" in output
    report = verify_pdf(out.read_bytes(), trust=TrustStore.from_config({}))
    assert report.signatures[0].integrity and report.signatures[0].signer.common_name == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("act", "extra", "words"),
    [
        ("reject", (), "Người ký đã từ chối ký trên điện thoại"),
        ("expire", (), "Hết thời gian chờ xác nhận"),
        (None, ("--timeout", "1"), "Hết thời gian chờ xác nhận"),
    ],
)
def test_no_signature_is_one_line_and_no_file(smartca, tmp_path, monkeypatch, act, extra, words):
    configure(monkeypatch, smartca.url)
    args, out = sign_args(tmp_path, *extra)
    code, output = run_while(smartca, getattr(smartca, act) if act else None, args)
    assert code == 1 and not out.exists()
    last = output.strip().splitlines()[-1]
    assert last.startswith("error: ") and words in last and "Traceback" not in output


def test_provider_unreachable_and_unknown_names(tmp_path, monkeypatch):
    configure(monkeypatch, f"vnpt-smartca+http://127.0.0.1:{free_port()}/sca/sp769")
    args, out = sign_args(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "Không kết nối được dịch vụ ký số từ xa" in result.output and not out.exists()
    assert remote_vn.SP_PASSWORD not in result.output
    unknown = CliRunner().invoke(app, [*args[:4], "--remote", "nope", "--credential", "x"])
    assert unknown.exit_code == 1 and "no remote signer named 'nope'" in unknown.output
    both = CliRunner().invoke(app, [*args, "--key", "p12:/nowhere"])
    assert both.exit_code == 1 and "--key or --remote" in both.output


def test_b_lt_checks_the_signer_before_the_official_is_asked(smartca, tmp_path, monkeypatch, test_pki):
    # The test PKI's responders answer as of its pinned moment, so "now" the signer cannot be validated: B-LT must
    # refuse it with the reason, before the official's phone rings, not after (signing/pdf tests cover B-LT).
    configure(monkeypatch, smartca.url)
    args, out = sign_args(tmp_path, "--level", "B-LT", "--tsa", test_pki.tsa_url)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "[certificate_rejected]" in result.output and not out.exists()
    assert smartca.sign_requests == 0
