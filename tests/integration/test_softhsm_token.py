"""The SoftHSM2 test token holds the good RSA signer's key: it signs, and the certificate verifies it."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.pki import TestPki
from tests.support.pki.softhsm import SoftHsmToken

pytestmark = pytest.mark.softhsm


def test_token_key_signs_and_matches_the_certificate(test_pki: TestPki, softhsm_token: SoftHsmToken) -> None:
    import pkcs11
    from pkcs11 import KeyType, Mechanism, ObjectClass

    token = pkcs11.lib(softhsm_token.module_path).get_token(token_label=softhsm_token.token_label)
    try:
        session = token.open(user_pin=softhsm_token.pin)
    except pkcs11.exceptions.UserAlreadyLoggedIn:  # PKCS#11 login is per process: a key source may hold it
        session = token.open()
    with session:
        key = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.RSA, label=softhsm_token.key_label)
        signature = key.sign(b"edoc", mechanism=Mechanism.SHA256_RSA_PKCS)
    public_key = test_pki.signer("good-rsa")[2].public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, b"edoc", padding.PKCS1v15(), hashes.SHA256())
    assert softhsm_token.pin not in repr(softhsm_token)
