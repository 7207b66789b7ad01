"""PKCS#12 loading, its cache and demo keys (signing.keys, signing.demo)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from signing.demo import DEMO_MARK, create_demo_pkcs12, demo_certificate
from signing.errors import SigningError
from signing.keys import KeyLoadError, KeyMaterial, load_pkcs12


@pytest.mark.parametrize(("key_type", "key_class"), [("rsa", rsa.RSAPrivateKey), ("ec", ec.EllipticCurvePrivateKey)])
def test_demo_pkcs12_is_marked_private_and_loads(tmp_path: Path, key_type: str, key_class: type) -> None:
    path = tmp_path / "demo.p12"
    made = create_demo_pkcs12(
        path, common_name="Văn thư UBND", organization="UBND tỉnh Nghệ An", password=b"s3cret", key_type=key_type
    )
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = load_pkcs12(path, b"s3cret")
    assert isinstance(loaded.private_key, key_class)
    assert loaded.certificate == made.certificate
    subject = loaded.certificate.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == DEMO_MARK
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Văn thư UBND"
    lifetime = loaded.certificate.not_valid_after_utc - loaded.certificate.not_valid_before_utc
    assert dt.timedelta(days=729) < lifetime <= dt.timedelta(days=731)


def test_demo_pkcs12_without_password(tmp_path: Path) -> None:
    path = tmp_path / "open.p12"
    create_demo_pkcs12(path, common_name="n", organization="o", password=None, key_type="ec")
    assert load_pkcs12(path, None).certificate.subject.rfc4514_string().startswith("CN=n")


def test_wrong_password_is_a_key_load_error(tmp_path: Path) -> None:
    path = tmp_path / "k.p12"
    create_demo_pkcs12(path, common_name="n", organization="o", password=b"right", key_type="ec")
    with pytest.raises(KeyLoadError, match="wrong password") as caught:
        load_pkcs12(path, b"wrong")
    assert caught.value.code == "key_load_failed"
    assert isinstance(caught.value, SigningError)
    with pytest.raises(KeyLoadError, match="password is required"):
        load_pkcs12(path, None)


def test_not_a_pkcs12_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.p12"
    junk.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot really\n")
    with pytest.raises(KeyLoadError, match="not a PKCS#12 file"):
        load_pkcs12(junk, b"x")
    with pytest.raises(KeyLoadError, match="cannot open"):
        load_pkcs12(tmp_path / "missing.p12", b"x")


def test_cache_returns_the_same_object_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "k.p12"
    create_demo_pkcs12(path, common_name="n", organization="o", password=b"pw", key_type="ec")
    first = load_pkcs12(path, b"pw")
    assert load_pkcs12(path, b"pw") is first
    assert load_pkcs12(tmp_path / "." / "k.p12", b"pw") is first  # same resolved path
    create_demo_pkcs12(path, common_name="n2", organization="o", password=b"pw", key_type="ec")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert load_pkcs12(path, b"pw") is not first


def test_repr_never_shows_key_material(tmp_path: Path) -> None:
    key = create_demo_pkcs12(tmp_path / "k.p12", common_name="n", organization="o", password=b"pw")
    numbers = key.private_key.private_numbers()  # type: ignore[union-attr]
    text = repr(key) + str(key)
    assert "RSA-2048" in text and "CN=n" in text
    assert str(numbers.d)[:12] not in text and str(numbers.p)[:12] not in text
    assert "PRIVATE" not in text


def test_weak_or_mismatched_keys_are_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(KeyLoadError, match="too weak"):
        KeyMaterial(private_key=weak, certificate=demo_certificate(weak, common_name="w", organization="o"))
    k1, k2 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(KeyLoadError, match="does not belong"):
        KeyMaterial(private_key=k1, certificate=demo_certificate(k2, common_name="x", organization="o"))
    odd = ec.generate_private_key(ec.SECP521R1())
    with pytest.raises(KeyLoadError, match="P-256 or P-384"):
        KeyMaterial(private_key=odd, certificate=demo_certificate(odd, common_name="x", organization="o"))
