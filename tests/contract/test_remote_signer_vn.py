"""The Vietnamese adapters (VNPT SmartCA, Viettel MySign), each against its local test server
(tests/support/remote_vn.py) over real HTTP with a test-PKI key behind it: the port's behaviour as these two
providers give it (the shared contract in test_remote_signer.py runs them too, through tests/support/remote.py),
plus what is theirs alone: a USER id naming the official's only certificate, several hashes in one request, a
MySign token that expires while the official decides, a transaction polled by another process, refused
service-provider secrets that never appear in the error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils

from signing.remote.interfaces import RemoteSigner, RemoteSigningError, RemoteState, SignRequest
from signing.remote.viettel_mysign import ViettelMySign
from signing.remote.vnpt_smartca import VnptSmartCA
from tests.support import remote_vn
from tests.support.remote_vn import MySignServer, SmartCAServer, TestKey, load_test_key
from tests.support.server import free_port

DIGEST = bytes(range(32))


@pytest.fixture(scope="module")
def signer_key(test_pki: Any) -> TestKey:
    path, password, _cert = test_pki.signer("good-rsa")
    return load_test_key(path, password)


@pytest.fixture(scope="module")
def other_key(test_pki: Any) -> TestKey:
    path, password, _cert = test_pki.signer("untrusted")
    return load_test_key(path, password)


def _verifies(certificate: bytes, digest: bytes, value: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    key = x509.load_der_x509_certificate(certificate).public_key()
    try:
        key.verify(value, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))  # type: ignore[union-attr]
    except InvalidSignature:
        return False
    return True


class RemoteSignerContract:
    """What every remote-signing adapter does; subclasses give ``server`` and ``adapter`` fixtures."""

    credential_id: str

    def _request(self) -> SignRequest:
        return SignRequest(credential_id=self.credential_id, hashes=(DIGEST,), description="Công văn 05/BNV-VP")

    def test_is_a_remote_signer(self, adapter: Any) -> None:
        assert isinstance(adapter, RemoteSigner)

    def test_lists_the_officials_credential_with_its_chain(self, adapter: Any, signer_key: TestKey) -> None:
        (cred,) = adapter.credentials()
        assert cred.certificate == signer_key.certificate
        assert cred.chain and cred.key_algorithm == "RSA"
        assert adapter.credential(cred.id) == cred
        assert adapter.credential(cred.id.split("/")[0]) == cred  # the user's only certificate

    def test_unknown_credential_is_a_bad_request(self, adapter: Any) -> None:
        with pytest.raises(RemoteSigningError) as caught:
            adapter.credential(self.credential_id.split("/")[0] + "/no-such-cert")
        assert caught.value.code == "remote_bad_request"

    def test_pending_until_confirmed_then_values_verify(self, adapter: Any, server: Any, signer_key: TestKey) -> None:
        started = adapter.start(self._request())
        assert started.state is RemoteState.PENDING and started.transaction
        assert adapter.poll(started.transaction).state is RemoteState.PENDING
        server.confirm()
        done = adapter.poll(started.transaction)
        assert done.state is RemoteState.DONE
        assert _verifies(signer_key.certificate, DIGEST, done.signatures[0])
        assert adapter.poll(started.transaction).signatures == done.signatures  # polling again is harmless
        assert server.sign_requests == 1

    def test_several_hashes_in_order(self, adapter: Any, server: Any, signer_key: TestKey) -> None:
        digests = (bytes(32), bytes(range(1, 33)), bytes(range(2, 34)))
        started = adapter.start(SignRequest(credential_id=self.credential_id, hashes=digests))
        server.confirm()
        done = adapter.poll(started.transaction)
        assert [_verifies(signer_key.certificate, d, v) for d, v in zip(digests, done.signatures, strict=True)] == [
            True, True, True]

    def test_rejected_by_the_official(self, adapter: Any, server: Any) -> None:
        started = adapter.start(self._request())
        server.reject()
        assert adapter.poll(started.transaction).state is RemoteState.REJECTED

    def test_confirmation_window_closed(self, adapter: Any, server: Any) -> None:
        started = adapter.start(self._request())
        server.expire()
        assert adapter.poll(started.transaction).state is RemoteState.EXPIRED

    def test_unknown_transaction(self, adapter: Any) -> None:
        with pytest.raises(RemoteSigningError) as caught:
            adapter.poll(self.unknown_transaction)
        assert caught.value.code == "remote_unknown_transaction"

    def test_provider_down_is_unreachable(self, adapter: Any, server: Any) -> None:
        server.failures = 1
        with pytest.raises(RemoteSigningError) as caught:
            adapter.credentials()
        assert caught.value.code == "remote_unreachable"

    def test_nobody_listening_is_unreachable(self) -> None:
        with pytest.raises(RemoteSigningError) as caught:
            self.make(f"http://127.0.0.1:{free_port()}").credentials()
        assert caught.value.code == "remote_unreachable"

    def test_secrets_stay_out_of_repr_and_errors(self, adapter: Any) -> None:
        with pytest.raises(RemoteSigningError) as caught:
            adapter.credential(self.credential_id.split("/")[0] + "/no-such-cert")
        for text in (repr(adapter), str(caught.value)):
            assert remote_vn.SP_PASSWORD not in text and remote_vn.CLIENT_SECRET not in text

    def make(self, base: str) -> Any:
        raise NotImplementedError


class TestVnptSmartCA(RemoteSignerContract):
    unknown_transaction = "no-such-transaction"

    @pytest.fixture
    def server(self, signer_key: TestKey) -> Iterator[SmartCAServer]:
        server = SmartCAServer(signer_key).start()
        yield server  # type: ignore[misc]
        server.stop()

    @pytest.fixture
    def adapter(self, server: SmartCAServer) -> VnptSmartCA:
        adapter = VnptSmartCA.from_url(server.url, sp_id=remote_vn.SP_ID, sp_password=remote_vn.SP_PASSWORD,
                                       user_id=remote_vn.USER)
        (cred,) = adapter.credentials()
        self.credential_id = cred.id
        return adapter

    def make(self, base: str) -> VnptSmartCA:
        return VnptSmartCA(base, sp_id=remote_vn.SP_ID, sp_password=remote_vn.SP_PASSWORD, user_id=remote_vn.USER)

    def test_wrong_sp_password_is_refused(self, server: SmartCAServer) -> None:
        adapter = VnptSmartCA.from_url(server.url, sp_id=remote_vn.SP_ID, sp_password="wrong", user_id=remote_vn.USER)
        with pytest.raises(RemoteSigningError) as caught:
            adapter.credentials()
        assert caught.value.code == "remote_auth_failed" and "wrong" not in str(caught.value)


class TestViettelMySign(RemoteSignerContract):
    unknown_transaction = f"{remote_vn.USER}|no-such-transaction"

    @pytest.fixture
    def server(self, signer_key: TestKey) -> Iterator[MySignServer]:
        server = MySignServer(signer_key).start()
        yield server  # type: ignore[misc]
        server.stop()

    @pytest.fixture
    def adapter(self, server: MySignServer) -> ViettelMySign:
        adapter = self.make_for(server.url)
        (cred,) = adapter.credentials()
        self.credential_id = cred.id
        return adapter

    def make_for(self, url: str) -> ViettelMySign:
        return ViettelMySign.from_url(url, client_id=remote_vn.CLIENT_ID, client_secret=remote_vn.CLIENT_SECRET,
                                      profile_id="adss:ras:profile:001", user_id=remote_vn.USER)

    def make(self, base: str) -> ViettelMySign:
        return self.make_for("viettel-mysign+" + base)

    def test_token_expired_mid_transaction_logs_in_again(self, adapter: ViettelMySign, server: MySignServer) -> None:
        started = adapter.start(self._request())
        server.expire_tokens()  # the official took longer than the token lives
        server.confirm()
        assert started.transaction is not None
        assert adapter.poll(started.transaction).state is RemoteState.DONE
        assert server.logins == 2 and server.sign_requests == 1

    def test_a_new_process_polls_a_transaction_started_elsewhere(self, server: MySignServer) -> None:
        first, second = self.make_for(server.url), self.make_for(server.url)
        (cred,) = first.credentials()
        started = first.start(SignRequest(credential_id=cred.id, hashes=(DIGEST,)))
        server.confirm()
        assert started.transaction is not None
        assert second.poll(started.transaction).state is RemoteState.DONE

    def test_wrong_client_secret_is_refused(self, server: MySignServer) -> None:
        adapter = ViettelMySign.from_url(server.url, client_id=remote_vn.CLIENT_ID, client_secret="wrong-secret",
                                         user_id=remote_vn.USER)
        with pytest.raises(RemoteSigningError) as caught:
            adapter.credentials()
        assert "wrong-secret" not in str(caught.value)
