"""Interrupted signing (signing/remote/interrupted.py) with the test PKI's keys standing in for a provider: every
level, RSA PKCS#1 v1.5 / PSS and ECDSA (DER or raw r||s), the state's JSON round trip, values that must never be
embedded, batching limits; and the provider alias table (signing/remote/__init__.py)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from signing.pdf.report import Indication
from signing.pdf.sign import LongTermSettings, PdfSigningError
from signing.remote import PROVIDERS, from_url
from signing.remote.interfaces import Credential, RemoteSigningError
from signing.remote.interrupted import PendingState, Prepared, check_signer, finish, prepare, sign_request
from tests.support.pki import TestPki
from tests.unit.signing.test_pdf_verify_kit import base_pdf, verify

PDF = base_pdf()


def _der(cert: object) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined, no-any-return]


def _credential(pki: TestPki, name: str, max_signatures: int = 1) -> Credential:
    chain = (_der(pki.intermediate_cert), _der(pki.root_cert))
    return Credential(id=name, certificate=_der(pki.signer(name)[2]), chain=chain, max_signatures=max_signatures)


def _provider_signs(pki: TestPki, name: str, prepared: Prepared, *, pss: bool = False) -> bytes:
    """What a provider does: sign the hash it was given (the key never sees the PDF)."""
    key = load_pem_private_key(pki.key_pem_path(name).read_bytes(), None)
    prehashed = utils.Prehashed(hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(prepared.digest, ec.ECDSA(prehashed))
    pad = padding.PSS(padding.MGF1(hashes.SHA256()), 32) if pss else padding.PKCS1v15()
    return key.sign(prepared.digest, pad, prehashed)  # type: ignore[union-attr, call-arg]


def _restarted(state: PendingState) -> PendingState:
    return PendingState.from_json(state.to_json(), bytes(state.pdf))


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_each_level_after_a_round_trip_through_json(test_pki: TestPki, level: str) -> None:
    prepared = prepare(PDF, _credential(test_pki, "good-rsa"), level=level, reason="Phê duyệt")
    assert len(prepared.digest) == 32 and prepared.signature_algorithm == "sha256_rsa"
    json.loads(prepared.state.to_json())
    signed = finish(
        _restarted(prepared.state),
        _provider_signs(test_pki, "good-rsa", prepared),
        tsa_url=test_pki.tsa_url,
        long_term=LongTermSettings(trust_roots=(test_pki.root_cert,), moment=test_pki.now),
    )
    assert signed.startswith(PDF)
    report = verify(signed, test_pki)
    assert report.indication is Indication.TOTAL_PASSED, report


def test_pss(test_pki: TestPki) -> None:
    prepared = prepare(PDF, _credential(test_pki, "good-rsa"), pss=True)
    assert prepared.signature_algorithm == "rsassa_pss"
    signed = finish(prepared.state, _provider_signs(test_pki, "good-rsa", prepared, pss=True))
    assert verify(signed, test_pki).indication is Indication.TOTAL_PASSED


@pytest.mark.parametrize("raw", [False, True])
def test_ecdsa_der_or_raw_r_s(test_pki: TestPki, raw: bool) -> None:
    prepared = prepare(PDF, _credential(test_pki, "good-ec"))
    value = _provider_signs(test_pki, "good-ec", prepared)
    if raw:  # CSC services and PKCS#11 tokens often answer r||s
        r, s = decode_dss_signature(value)
        value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert verify(finish(prepared.state, value), test_pki).indication is Indication.TOTAL_PASSED


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "other_key"])
def test_a_value_that_does_not_verify_is_refused(test_pki: TestPki, damage: str) -> None:
    prepared = prepare(PDF, _credential(test_pki, "good-rsa"))
    value = _provider_signs(test_pki, "untrusted" if damage == "other_key" else "good-rsa", prepared)
    value = {"flip": value[:-1] + bytes([value[-1] ^ 1]), "truncate": value[:-1], "empty": b""}.get(damage, value)
    with pytest.raises(RemoteSigningError) as err:
        finish(prepared.state, value)
    assert err.value.code == "remote_bad_signature"


def test_certificate_changed(test_pki: TestPki) -> None:
    prepared = prepare(PDF, _credential(test_pki, "good-rsa"))
    with pytest.raises(RemoteSigningError) as err:
        finish(prepared.state, _provider_signs(test_pki, "good-rsa", prepared), certificate=_der(test_pki.root_cert))
    assert err.value.code == "remote_certificate_changed"


def test_unreadable_state(test_pki: TestPki) -> None:
    for text in ("{not json", json.dumps({"version": 99}), json.dumps({"version": 1, "level": "B-B"})):
        with pytest.raises(RemoteSigningError) as err:
            PendingState.from_json(text, b"")
        assert err.value.code == "remote_state_invalid"
    prepared = prepare(PDF, _credential(test_pki, "good-rsa"))
    assert "good-rsa" not in repr(prepared.state) and str(len(prepared.state.pdf)) in repr(prepared.state)


def test_sign_request_batches_within_the_credential_limit(test_pki: TestPki) -> None:
    credential = _credential(test_pki, "good-rsa", max_signatures=2)
    batch = [prepare(base_pdf(pages), credential) for pages in (1, 2, 3)]
    request = sign_request(batch[:2], credential, authorization={"PIN": "1"})
    assert request.hashes == (batch[0].digest, batch[1].digest) and request.signature_algorithm == "sha256_rsa"
    assert "'1'" not in repr(request)
    with pytest.raises(RemoteSigningError) as err:
        sign_request(batch, credential)
    assert err.value.code == "remote_bad_request"
    with pytest.raises(RemoteSigningError):
        sign_request(batch[:1], _credential(test_pki, "good-ec", 5))  # prepared for another certificate


def test_unknown_provider_scheme_names_the_known_ones() -> None:
    with pytest.raises(RemoteSigningError) as err:
        from_url("smartcard+https://example.vn/")
    assert err.value.code == "remote_unknown_provider"
    assert all(f"{scheme}://" in str(err.value) for scheme in PROVIDERS)


def test_csc_url_keeps_secrets_out_and_plain_http_on_loopback_only() -> None:
    signer = from_url("csc+https://rssp.example.vn/api?version=1&client_id=gw", client_secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(signer) and "rssp.example.vn" in repr(signer)
    with pytest.raises(RemoteSigningError) as err:
        from_url("csc+http://rssp.example.vn/?client_id=gw", client_secret="x")
    assert err.value.code == "remote_bad_request"
    for url in ("csc+https://rssp.example.vn/?version=3&client_id=gw", "csc+https://gw:s3cr3t@rssp.example.vn/"):
        with pytest.raises(RemoteSigningError) as err:
            from_url(url, client_secret="x")
        assert err.value.code == "remote_bad_request" and "s3cr3t" not in str(err.value)


@pytest.mark.parametrize("name", ["revoked", "wrong-ku"])
def test_long_term_refuses_a_signer_local_signing_would_refuse(test_pki: TestPki, name: str) -> None:
    settings = LongTermSettings(trust_roots=(test_pki.root_cert,), moment=test_pki.now)
    credential = _credential(test_pki, name)
    with pytest.raises(PdfSigningError) as early:
        check_signer(credential, settings)  # before the signer is asked to confirm
    prepared = prepare(PDF, credential, level="B-LT")
    with pytest.raises(PdfSigningError) as late:
        finish(prepared.state, _provider_signs(test_pki, name, prepared), tsa_url=test_pki.tsa_url, long_term=settings)
    assert early.value.code == late.value.code == "certificate_rejected"
    check_signer(_credential(test_pki, "good-rsa"), settings)
