"""Pytest plugin: the session's test PKI (with live OCSP/CRL/TSA) and a SoftHSM2 token holding its RSA signer.

Registered in ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.pki.fixtures"]``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.env import require
from tests.support.pki.core import TestPki, running_test_pki
from tests.support.pki.softhsm import SoftHsmToken, create_token, find_softhsm_module, write_conf

__all__ = ["softhsm_token", "test_pki"]


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPki]:
    """The generated PKI, its responders serving on 127.0.0.1 for the whole session (see pki/README.md)."""
    with running_test_pki(tmp_path_factory.mktemp("test-pki")) as pki:
        yield pki


@pytest.fixture(scope="session")
def softhsm_token(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsmToken]:
    """A SoftHSM2 token with the "good-rsa" key, its certificate and chain; sets ``SOFTHSM2_CONF``."""
    module = find_softhsm_module()
    require(
        module is not None and shutil.which("softhsm2-util") is not None,
        "SoftHSM2 not installed (Debian package softhsm2)",
    )
    assert module is not None
    directory = tmp_path_factory.mktemp("softhsm")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(write_conf(directory))
    try:
        _, _, cert = test_pki.signer("good-rsa")
        chain = tuple(
            c.public_bytes(serialization.Encoding.DER)
            for c in (test_pki.intermediate_cert, test_pki.root_cert)
        )
        yield create_token(
            directory,
            module,
            test_pki.key_pem_path("good-rsa").read_bytes(),
            cert.public_bytes(serialization.Encoding.DER),
            chain,
        )
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous
