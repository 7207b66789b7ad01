"""TrustStore: pinned anchors in independent named sets; configuration mistakes fail at load time."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization

from signing.errors import SigningError
from signing.pdf.trust import (
    GOV_SPECIALISED_SET,
    NATIONAL_ROOT_SET,
    AnchorConfig,
    TrustConfigError,
    TrustStore,
)


def _sha(cert) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_two_independent_sets(test_pki):
    store = TrustStore.from_config({
        NATIONAL_ROOT_SET: [AnchorConfig(test_pki.root_pem_path, _sha(test_pki.root_cert))],
        GOV_SPECIALISED_SET: [{"path": str(test_pki.untrusted_root_pem_path),
                               "sha256": _sha(test_pki.untrusted_root_cert).upper()}],
    })
    assert store.set_names == (NATIONAL_ROOT_SET, GOV_SPECIALISED_SET)
    (national,) = store.anchors([NATIONAL_ROOT_SET])
    assert national.sha256 == _sha(test_pki.root_cert) and "Edoc Test Root CA" in national.subject
    assert len(store.anchors()) == 2
    assert store.set_names_of(_sha(test_pki.untrusted_root_cert)) == (GOV_SPECIALISED_SET,)


def test_fingerprint_with_colons_and_relative_path(test_pki):
    fingerprint = ":".join(_sha(test_pki.root_cert)[i:i + 2] for i in range(0, 64, 2))
    store = TrustStore.from_config(
        {"s": [{"path": test_pki.root_pem_path.name, "sha256": fingerprint}]}, base_dir=test_pki.root_pem_path.parent
    )
    assert len(store.anchors(["s"])) == 1


def test_fingerprint_mismatch_is_a_config_error(test_pki):
    with pytest.raises(TrustConfigError) as info:
        TrustStore.from_config({"s": [AnchorConfig(test_pki.root_pem_path, _sha(test_pki.untrusted_root_cert))]})
    assert info.value.code == "trust_fingerprint_mismatch" and isinstance(info.value, SigningError)


def test_unknown_set_and_empty_set(test_pki):
    store = TrustStore.from_config({"s": [AnchorConfig(test_pki.root_pem_path, _sha(test_pki.root_cert))]})
    with pytest.raises(TrustConfigError) as info:
        store.anchors(["nope"])
    assert info.value.code == "trust_unknown_set"
    with pytest.raises(TrustConfigError) as info:
        TrustStore.from_config({"empty": []})
    assert info.value.code == "trust_empty_set"


@pytest.mark.parametrize("content", [b"not a certificate", b""])
def test_unreadable_anchor(tmp_path, content):
    path = tmp_path / "a.pem"
    path.write_bytes(content)
    with pytest.raises(TrustConfigError) as info:
        TrustStore.from_config({"s": [AnchorConfig(path, "00" * 32)]})
    assert info.value.code == "trust_unreadable"


def test_pem_with_two_certificates_is_refused(test_pki, tmp_path):
    path = tmp_path / "two.pem"
    path.write_bytes(test_pki.root_pem_path.read_bytes() + test_pki.intermediate_pem_path.read_bytes())
    with pytest.raises(TrustConfigError, match="exactly one"):
        TrustStore.from_config({"s": [AnchorConfig(path, _sha(test_pki.root_cert))]})


def test_missing_file(tmp_path):
    with pytest.raises(TrustConfigError) as info:
        TrustStore.from_config({"s": [AnchorConfig(tmp_path / "missing.pem", "00" * 32)]})
    assert info.value.code == "trust_unreadable"
