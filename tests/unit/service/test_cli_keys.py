"""``edoc keys init``: the production key files with their modes, a second run that refuses, a vkey that parses,
and a node key the node itself loads (with the password the command wrote)."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from service.cli import app
from signing.demo import PLACEHOLDER_MARK
from signing.keys import load_pkcs12
from storage.tlog.note import Verifier

runner = CliRunner()


def _init(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"EDOC_DATA_DIR": str(tmp_path / "data"), "EDOC_NODE_ID": "000.00.00.H53"}
    result = runner.invoke(app, ["keys", "init", "--out", str(tmp_path / "keys"), *args], env=env)
    return result.exit_code, result.output


def test_keys_init_creates_the_files_and_refuses_to_overwrite(tmp_path: Path) -> None:
    code, output = _init(tmp_path, "--node-id", "000.00.00.H99", "--organisation", "Sở TT&TT")
    assert code == 0, output
    keys = tmp_path / "keys"
    for name in ("log-ed25519.pem", "node.p12", "node.env"):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert f"EDOC_LOG_KEY_FILE={keys / 'log-ed25519.pem'}" in output
    assert f"EDOC_NODE_KEY_FILE={keys / 'node.p12'}" in output
    assert output.index("Đặt các biến") < output.index("Set these variables")
    vkey = output.strip().splitlines()[-1]
    verifier = Verifier.parse(vkey)
    assert verifier.name == "000.00.00.H99"
    password = (keys / "node.env").read_text().split("EDOC_NODE_KEY_PASSWORD=")[1].strip()
    material = load_pkcs12(keys / "node.p12", password.encode())
    ou = material.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    assert ou == PLACEHOLDER_MARK and "replace with the certificate your CA issues" in ou
    before = (keys / "log-ed25519.pem").read_bytes()
    code, output = _init(tmp_path)
    assert code == 1 and output.startswith("error: refusing to overwrite") and len(output.strip().splitlines()) == 1
    assert (keys / "log-ed25519.pem").read_bytes() == before


def test_keys_init_with_a_pkcs11_token_writes_only_the_log_key(tmp_path: Path) -> None:
    code, output = _init(tmp_path, "--pkcs11-token", "edoc-node", "--pkcs11-module", "/usr/lib/softhsm/libsofthsm2.so")
    assert code == 0, output
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["log-ed25519.pem"]
    assert "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=edoc-node" in output
    Verifier.parse(output.strip().splitlines()[-1])
    code, output = _init(tmp_path, "--pkcs11-token", "edoc-node")
    assert code == 1 and output.startswith("error: --pkcs11-token and --pkcs11-module go together")
