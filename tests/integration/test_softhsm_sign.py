"""PKCS#11 signing through SoftHSM2: the token key signs PDFs that validate against the test root."""

from __future__ import annotations

import io

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing.pdf import PdfSigningError, key_source_from_spec, sign_pdf
from tests.support.pki import TestPki
from tests.support.pki.pdfs import make_pdf
from tests.support.pki.softhsm import SoftHsmToken

pytestmark = pytest.mark.softhsm


def _spec(token: SoftHsmToken) -> str:
    return f"pkcs11:module={token.module_path};token={token.token_label};key={token.key_label}"


@pytest.mark.parametrize(("pss", "level"), [(False, "B-B"), (True, "B-T")])
def test_pkcs11_key_signs_a_valid_pdf(test_pki: TestPki, softhsm_token: SoftHsmToken, pss: bool, level: str) -> None:
    key = key_source_from_spec(_spec(softhsm_token), secret=softhsm_token.pin)
    assert key_source_from_spec(_spec(softhsm_token), secret=softhsm_token.pin) is key  # session kept
    assert softhsm_token.pin not in repr(key)
    assert key.certificate == test_pki.signer("good-rsa")[2] and test_pki.intermediate_cert in key.chain
    signed = sign_pdf(make_pdf(2, 20_000), key=key, level=level, tsa_url=test_pki.tsa_url, pss=pss)
    root = asn1_x509.Certificate.load(test_pki.root_cert.public_bytes(Encoding.DER))
    context = ValidationContext(trust_roots=[root], moment=test_pki.now, allow_fetching=True)
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(signed)).embedded_regular_signatures[0], context)
    assert status.bottom_line
    assert status.pkcs7_signature_mechanism == ("rsassa_pss" if pss else "sha256_rsa")


def test_wrong_pin_is_key_unusable(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(PdfSigningError) as err:
        key_source_from_spec(_spec(softhsm_token), secret="000000", cache=False)
    assert err.value.code == "key_unusable" and "000000" not in str(err.value)
