"""Cross-check with an independent implementation: PDFs signed by endesive (not pyHanko) verify in ours."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from signing.pdf.report import Coverage, Indication, SigningTimeSource, SubIndication
from signing.pdf.revocation import RevocationMode, RevocationPolicy
from tests.unit.signing.test_pdf_verify_kit import UNTRUSTED_SET, base_pdf, verify


def _load_endesive_cms():
    """endesive's PDF signer, loaded without ``endesive/pdf/__init__.py``: that package init imports endesive's
    verifier → the old ``certvalidator`` → oscrypto 1.3.0, whose libcrypto version probe fails on OpenSSL 3.0.1x
    (two-digit patch number). The signer module itself needs none of that."""
    import importlib.util

    endesive = pytest.importorskip("endesive")
    path = Path(endesive.__file__).parent / "pdf" / "cms.py"
    spec = importlib.util.spec_from_file_location("endesive_pdf_cms_standalone", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cms = _load_endesive_cms()


@pytest.fixture(autouse=True)
def _pypdf_trailer_compat(monkeypatch):
    """endesive 3.0.1 writes its trailer with ``write_to_stream(stream, None)`` (the pre-5.0 pypdf signature);
    pypdf 7 takes only the stream. Accept and ignore the unused encryption-key argument, for these tests only."""
    from pypdf.generic import DictionaryObject

    original = DictionaryObject.write_to_stream

    def write_to_stream(self, stream, encryption_key=None):
        return original(self, stream)

    monkeypatch.setattr(DictionaryObject, "write_to_stream", write_to_stream)


def _endesive_sign(pdf: bytes, pki, name: str, *, tsa: bool = False) -> bytes:
    p12_path, password, _ = pki.signer(name)
    key, cert, chain = pkcs12.load_key_and_certificates(p12_path.read_bytes(), password)
    udct = {
        "sigflags": 3,
        "sigpage": 0,
        "sigfield": "EndesiveSig",
        "contact": "van-thu@example.gov.vn",
        "location": "Hà Nội",
        "signingdate": pki.now.strftime("D:%Y%m%d%H%M%S+00'00'"),
        "reason": "Xác thực văn bản",
    }
    appended = cms.sign(pdf, udct, key, cert, list(chain), "sha256", tspurl=pki.tsa_url if tsa else None)
    return pdf + appended


@pytest.mark.parametrize("tsa", [False, True], ids=["B-B", "B-T"])
def test_endesive_signature_passes_when_root_trusted(test_pki, tsa):
    report = verify(_endesive_sign(base_pdf(), test_pki, "good-rsa", tsa=tsa), test_pki)
    (sig,) = report.signatures
    assert sig.indication is Indication.TOTAL_PASSED, [f.en for f in sig.errors + sig.warnings]
    assert report.indication is Indication.TOTAL_PASSED and report.whole_document_signed
    assert sig.field_name == "EndesiveSig" and sig.coverage is Coverage.ENTIRE_FILE
    assert sig.signer is not None and sig.signer.common_name == "Nguyễn Văn An"
    expected = SigningTimeSource.TIMESTAMP if tsa else SigningTimeSource.CLAIMED
    assert sig.signing_time_source is expected and sig.signing_time_used == test_pki.now


def test_endesive_signature_without_trusted_root_is_indeterminate(test_pki):
    signed = _endesive_sign(base_pdf(), test_pki, "good-rsa")
    report = verify(signed, test_pki, anchor_sets=[UNTRUSTED_SET],
                    policy=RevocationPolicy(mode=RevocationMode.SOFT_FAIL))
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)
    assert sig.integrity is True  # the signature itself is sound; only trust is missing


def test_endesive_ec_signature_is_mislabelled_and_fails_cleanly(test_pki):
    """endesive 3.0.1 declares ECDSA signatures as rsaEncryption: the structure contradicts the key, which must be
    a clean report (pyhanko-certvalidator itself trips an assertion on it). The value does verify with the
    certificate's EC key over the signed bytes, so since issue 18 it is a format deviation (INDETERMINATE /
    FORMAT_FAILURE, integrity intact), not proof of tampering."""
    signed = _endesive_sign(base_pdf(), test_pki, "good-ec")
    import io

    from asn1crypto import cms as asn1_cms
    from pyhanko.pdf_utils.reader import PdfFileReader

    emb = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert emb.signer_info["signature_algorithm"]["algorithm"].native == "rsassa_pkcs1v15"
    assert isinstance(emb.signed_data, asn1_cms.SignedData)
    report = verify(signed, test_pki)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, SubIndication.FORMAT_FAILURE)
    assert sig.integrity is True and "format_not_evaluated" in {w.code for w in sig.warnings}


def test_endesive_key_loaded_as_expected(test_pki):
    """Guard for the helper above: the PKCS#12 yields the signer's own certificate."""
    p12_path, password, cert = test_pki.signer("good-rsa")
    _, loaded, _ = pkcs12.load_key_and_certificates(p12_path.read_bytes(), password)
    assert loaded is not None
    assert loaded.public_bytes(serialization.Encoding.DER) == cert.public_bytes(serialization.Encoding.DER)
