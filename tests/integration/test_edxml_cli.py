"""``edoc edxml validate`` accepts real packages, and ``edoc edxml show`` gives the XML-signature verdict offline
(issue 16 item 2): a field quirk is a warning (exit 0), what is invalid against the schema an error (exit 1), and a
package whose signature does not verify is never shown as signed-and-fine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import XMLSigner, methods
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from typer.testing import CliRunner

from schemas.edxml import build_edoc
from service.cli import app
from signing.demo import demo_certificate
from signing.keys import KeyMaterial
from signing.xmldsig import sign_package
from tests.unit.schemas.conftest import make_edoc

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "name", ["edoc.edxml", "edoc_revocation.edxml", "edoc_update.edxml", "edoc_replacement.edxml"]
)
def test_validate_accepts_the_signed_field_samples_with_warnings(samples_dir: Path, name: str) -> None:
    code, out = _run("edxml", "validate", str(samples_dir / name))
    assert code == 0, out
    assert "valid with" in out and "warning" in out and ": invalid " not in out


def test_validate_refuses_the_sample_whose_recipient_cannot_be_routed(samples_dir: Path) -> None:
    code, out = _run("edxml", "validate", str(samples_dir / "edoc_new.edxml"))
    assert code == 1
    invalid = [line for line in out.splitlines() if " invalid " in line]
    assert len(invalid) == 1 and "To/OrganId" in invalid[0] and "28.22.H17" in invalid[0]
    assert "warning (field quirk impossible_date)" in out


def _key() -> KeyMaterial:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return KeyMaterial(private_key=key, certificate=demo_certificate(key, common_name="TEST ONLY", organization="t"))


class _Sha1Signer(XMLSigner):
    """signxml refuses to sign with SHA-1; old DMS still do, and the verdict for that is "weak"."""

    def check_deprecated_methods(self) -> None:
        return None


def _sha1_signed(data: bytes) -> bytes:
    key = _key()
    signer = _Sha1Signer(method=methods.enveloped, signature_algorithm=SignatureMethod.RSA_SHA1,
                         digest_algorithm=DigestAlgorithm.SHA1,
                         c14n_algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
    signed = signer.sign(etree.fromstring(data), key=key.private_key, cert=[key.certificate])
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def _verdict(path: Path) -> dict[str, object]:
    code, out = _run("edxml", "show", str(path), "--json")
    assert code == 0, out
    verdict: dict[str, object] = json.loads(out)["xml_signature"]
    assert "signed" not in json.loads(out)["fields"]
    return verdict


def test_show_gives_the_signature_verdict(samples_dir: Path, tmp_path: Path) -> None:
    for name in ("edoc.edxml", "edoc_new.edxml"):  # the kit's signatures cannot be verified
        verdict = _verdict(samples_dir / name)
        assert verdict["verdict"] == "invalid" and verdict["problems"]
    unsigned = build_edoc(make_edoc())
    cases = {
        "absent": unsigned,
        "valid": sign_package(unsigned, _key()),
        "weak": _sha1_signed(unsigned),
        "invalid": sign_package(unsigned, _key()).replace("Nghệ An".encode(), "Hà Tĩnh".encode(), 1),
    }
    for expected, data in cases.items():
        path = tmp_path / f"{expected}.edxml"
        path.write_bytes(data)
        assert _verdict(path)["verdict"] == expected
    code, out = _run("edxml", "show", str(tmp_path / "invalid.edxml"))
    assert code == 0 and "invalid: the signature does not verify" in out and "changed after signing" in out
