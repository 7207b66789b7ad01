"""``edoc archive verify`` re-verifies the PAdES signatures inside an AIP (issue 20 item 7): an AIP holding a PDF
signed with the test PKI passes; a byte flipped inside the signed range of that PDF in an unpacked AIP is reported
on its own line (beside the manifest mismatch), naming the verdict now and the one recorded at ingest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.archive.archiving import sweep
from service.cli import app
from storage import archive as repo
from tests.integration.test_archive import complete_exchange
from tests.integration.test_signing_api import KEY_ENV, signature_settings, signed_pdf, tamper, trust_sets
from tests.support.gateway import gateway_env


def test_archive_verify_rechecks_the_pades_signatures(empty_database_url: str, test_pki, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, test_pki.signer("good-rsa")[1].decode())
    urls = ((tmp_path / "copy-1").as_uri(),)
    variables = {"EDOC_DATABASE_URL": empty_database_url, "EDOC_DATA_DIR": str(tmp_path),
                 "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri(), "EDOC_ARCHIVE_URLS": ",".join(urls),
                 "EDOC_TRUST_SETS": json.dumps(trust_sets(test_pki)), "EDOC_VERIFY_MAX_BYTES": "400000"}
    runner = CliRunner()
    for env in gateway_env(empty_database_url, tmp_path, archive_urls=urls, archive_sweep_seconds=0,
                           **signature_settings(test_pki)):
        doc = complete_exchange(env, pdf=signed_pdf(test_pki))
        assert sweep(env.gw) == 1
        env.deliver()
        with env.gw.sessions() as session:
            aip = repo.aip_of_package(session, doc)
            assert aip is not None and aip.state == "complete"
            [copy] = repo.copies_of(session, aip.id)
        recorded = json.loads((tmp_path / "copy-1" / _key(copy.files["documentation/verification.json"]["sha256"]))
                              .read_bytes())
        assert recorded["attachments"][0]["verification"]["indication"] == "TOTAL_PASSED"

        ok = runner.invoke(app, ["archive", "verify", aip.id], env=variables)
        assert ok.exit_code == 0 and "intact" in ok.output, ok.output

        folder = tmp_path / "unpacked"
        for path, entry in copy.files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes((tmp_path / "copy-1" / _key(entry["sha256"])).read_bytes())
        ok = runner.invoke(app, ["archive", "verify", str(folder)], env=variables)
        assert ok.exit_code == 0, ok.output

        # the same bytes, verified without the test root among the trust anchors: another verdict than at ingest
        untrusted = {**variables, "EDOC_TRUST_SETS": "{}", "EDOC_TRUST_BUNDLED": "false"}
        other = runner.invoke(app, ["archive", "verify", str(folder)], env=untrusted)
        assert other.exit_code == 1
        [line] = other.output.strip().splitlines()
        assert "kết quả kiểm tra chữ ký PAdES khác lúc lưu trữ: nay INDETERMINATE" in line, line
        assert "lúc lưu trữ TOTAL_PASSED" in line and "/ PAdES result differs from ingest" in line, line

        [pdf] = (folder / "representations" / "rep1" / "data" / "attachments").iterdir()
        pdf.write_bytes(tamper(pdf.read_bytes()))
        bad = runner.invoke(app, ["archive", "verify", str(folder)], env=variables)
        assert bad.exit_code == 1
        lines = bad.output.strip().splitlines()
        name = f"representations/rep1/data/attachments/{pdf.name}"
        assert any(line.startswith(f"{name}: SHA-256") for line in lines), lines  # the manifest mismatch
        [pades] = [line for line in lines if "PAdES" in line]
        assert pades.startswith(f"{name}: chữ ký số PAdES không còn hợp lệ (TOTAL_FAILED/HASH_FAILURE; "
                                "lúc lưu trữ: TOTAL_PASSED)"), pades
        assert "Traceback" not in bad.output


def _key(sha: str) -> str:
    return f"{sha[:2]}/{sha[2:4]}/{sha}"
