"""Pytest plugin: remote-signing providers under test, each a :class:`RemoteHarness` (registered in tests/conftest.py).

A harness is a configured :class:`~signing.remote.interfaces.RemoteSigner` plus the test controls of the server it
talks to (confirm / reject / let expire a pending transaction: what the signer does on the phone), so the contract
in tests/contract/test_remote_signer.py runs unchanged against every adapter. To add an adapter: write a fixture
returning a RemoteHarness for it (here or in its own plugin) and add its name to ``REMOTE_HARNESSES`` (and to
``PENDING_HARNESSES`` when its transactions wait for the signer).

CSC: :mod:`tests.support.csc_server` on 127.0.0.1, the "good-rsa" key of the test PKI inside SoftHSM2 (credential
``rsa-1``, PIN ``CSC_PIN``) and the "good-ec" key in memory (credential ``ec-1``). TEST ONLY secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from signing.remote import from_url
from signing.remote.interfaces import RemoteSigner
from tests.support import csc_dummy as dummy
from tests.support.csc_server import CscTestServer, SoftHsmKey, SoftwareKey, running_csc_server
from tests.support.env import require
from tests.support.pki import TestPki
from tests.support.pki.softhsm import SoftHsmToken
from tests.support.server import free_port

__all__ = [
    "CSC_CLIENT_ID",
    "CSC_CLIENT_SECRET",
    "CSC_PIN",
    "PENDING_HARNESSES",
    "REMOTE_HARNESSES",
    "RemoteHarness",
    "csc_dummy",
    "csc_server",
    "csc_v1",
    "csc_v2",
    "viettel_mysign",
    "vnpt_smartca",
]

CSC_CLIENT_ID = "edoc-gateway"
CSC_CLIENT_SECRET = "test-only-client-secret-7f3a"  # TEST ONLY
CSC_PIN = "246810"  # TEST ONLY

REMOTE_HARNESSES = ["csc_v1", "csc_v2", "csc_dummy", "vnpt_smartca", "viettel_mysign"]  # fixture names
#: The providers that leave a transaction pending until the signer acts (their harness has confirm/reject/expire);
#: the others (CSC v1, the CSC dummy) answer synchronously, so a rejection or an expiry cannot happen there.
PENDING_HARNESSES = ["csc_v2", "vnpt_smartca", "viettel_mysign"]


@dataclass
class RemoteHarness:
    """A provider under test. ``confirm``/``reject``/``expire`` act on a pending transaction as the signer (or
    the clock) would; ``None`` when the provider never leaves a transaction pending (synchronous APIs)."""

    signer: RemoteSigner
    credential_id: str
    authorization: dict[str, str]
    secrets: tuple[str, ...]
    unreachable: Callable[[], RemoteSigner]
    confirm: Callable[[str], None] | None = None
    reject: Callable[[str], None] | None = None
    expire: Callable[[str], None] | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _der(cert: object) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined, no-any-return]


def csc_url(base: str, version: int) -> str:
    return f"csc+{base}?version={version}&client_id={CSC_CLIENT_ID}"


@pytest.fixture
def csc_server(test_pki: TestPki, softhsm_token: SoftHsmToken) -> Iterator[CscTestServer]:
    """A CSC test server with the SoftHSM2 "good-rsa" credential ``rsa-1`` and the "good-ec" credential ``ec-1``."""
    key = SoftHsmKey(softhsm_token.module_path, softhsm_token.token_label, softhsm_token.pin, softhsm_token.key_label)
    chain = [_der(test_pki.intermediate_cert), _der(test_pki.root_cert)]
    impostor = SoftwareKey(load_pem_private_key(test_pki.key_pem_path("untrusted").read_bytes(), None))
    ec_key = SoftwareKey(load_pem_private_key(test_pki.key_pem_path("good-ec").read_bytes(), None))
    try:
        with running_csc_server() as server:
            server.add_client(CSC_CLIENT_ID, CSC_CLIENT_SECRET)
            server.add_credential(
                "rsa-1", key, [_der(test_pki.signer("good-rsa")[2]), *chain], pin=CSC_PIN, wrong_key=impostor
            )
            server.add_credential("ec-1", ec_key, [_der(test_pki.signer("good-ec")[2]), *chain], pin=CSC_PIN)
            yield server
    finally:
        key.close()


def _csc_harness(server: CscTestServer, version: int) -> Iterator[RemoteHarness]:
    signer = from_url(csc_url(server.url, version), client_secret=CSC_CLIENT_SECRET)
    dead = f"http://127.0.0.1:{free_port()}"
    pending = version == 2
    yield RemoteHarness(
        signer=signer,
        credential_id="rsa-1",
        authorization={"PIN": CSC_PIN},
        secrets=(CSC_CLIENT_SECRET, CSC_PIN),
        unreachable=lambda: from_url(csc_url(dead, version), client_secret=CSC_CLIENT_SECRET),
        confirm=server.confirm if pending else None,
        reject=server.reject if pending else None,
        expire=server.expire if pending else None,
        extra={"server": server},
    )
    signer.close()  # type: ignore[attr-defined]


@pytest.fixture
def csc_v1(csc_server: CscTestServer) -> Iterator[RemoteHarness]:
    """CSC API v1.0.4 (synchronous signHash)."""
    yield from _csc_harness(csc_server, 1)


@pytest.fixture
def csc_v2(csc_server: CscTestServer) -> Iterator[RemoteHarness]:
    """CSC API v2 (asynchronous signHash, confirmed through the server's test controls)."""
    yield from _csc_harness(csc_server, 2)


@pytest.fixture
def csc_dummy(test_pki: TestPki) -> Iterator[RemoteHarness]:
    """The PyPI certomancer-csc-dummy server (CSC v1, synchronous, no OAuth: any bearer token) as a second peer."""
    require(dummy.available(), "certomancer-csc-dummy not installed (pip install certomancer-csc-dummy)")
    with dummy.running_csc_dummy(test_pki) as base:
        token = "dummy-bearer-token"  # TEST ONLY: the dummy server does not check tokens
        signer = from_url(f"csc+{base}?version=1", access_token=token)
        dead = f"http://127.0.0.1:{free_port()}"
        yield RemoteHarness(
            signer=signer,
            credential_id="edoc-test/good-rsa",
            authorization={},
            secrets=(token,),
            unreachable=lambda: from_url(f"csc+{dead}?version=1", access_token=token),
        )
        signer.close()  # type: ignore[attr-defined]


# --- VNPT SmartCA and Viettel MySign: their JSON shapes served by tests/support/remote_vn.py (PKCS#12 test key) ---


def _vn_harness(server: Any, make: Callable[[str], RemoteSigner], secret: str) -> Iterator[RemoteHarness]:
    signer = make(server.url)
    (credential,) = signer.credentials()
    dead = f"{server.url.split('://')[0]}://127.0.0.1:{free_port()}"
    yield RemoteHarness(
        signer=signer, credential_id=credential.id, authorization={}, secrets=(secret,),
        unreachable=lambda: make(dead), confirm=server.confirm, reject=server.reject, expire=server.expire,
        extra={"server": server},
    )
    signer.close()  # type: ignore[attr-defined]
    server.stop()


@pytest.fixture
def vnpt_smartca(test_pki: TestPki) -> Iterator[RemoteHarness]:
    """VNPT SmartCA (sp_id/sp_password; sign → transaction, poll status) against its local test server."""
    from tests.support import remote_vn

    server = remote_vn.SmartCAServer(remote_vn.load_test_key(*test_pki.signer("good-rsa")[:2])).start()

    def make(url: str) -> RemoteSigner:
        return from_url(url, sp_id=remote_vn.SP_ID, sp_password=remote_vn.SP_PASSWORD, user_id=remote_vn.USER)

    yield from _vn_harness(server, make, remote_vn.SP_PASSWORD)


@pytest.fixture
def viettel_mysign(test_pki: TestPki) -> Iterator[RemoteHarness]:
    """Viettel MySign (login → bearer; signHash async; requests/status) against its local test server."""
    from tests.support import remote_vn

    server = remote_vn.MySignServer(remote_vn.load_test_key(*test_pki.signer("good-rsa")[:2])).start()

    def make(url: str) -> RemoteSigner:
        return from_url(url, client_id=remote_vn.CLIENT_ID, client_secret=remote_vn.CLIENT_SECRET,
                        profile_id="adss:ras:profile:001", user_id=remote_vn.USER)

    yield from _vn_harness(server, make, remote_vn.CLIENT_SECRET)
