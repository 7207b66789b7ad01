"""``edoc verify`` over many files (issue 18 item 5) and the ETSI indication in its table (issue 16 item 10)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.unit.signing.test_pdf_verify_kit import base_pdf, sign


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("EDOC_TRUST_SETS", "EDOC_REVOCATION_MODE", "EDOC_REVOCATION_OFFLINE", "EDOC_VERIFY_MAX_SIGNATURES"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture(scope="module")
def folder(test_pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """good.pdf (valid), tampered.pdf (invalid), untrusted.pdf (undetermined), notes.pdf (not a PDF)."""
    root = tmp_path_factory.mktemp("batch")
    good = sign(base_pdf(), test_pki, "good-rsa", timestamp=True)  # the TSA's time is proof: no stale-CRL doubt
    (root / "good.pdf").write_bytes(good)
    at = good.index(b"/DCTDecode") + 300
    (root / "sub").mkdir()
    (root / "sub" / "tampered.pdf").write_bytes(good[:at] + bytes([good[at] ^ 1]) + good[at + 1 :])
    (root / "untrusted.pdf").write_bytes(sign(base_pdf(), test_pki, "untrusted", timestamp=True))
    (root / "notes.pdf").write_bytes(b"hello")
    return root


def _args(test_pki, *paths: Path | str) -> list[str]:
    return ["verify", *map(str, paths), "--trust", str(test_pki.root_pem_path), "--soft-fail"]


def test_single_file_table_shows_the_etsi_indication(runner, test_pki, folder):  # absent before (issue 16)
    result = runner.invoke(app, _args(test_pki, folder / "untrusted.pdf"))
    assert result.exit_code == 2, result.output
    assert "Chỉ dấu ETSI: INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND" in result.output
    assert "Chỉ dấu ETSI" in result.output.split("Chữ ký 1")[1]  # and a row of the signature's table


def test_directory_is_verified_in_one_process_with_a_summary(runner, test_pki, folder):  # one file only before
    result = runner.invoke(app, _args(test_pki, folder))
    assert result.exit_code == 1, result.output  # worst outcome: one file is invalid
    out = result.stdout
    for name in ("good.pdf", "tampered.pdf", "untrusted.pdf", "notes.pdf"):
        assert name in out
    assert "TOTAL_PASSED" in out and "HASH_FAILURE" in out and "not_a_pdf" in out
    assert "Hợp lệ: 1" in out and "Không hợp lệ: 1" in out and "Không kiểm tra được: 1" in out


def test_json_lines_one_report_per_file(runner, test_pki, folder):
    result = runner.invoke(app, [*_args(test_pki, folder / "good.pdf", folder / "notes.pdf"), "--json"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(Path(x["path"]).name, x["exit_code"]) for x in lines] == [("good.pdf", 0), ("notes.pdf", 3)]
    assert lines[0]["indication"] == "TOTAL_PASSED" and lines[1]["error"]["code"] == "not_a_pdf"
    assert result.exit_code == 3


def test_encrypted_file_is_one_vietnamese_line_exit_3(runner, test_pki, tmp_path):
    from pyhanko.pdf_utils.writer import PdfFileWriter

    w = PdfFileWriter()
    w.encrypt("owner", "user")
    buf = io.BytesIO()
    w.write(buf)
    path = tmp_path / "secret.pdf"
    path.write_bytes(buf.getvalue())
    result = runner.invoke(app, _args(test_pki, path))
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1
    assert "mã hóa" in result.output and "pdf_encrypted" in result.output


def test_max_signatures_option_refuses(runner, test_pki, folder):
    result = runner.invoke(app, [*_args(test_pki, folder / "good.pdf"), "--max-signatures", "0"])
    assert result.exit_code == 3 and "too_many_signatures" in result.output


def _launch(*args: str, probe: bool = False):
    import subprocess
    import sys

    code = "import sys; from service.launch import main; sys.argv = ['edoc', *sys.argv[1:]]; main()"
    if probe:  # report which heavy packages the process had loaded when it ended
        code = (
            "import atexit, sys; atexit.register(lambda: sys.stderr.write('LOADED:' + ','.join("
            "m for m in ('typer', 'pyhanko', 'rich', 'pydantic') if m in sys.modules)))\n" + code
        )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def test_edoc_verify_reads_the_file_before_heavy_imports(tmp_path):  # typer, rich, pydantic loaded first before
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"hello")
    result = _launch("verify", str(path), probe=True)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {path}: not a PDF file"
    assert lines[-1].endswith("LOADED:")  # none of them


def test_edoc_verify_entry_point_verifies(test_pki, folder):
    trust = ("--trust", str(test_pki.root_pem_path), "--soft-fail")
    result = _launch("verify", str(folder / "good.pdf"), "--json", *trust)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["indication"] == "TOTAL_PASSED"


@pytest.mark.parametrize("seed", range(8))
def test_mutated_files_end_in_a_verdict_or_one_line(runner, test_pki, folder, tmp_path, seed):
    """Issue 18: every run ends with a report (exit 0/1/2) or exit 3 with one line, never a traceback."""
    import random

    data = bytearray((folder / "good.pdf").read_bytes())
    rng = random.Random(seed)
    for _ in range(1 + seed):
        at = rng.randrange(len(data))
        if seed % 2:
            del data[at : at + rng.randrange(1, 2000)]
        else:
            data[at] = rng.randrange(256)
    path = tmp_path / "mutated.pdf"
    path.write_bytes(bytes(data))
    result = runner.invoke(app, [*_args(test_pki, path), "--json"])
    assert result.exit_code in (0, 1, 2, 3)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = result.stdout.splitlines()
    body = json.loads(line)
    assert body["exit_code"] == result.exit_code
    assert ("indication" in body) != ("error" in body)
