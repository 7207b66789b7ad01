"""Pytest plugin: remote-signing providers under test, each a :class:`RemoteHarness` (registered in tests/conftest.py).

A harness is a configured :class:`~signing.remote.interfaces.RemoteSigner` plus the test controls of the server it
talks to (confirm / reject / let expire a pending transaction: what the signer does on the phone), so the contract
in tests/contract/test_remote_signer.py runs unchanged against every adapter. To add an adapter: write a fixture
returning a RemoteHarness for it (here or in its own plugin) and add its name to ``REMOTE_HARNESSES``.

CSC: :mod:`tests.support.csc_server` on 127.0.0.1, the "good-rsa" key of the test PKI inside SoftHSM2 (credential
``rsa-1``, PIN ``CSC_PIN``) and the "good-ec" key in memory (credential ``ec-1``). TEST ONLY secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from signing.remote import from_url
from signing.remote.interfaces import RemoteSigner
from tests.support.csc_server import CscTestServer, SoftHsmKey, SoftwareKey, running_csc_server
from tests.support.pki import TestPki
from tests.support.pki.softhsm import SoftHsmToken
from tests.support.server import free_port

__all__ = [
    "CSC_CLIENT_ID",
    "CSC_CLIENT_SECRET",
    "CSC_PIN",
    "REMOTE_HARNESSES",
    "RemoteHarness",
    "csc_server",
    "csc_v1",
    "csc_v2",
]

CSC_CLIENT_ID = "edoc-gateway"
CSC_CLIENT_SECRET = "test-only-client-secret-7f3a"  # TEST ONLY
CSC_PIN = "246810"  # TEST ONLY

REMOTE_HARNESSES = ["csc_v1", "csc_v2"]  # fixture names; other adapters add theirs here


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
