"""PAdES signing against the test PKI: every level validates (pyHanko, trust root = test root, pinned time),
RSA PKCS#1 v1.5 / PSS / ECDSA, sequences of signatures, certification, poppler's pdfsig, and error codes."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing.pdf import Appearance, LongTermSettings, PdfSigningError, key_source_from_spec, sign_pdf
from signing.pdf.keysources import KeySource
from tests.support.env import require_executable
from tests.support.pki import TestPki
from tests.support.pki.pdfs import make_pdf

PDF = make_pdf(pages=3, size=60_000)


def _key(pki: TestPki, name: str = "good-rsa") -> KeySource:
    path, password, _ = pki.signer(name)
    return key_source_from_spec(f"p12:{path}", secret=password)


def _context(pki: TestPki) -> ValidationContext:
    root = asn1_x509.Certificate.load(pki.root_cert.public_bytes(Encoding.DER))
    return ValidationContext(trust_roots=[root], moment=pki.now, allow_fetching=True, revocation_mode="hard-fail")


def _statuses(pki: TestPki, signed: bytes) -> list:
    reader = PdfFileReader(io.BytesIO(signed))
    return [validate_pdf_signature(sig, _context(pki)) for sig in reader.embedded_regular_signatures]


def _long_term(pki: TestPki) -> LongTermSettings:
    return LongTermSettings(trust_roots=(pki.root_cert,), moment=pki.now)


def _pdfsig(path: Path) -> list[dict[str, str]]:
    exe = require_executable("pdfsig", "install poppler-utils")
    out = subprocess.run([exe, "-nocert", str(path)], capture_output=True, text=True, check=False).stdout
    blocks = re.split(r"^Signature #\d+:$", out, flags=re.M)[1:]
    return [{"valid": "Signature is Valid" in b, "total": "Total document signed" in b, "text": b}
            for b in blocks]


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_each_level_validates_against_the_test_root(test_pki: TestPki, level: str) -> None:
    signed = sign_pdf(PDF, key=_key(test_pki), level=level, tsa_url=test_pki.tsa_url,
                      long_term=_long_term(test_pki))
    assert signed is not None and signed.startswith(PDF)  # an incremental update of the original
    [status] = _statuses(test_pki, signed)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert (status.timestamp_validity is not None) == (level != "B-B")
    reader = PdfFileReader(io.BytesIO(signed))
    assert ("/DSS" in reader.root) == (level in ("B-LT", "B-LTA"))
    assert len(reader.embedded_timestamp_signatures) == (1 if level == "B-LTA" else 0)


def test_b_t_timestamp_comes_from_the_local_tsa(test_pki: TestPki) -> None:
    signed = sign_pdf(PDF, key=_key(test_pki), level="B-T", tsa_url=test_pki.tsa_url)
    [status] = _statuses(test_pki, signed)
    ts = status.timestamp_validity
    assert ts is not None and ts.trusted and ts.timestamp == test_pki.now
    assert ts.signing_cert.subject.native["common_name"] == "Edoc Test Time-Stamping Authority"


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_files_validate_from_embedded_data_alone(test_pki: TestPki, level: str) -> None:
    signed = sign_pdf(PDF, key=_key(test_pki), level=level, tsa_url=test_pki.tsa_url,
                      long_term=_long_term(test_pki))
    reader = PdfFileReader(io.BytesIO(signed))
    root = asn1_x509.Certificate.load(test_pki.root_cert.public_bytes(Encoding.DER))
    offline = DocumentSecurityStore.read_dss(reader).as_validation_context({
        "trust_roots": [root], "moment": test_pki.now, "allow_fetching": False, "revocation_mode": "hard-fail",
    })
    status = validate_pdf_signature(reader.embedded_regular_signatures[0], offline, offline)
    assert status.bottom_line


@pytest.mark.parametrize(("name", "pss", "mechanism"), [
    ("good-rsa", False, "sha256_rsa"),
    ("good-rsa", True, "rsassa_pss"),
    ("good-ec", False, "sha256_ecdsa"),
])
def test_algorithms(test_pki: TestPki, name: str, pss: bool, mechanism: str) -> None:
    signed = sign_pdf(PDF, key=_key(test_pki, name), pss=pss)
    [status] = _statuses(test_pki, signed)
    assert status.bottom_line
    assert status.md_algorithm == "sha256"
    assert status.pkcs7_signature_mechanism == mechanism


@pytest.mark.parametrize("digest", ["sha384", "sha512"])
def test_stronger_digests(test_pki: TestPki, digest: str) -> None:
    [status] = _statuses(test_pki, sign_pdf(PDF, key=_key(test_pki, "good-ec"), digest=digest))
    assert status.bottom_line and status.md_algorithm == digest


def test_signer_then_organisation_both_stay_valid(test_pki: TestPki) -> None:
    first = sign_pdf(PDF, key=_key(test_pki, "good-rsa"), level="B-T", tsa_url=test_pki.tsa_url,
                     reason="Ký ban hành", certify=True)
    second = sign_pdf(first, key=_key(test_pki, "good-ec"), level="B-T", tsa_url=test_pki.tsa_url,
                      reason="Đóng dấu cơ quan")
    statuses = _statuses(test_pki, second)
    assert len(statuses) == 2
    assert all(s.bottom_line for s in statuses)
    assert [s.signing_cert.subject.native["common_name"] for s in statuses] == ["Nguyễn Văn An", "Trần Thị Bình"]


def test_certification_sets_docmdp(test_pki: TestPki) -> None:
    signed = sign_pdf(PDF, key=_key(test_pki), certify=True)
    reader = PdfFileReader(io.BytesIO(signed))
    assert "/DocMDP" in reader.root["/Perms"]
    [status] = _statuses(test_pki, signed)
    assert status.docmdp_ok and status.bottom_line
    sig = reader.embedded_regular_signatures[0]
    assert sig.docmdp_level is not None


def test_pdfsig_accepts_our_signatures_as_covering_the_document(test_pki: TestPki, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    first = sign_pdf(PDF, key=_key(test_pki), level="B-T", tsa_url=test_pki.tsa_url, pss=True)
    sign_pdf(first, key=_key(test_pki, "good-ec"), level="B-B",
             appearance=Appearance.attachment("Số: 05/BNV-VP"), output=path)
    results = _pdfsig(path)
    assert len(results) == 2 and all(r["valid"] for r in results), results
    assert results[-1]["total"], results[-1]["text"]  # the last signature covers the whole file
    assert "Nguyễn Văn An" in results[0]["text"]


@pytest.mark.parametrize("level", ["B-B", "B-T"])
def test_pdfsig_total_document_for_single_signature(test_pki: TestPki, tmp_path: Path, level: str) -> None:
    path = tmp_path / "signed.pdf"
    sign_pdf(PDF, key=_key(test_pki, "good-ec"), level=level, tsa_url=test_pki.tsa_url, output=path)
    [result] = _pdfsig(path)
    assert result["valid"] and result["total"], result["text"]


def test_path_in_path_out_signs_in_place_without_touching_the_input(test_pki: TestPki, tmp_path: Path) -> None:
    src, dst = tmp_path / "in.pdf", tmp_path / "out.pdf"
    src.write_bytes(PDF)
    assert sign_pdf(src, key=_key(test_pki), output=dst) is None
    assert src.read_bytes() == PDF
    [status] = _statuses(test_pki, dst.read_bytes())
    assert status.bottom_line


def test_stream_output(test_pki: TestPki) -> None:
    out = io.BytesIO()
    assert sign_pdf(PDF, key=_key(test_pki), output=out) is None
    assert _statuses(test_pki, out.getvalue())[0].bottom_line


def test_key_source_is_cached_and_never_shows_secrets(test_pki: TestPki) -> None:
    path, password, _ = test_pki.signer("good-rsa")
    first = key_source_from_spec(f"p12:{path}", secret=password)
    assert key_source_from_spec(f"p12:{path}", secret=password) is first
    assert password.decode() not in repr(first) and password.decode() not in first.spec


def test_key_source_secret_from_environment(test_pki: TestPki, monkeypatch: pytest.MonkeyPatch) -> None:
    path, password, _ = test_pki.signer("good-ec")
    monkeypatch.setenv("EDOC_TEST_P12_PASSWORD", password.decode())
    key = key_source_from_spec(f"p12:{path}", secret_env="EDOC_TEST_P12_PASSWORD")
    assert key.key_algorithm == "ecdsa"
    monkeypatch.delenv("EDOC_TEST_P12_PASSWORD")
    with pytest.raises(PdfSigningError) as err:
        key_source_from_spec(f"p12:{path}", secret_env="EDOC_TEST_P12_PASSWORD")
    assert err.value.code == "pin_missing"


@pytest.mark.parametrize(("spec", "secret", "code"), [
    ("pem:/x.pem", None, "key_source_invalid"),
    ("pkcs11:module=/nonexistent.so;token=t", "1", "key_source_invalid"),
    ("p12:/nonexistent/file.p12", b"x", "key_source_invalid"),
])
def test_bad_key_specs(spec: str, secret: object, code: str) -> None:
    with pytest.raises(PdfSigningError) as err:
        key_source_from_spec(spec, secret=secret)  # type: ignore[arg-type]
    assert err.value.code == code


def test_wrong_pkcs12_password(test_pki: TestPki) -> None:
    path, _, _ = test_pki.signer("good-rsa")
    with pytest.raises(PdfSigningError) as err:
        key_source_from_spec(f"p12:{path}", secret=b"wrong", cache=False)
    assert err.value.code == "key_unusable" and "wrong" not in str(err.value)


def test_unreadable_pdf(test_pki: TestPki) -> None:
    with pytest.raises(PdfSigningError) as err:
        sign_pdf(b"not a pdf at all", key=_key(test_pki))
    assert err.value.code == "pdf_unreadable"


def test_unreachable_tsa(test_pki: TestPki) -> None:
    with pytest.raises(PdfSigningError) as err:
        sign_pdf(PDF, key=_key(test_pki), level="B-T", tsa_url="http://127.0.0.1:9/tsa")
    assert err.value.code == "tsa_unreachable"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"level": "B-X"}, "level_unsupported"),
    ({"level": "B-T"}, "tsa_url_missing"),
    ({"level": "B-LT", "tsa_url": "http://127.0.0.1:9"}, "revocation_unavailable"),
    ({"digest": "sha1"}, "algorithm_unsupported"),
])
def test_argument_errors(test_pki: TestPki, kwargs: dict, code: str) -> None:
    with pytest.raises(PdfSigningError) as err:
        sign_pdf(PDF, key=_key(test_pki), **kwargs)
    assert err.value.code == code


def test_revoked_signer_cannot_reach_b_lt(test_pki: TestPki) -> None:
    """Collecting B-LT data validates the chain first: a revoked certificate is refused, not embedded."""
    with pytest.raises(PdfSigningError) as err:
        sign_pdf(PDF, key=_key(test_pki, "revoked"), level="B-LT", tsa_url=test_pki.tsa_url,
                 long_term=_long_term(test_pki))
    assert err.value.code == "certificate_rejected"
