"""The shared test PKI itself: certificate properties and live endpoints answer at the pinned time."""

from __future__ import annotations

import urllib.request
from datetime import UTC

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp as x509_ocsp

from tests.support.pki import SIGNER_NAMES, TestPki


def _post(url: str, body: bytes, content_type: str) -> bytes:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def _ocsp_status(pki: TestPki, name: str) -> x509_ocsp.OCSPResponse:
    _, _, cert = pki.signer(name)
    req = x509_ocsp.OCSPRequestBuilder().add_certificate(cert, pki.intermediate_cert, hashes.SHA1()).build()
    der = _post(pki.ocsp_url, req.public_bytes(serialization.Encoding.DER), "application/ocsp-request")
    return x509_ocsp.load_der_ocsp_response(der)


def test_every_signer_has_a_loadable_pkcs12_with_its_chain(test_pki: TestPki) -> None:
    for name in SIGNER_NAMES:
        path, password, cert = test_pki.signer(name)
        key, p12_cert, extra = pkcs12.load_key_and_certificates(path.read_bytes(), password)
        assert p12_cert == cert and key is not None
        expected_root = test_pki.untrusted_root_cert if name == "untrusted" else test_pki.root_cert
        assert expected_root in extra


def test_signer_certificates_have_the_intended_defects(test_pki: TestPki) -> None:
    now = test_pki.now
    assert isinstance(test_pki.signer("good-ec")[2].public_key(), ec.EllipticCurvePublicKey)
    good_key = test_pki.signer("good-rsa")[2].public_key()
    assert isinstance(good_key, rsa.RSAPublicKey) and good_key.key_size == 2048
    weak_key = test_pki.signer("rsa1024")[2].public_key()
    assert isinstance(weak_key, rsa.RSAPublicKey) and weak_key.key_size == 1024
    assert test_pki.signer("expired")[2].not_valid_after_utc < now
    assert test_pki.signer("not-yet-valid")[2].not_valid_before_utc > now
    assert isinstance(test_pki.signer("sha1")[2].signature_hash_algorithm, hashes.SHA1)
    ku = test_pki.signer("wrong-ku")[2].extensions.get_extension_for_class(x509.KeyUsage).value
    assert not ku.digital_signature and not ku.content_commitment
    assert test_pki.signer("untrusted")[2].issuer == test_pki.untrusted_root_cert.subject


def test_aia_and_crl_dp_point_at_the_local_responders(test_pki: TestPki) -> None:
    cert = test_pki.signer("good-rsa")[2]
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert test_pki.ocsp_url in [d.access_location.value for d in aia]
    dps = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert test_pki.crl_url in [n.value for dp in dps for n in dp.full_name or ()]
    assert test_pki.ocsp_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("good-rsa", x509_ocsp.OCSPCertStatus.GOOD),
        ("revoked", x509_ocsp.OCSPCertStatus.REVOKED),
    ],
)
def test_ocsp_responder_answers_at_the_pinned_time(test_pki: TestPki, name: str, status: object) -> None:
    response = _ocsp_status(test_pki, name)
    assert response.response_status == x509_ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status == status
    assert response.produced_at_utc == test_pki.now


def test_revoked_signer_is_revoked_before_now_and_listed_on_the_crl(test_pki: TestPki) -> None:
    revoked_at = test_pki.revocation_time("revoked")
    assert revoked_at is not None and revoked_at < test_pki.now
    with urllib.request.urlopen(test_pki.crl_url, timeout=10) as response:
        crl = x509.load_der_x509_crl(response.read())
    assert crl.is_signature_valid(test_pki.intermediate_cert.public_key())  # type: ignore[arg-type]
    entry = crl.get_revoked_certificate_by_serial_number(test_pki.signer("revoked")[2].serial_number)
    assert entry is not None and entry.revocation_date_utc == revoked_at.astimezone(UTC)
    assert crl.get_revoked_certificate_by_serial_number(test_pki.signer("good-rsa")[2].serial_number) is None


def test_tsa_issues_tokens_at_the_pinned_time(test_pki: TestPki) -> None:
    import hashlib

    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"edoc").digest(),
            },
            "cert_req": True,
        }
    )
    resp = tsp.TimeStampResp.load(_post(test_pki.tsa_url, req.dump(), "application/timestamp-query"))
    assert resp["status"]["status"].native == "granted"
    tst_info = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert tst_info["gen_time"].native == test_pki.now
