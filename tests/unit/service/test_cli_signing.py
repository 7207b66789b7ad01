"""``edoc sign`` / ``edoc verify`` through the real typer app against the test PKI (live TSA/OCSP/CRL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.support.pki.pdfs import make_pdf

PASSWORD_ENV = "EDOC_TEST_P12_PASSWORD"


def tamper(signed: bytes) -> bytes:
    """Flip one byte inside the JPEG of page 1: inside the signed range, still a parseable PDF."""
    at = signed.index(b"stream", signed.index(b"/DCTDecode")) + 500
    return signed[:at] + bytes([signed[at] ^ 0xFF]) + signed[at + 1 :]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, test_pki) -> CliRunner:
    for name in ("EDOC_TRUST_SETS", "EDOC_TSA_URL", "EDOC_REVOCATION_MODE", "EDOC_REVOCATION_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(PASSWORD_ENV, test_pki.signer("good-rsa")[1].decode())
    return CliRunner()


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "cong-van.pdf"
    path.write_bytes(make_pdf(pages=2, size=40_000))
    return path


def sign_args(test_pki, src: Path, dst: Path, *extra: str, signer: str = "good-rsa") -> list[str]:
    p12 = test_pki.signer(signer)[0]
    return ["sign", str(src), "-o", str(dst), "--key", f"p12:{p12}", "--password-env", PASSWORD_ENV, *extra]


@pytest.fixture
def signed_bt(runner, test_pki, pdf, tmp_path) -> Path:
    out = tmp_path / "signed.pdf"
    result = runner.invoke(app, sign_args(test_pki, pdf, out, "--level", "B-T", "--tsa", test_pki.tsa_url))
    assert result.exit_code == 0, result.output
    return out


def test_sign_then_verify_prints_vietnamese_summary(runner, test_pki, signed_bt):
    result = runner.invoke(app, ["verify", str(signed_bt), "--trust", str(test_pki.root_pem_path)])
    assert result.exit_code == 0, result.output
    assert "Kết luận: Chữ ký hợp lệ" in result.output
    assert "Nguyễn Văn An" in result.output and "Tổ chức cấp chứng thư" in result.output


def test_verify_json_prints_only_the_report(runner, test_pki, signed_bt):
    result = runner.invoke(app, ["verify", str(signed_bt), "--json", "--trust", str(test_pki.root_pem_path)])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["indication"] == "TOTAL_PASSED"
    assert report["signatures"][0]["signer"]["common_name"] == "Nguyễn Văn An"


def test_verify_english_and_receipt(runner, test_pki, signed_bt, tmp_path):
    receipt = tmp_path / "receipt.pdf"
    args = ["verify", str(signed_bt), "--lang", "en", "--receipt", str(receipt), "--trust", str(test_pki.root_pem_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "Result: Signature valid" in result.output
    assert receipt.read_bytes().startswith(b"%PDF-")


def test_tampered_file_exits_1(runner, test_pki, signed_bt, tmp_path):
    bad = tmp_path / "tampered.pdf"
    bad.write_bytes(tamper(signed_bt.read_bytes()))
    result = runner.invoke(app, ["verify", str(bad), "--trust", str(test_pki.root_pem_path)])
    assert result.exit_code == 1, result.output
    assert "Chữ ký không hợp lệ" in result.output


def test_untrusted_root_exits_2(runner, test_pki, signed_bt):
    result = runner.invoke(app, ["verify", str(signed_bt), "--trust", str(test_pki.untrusted_root_pem_path)])
    assert result.exit_code == 2
    assert "Chưa xác định được tính hợp lệ" in result.output


def test_configured_trust_sets_are_used(runner, test_pki, signed_bt, monkeypatch):
    import hashlib

    from asn1crypto import pem

    der = pem.unarmor(test_pki.root_pem_path.read_bytes())[2]
    sets = {"test": [{"path": str(test_pki.root_pem_path), "sha256": hashlib.sha256(der).hexdigest()}]}
    monkeypatch.setenv("EDOC_TRUST_SETS", json.dumps(sets))
    assert runner.invoke(app, ["verify", str(signed_bt)]).exit_code == 0
    sets["test"][0]["sha256"] = "00" * 32
    monkeypatch.setenv("EDOC_TRUST_SETS", json.dumps(sets))
    result = runner.invoke(app, ["verify", str(signed_bt)])
    assert result.exit_code == 3 and "trust_fingerprint_mismatch" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"hello, not a pdf", "not a PDF file")],
)
def test_verify_bad_input_is_one_line_error(runner, tmp_path, content, message):
    path = tmp_path / "input.pdf"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["verify", str(path)])
    assert result.exit_code == 3
    assert result.output.startswith("error:") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_sign_with_stamp_certify_and_pss(runner, test_pki, pdf, tmp_path):
    # B-LT is not exercised here: the test PKI's OCSP answers as of its pinned time, so collecting revocation
    # data "now" fails by design (signing/pdf tests cover B-LT with a pinned moment).
    out = tmp_path / "stamped.pdf"
    extra = ("--level", "B-T", "--tsa", test_pki.tsa_url, "--attachment-stamp", "Số: 05/BNV-VP", "--certify", "--pss")
    result = runner.invoke(app, sign_args(test_pki, pdf, out, *extra))
    assert result.exit_code == 0, result.output
    verified = runner.invoke(app, ["verify", str(out), "--json", "--trust", str(test_pki.root_pem_path)])
    report = json.loads(verified.stdout)
    assert verified.exit_code == 0, report
    assert report["signatures"][0]["algorithms"]["signature"].startswith("rsassa_pss")
    assert b"/DocMDP" in out.read_bytes()


def test_sign_with_seal_image_at_anchor(runner, test_pki, pdf, tmp_path):
    from io import BytesIO

    from PIL import Image

    seal = tmp_path / "seal.png"
    buf = BytesIO()
    Image.new("RGBA", (80, 80), (200, 0, 0, 128)).save(buf, "PNG")
    seal.write_bytes(buf.getvalue())
    out = tmp_path / "sealed.pdf"
    result = runner.invoke(app, sign_args(test_pki, pdf, out, "--seal", str(seal), "--anchor", "[[CHU_KY]]"))
    assert result.exit_code == 0, result.output
    assert b"/Subtype /Image" in out.read_bytes() or b"/Subtype/Image" in out.read_bytes()


@pytest.mark.parametrize(
    ("extra", "env", "message"),
    [
        (("--level", "B-X"), {}, "unknown level 'B-X'"),
        ((), {PASSWORD_ENV: "wrong"}, "cannot decrypt PKCS#12 file"),
        (("--box", "1,2,3"), {}, "box is PAGE,X1,Y1,X2,Y2"),
        (("--box", "1,a,b,c,d"), {}, "expected PAGE,X1,Y1,X2,Y2"),
        (("--level", "B-T"), {}, "needs a time-stamping authority URL"),
    ],
)
def test_sign_bad_input_is_one_line_error(runner, test_pki, pdf, tmp_path, monkeypatch, extra, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out.pdf"
    if "--box" in extra:
        extra = (*extra, "--image", str(pdf))  # any existing file: the box is checked first
    result = runner.invoke(app, sign_args(test_pki, pdf, out, *extra))
    assert result.exit_code == 1
    assert result.output.startswith("error:") and message in result.output, result.output
    assert not out.exists()


def test_sign_refuses_a_non_pdf(runner, test_pki, tmp_path):
    src = tmp_path / "note.txt"
    src.write_text("not a pdf")
    result = runner.invoke(app, sign_args(test_pki, src, tmp_path / "out.pdf"))
    assert result.exit_code == 1 and "not a PDF file" in result.output
