"""The remote-signing port's contract (signing/remote/interfaces.py), written once and run against every adapter
(STYLE.md 3) through its :class:`~tests.support.remote.RemoteHarness`: the CSC API v1 and v2 adapters against the
local CSC server (key in SoftHSM2). Other adapters join by adding their harness fixture's name to
``tests.support.remote.REMOTE_HARNESSES``.

Every adapter must: list its credentials with certificate and chain; sign one or several hashes in one request,
each value verifying under the credential's key; end a pending transaction as DONE, REJECTED or EXPIRED as the
signer (or the clock) decides; refuse an unknown credential or transaction with a stable code; report an
unreachable provider as ``remote_unreachable``; keep every secret out of ``repr`` and error messages.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from signing.remote.interfaces import RemoteResult, RemoteSigner, RemoteSigningError, RemoteState, SignRequest
from tests.support.remote import PENDING_HARNESSES, REMOTE_HARNESSES, RemoteHarness

pytestmark = pytest.mark.softhsm


@pytest.fixture(params=REMOTE_HARNESSES)
def harness(request: pytest.FixtureRequest) -> RemoteHarness:
    value: RemoteHarness = request.getfixturevalue(request.param)
    return value


@pytest.fixture(params=PENDING_HARNESSES)
def pending_harness(request: pytest.FixtureRequest) -> RemoteHarness:
    """The providers whose transactions wait for the signer (synchronous ones cannot reject or expire)."""
    value: RemoteHarness = request.getfixturevalue(request.param)
    assert value.confirm and value.reject and value.expire, f"{request.param} is listed as leaving one pending"
    return value


def _request(h: RemoteHarness, *documents: bytes) -> SignRequest:
    return SignRequest(
        credential_id=h.credential_id,
        hashes=tuple(hashlib.sha256(d).digest() for d in documents),
        description="Ký công văn số 12/UBND-VP",
        authorization=h.authorization,
    )


def _finish(h: RemoteHarness, result: RemoteResult) -> RemoteResult:
    """Confirm a pending transaction as the signer would, then poll until it is no longer pending."""
    if result.state is RemoteState.PENDING:
        assert result.transaction and h.confirm is not None
        assert h.signer.poll(result.transaction).state is RemoteState.PENDING
        h.confirm(result.transaction)
        result = h.signer.poll(result.transaction)
    return result


def _verifies(certificate: bytes, digest: bytes, value: bytes) -> None:
    key = x509.load_der_x509_certificate(certificate).public_key()
    prehashed = utils.Prehashed(hashes.SHA256())
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(value, digest, padding.PKCS1v15(), prehashed)
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(value, digest, ec.ECDSA(prehashed))


def test_it_is_a_remote_signer(harness: RemoteHarness) -> None:
    assert isinstance(harness.signer, RemoteSigner) and harness.signer.name


def test_credentials_carry_certificate_and_chain(harness: RemoteHarness) -> None:
    listed = {c.id: c for c in harness.signer.credentials()}
    assert harness.credential_id in listed
    one = harness.signer.credential(harness.credential_id)
    assert one == listed[harness.credential_id]
    x509.load_der_x509_certificate(one.certificate)
    assert one.chain and one.certificate not in one.chain
    assert one.key_algorithm in ("RSA", "EC") and one.max_signatures >= 1


def test_unknown_credential_is_a_bad_request(harness: RemoteHarness) -> None:
    with pytest.raises(RemoteSigningError) as err:
        harness.signer.credential("no-such-credential")
    assert err.value.code == "remote_bad_request"


def test_signs_one_hash_that_the_certificate_verifies(harness: RemoteHarness) -> None:
    request = _request(harness, "Công văn 1".encode())
    result = _finish(harness, harness.signer.start(request))
    assert result.state is RemoteState.DONE and len(result.signatures) == 1
    _verifies(harness.signer.credential(harness.credential_id).certificate, request.hashes[0], result.signatures[0])


def test_signs_several_hashes_under_one_authorisation_in_order(harness: RemoteHarness) -> None:
    credential = harness.signer.credential(harness.credential_id)
    documents = [f"Văn bản {i}".encode() for i in range(min(3, credential.max_signatures))]
    request = _request(harness, *documents)
    result = _finish(harness, harness.signer.start(request))
    assert result.state is RemoteState.DONE and len(result.signatures) == len(documents)
    for digest, value in zip(request.hashes, result.signatures, strict=True):
        _verifies(credential.certificate, digest, value)


def test_signer_rejects(pending_harness: RemoteHarness) -> None:
    harness = pending_harness
    assert harness.reject is not None
    result = harness.signer.start(_request(harness, b"reject me"))
    assert result.state is RemoteState.PENDING and result.transaction
    harness.reject(result.transaction)
    assert harness.signer.poll(result.transaction).state is RemoteState.REJECTED


def test_confirmation_window_expires(pending_harness: RemoteHarness) -> None:
    harness = pending_harness
    assert harness.expire is not None
    result = harness.signer.start(_request(harness, b"too late"))
    assert result.state is RemoteState.PENDING and result.transaction
    harness.expire(result.transaction)
    assert harness.signer.poll(result.transaction).state is RemoteState.EXPIRED


def test_unknown_transaction(harness: RemoteHarness) -> None:
    with pytest.raises(RemoteSigningError) as err:
        harness.signer.poll("no-such-transaction")
    assert err.value.code == "remote_unknown_transaction"


def test_unreachable_provider(harness: RemoteHarness) -> None:
    signer = harness.unreachable()
    with pytest.raises(RemoteSigningError) as err:
        signer.start(_request(harness, b"nobody home"))
    assert err.value.code == "remote_unreachable"


def test_secrets_stay_out_of_repr_and_errors(harness: RemoteHarness) -> None:
    bad = SignRequest(
        credential_id=harness.credential_id,
        hashes=(hashlib.sha256(b"x").digest(),),
        authorization={k: "0000-wrong" for k in harness.authorization},
    )
    texts = [repr(harness.signer), repr(bad)]
    try:  # a provider that checks the signer's authorisation refuses; one that does not (a demo server) signs
        harness.signer.start(bad)
    except RemoteSigningError as err:
        texts.append(str(err))
    for secret in (*harness.secrets, "0000-wrong"):
        assert all(secret not in text for text in texts)
