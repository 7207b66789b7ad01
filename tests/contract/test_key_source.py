"""The key-source port's contract (signing/pdf/keysources.py), written once and run against every backend
(STYLE.md 3): a PKCS#12 file (the embedded tier) and a PKCS#11 token (production's HSM; SoftHSM2 here) holding
the same test key, "good-rsa" of the generated PKI. Both must sign what the certificate verifies, with every
digest and padding the signers use, keep their secret out of every string, and refuse a wrong secret as
``key_unusable``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from signing.pdf import KeySource, PdfSigningError, key_source_from_spec
from tests.support.pki import TestPki
from tests.support.pki.softhsm import SoftHsmToken

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def _verify(source: KeySource, data: bytes, signature: bytes, digest: str, pss: bool) -> None:
    public_key = source.certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    algorithm = _HASHES[digest]()
    pad = padding.PSS(padding.MGF1(algorithm), algorithm.digest_size) if pss else padding.PKCS1v15()
    public_key.verify(signature, data, pad, algorithm)  # raises InvalidSignature


class KeySourceContract:
    """Subclass with fixtures ``spec`` (the key source's spec string) and ``secret`` (its password or PIN)."""

    @pytest.fixture
    def source(self, spec: str, secret: str) -> KeySource:
        return key_source_from_spec(spec, secret=secret)

    def test_it_is_a_key_source(self, source: KeySource, spec: str) -> None:
        assert isinstance(source, KeySource)
        assert source.spec == spec

    def test_certificate_and_chain_are_the_signers(self, source: KeySource, test_pki: TestPki) -> None:
        assert source.certificate == test_pki.signer("good-rsa")[2]
        assert test_pki.intermediate_cert in source.chain and source.certificate not in source.chain
        assert source.key_algorithm == "rsa"

    @pytest.mark.parametrize("digest", sorted(_HASHES))
    @pytest.mark.parametrize("pss", [False, True])
    def test_signs_what_the_certificate_verifies(self, source: KeySource, digest: str, pss: bool) -> None:
        data = "Công văn số 12/UBND-VP".encode()
        _verify(source, data, source.sign_raw(data, digest_algorithm=digest, pss=pss), digest, pss)

    def test_signs_from_several_threads(self, source: KeySource) -> None:
        payloads = [f"document {n}".encode() for n in range(12)]
        with ThreadPoolExecutor(4) as pool:
            signatures = list(pool.map(lambda d: source.sign_raw(d, digest_algorithm="sha256", pss=False), payloads))
        for data, signature in zip(payloads, signatures, strict=True):
            _verify(source, data, signature, "sha256", False)

    def test_the_secret_stays_out_of_every_string(self, source: KeySource, secret: str) -> None:
        assert secret not in source.spec and secret not in repr(source) and secret not in str(source)

    def test_a_wrong_secret_is_key_unusable(self, spec: str) -> None:
        with pytest.raises(PdfSigningError) as err:
            key_source_from_spec(spec, secret="wrong-0000", cache=False)
        assert err.value.code == "key_unusable" and "wrong-0000" not in str(err.value)


class TestPkcs12KeySource(KeySourceContract):
    @pytest.fixture
    def spec(self, test_pki: TestPki) -> str:
        return f"p12:{test_pki.signer('good-rsa')[0]}"

    @pytest.fixture
    def secret(self, test_pki: TestPki) -> str:
        return test_pki.signer("good-rsa")[1].decode()


@pytest.mark.softhsm
class TestPkcs11KeySource(KeySourceContract):
    @pytest.fixture
    def spec(self, softhsm_token: SoftHsmToken) -> str:
        return f"pkcs11:module={softhsm_token.module_path};token={softhsm_token.token_label};" \
               f"key={softhsm_token.key_label}"

    @pytest.fixture
    def secret(self, softhsm_token: SoftHsmToken) -> str:
        return softhsm_token.pin
