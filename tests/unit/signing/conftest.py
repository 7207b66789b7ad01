"""Fixtures of the signing unit tests: generated demo keys (test keys, made for the session, never stored)."""

from __future__ import annotations

import pytest

from signing.demo import create_demo_pkcs12
from signing.keys import KeyMaterial


@pytest.fixture(scope="session")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> KeyMaterial:
    path = tmp_path_factory.mktemp("keys") / "rsa.p12"
    return create_demo_pkcs12(path, common_name="Văn thư", organization="UBND", password=b"pw", key_type="rsa")


@pytest.fixture(scope="session")
def ec_key(tmp_path_factory: pytest.TempPathFactory) -> KeyMaterial:
    path = tmp_path_factory.mktemp("keys") / "ec.p12"
    return create_demo_pkcs12(path, common_name="Văn thư", organization="UBND", password=b"pw", key_type="ec")
