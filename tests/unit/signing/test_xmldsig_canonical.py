"""sign_canonical_package: the signature of a package the writer built, taken over its bytes as they are.

It must be the signature sign_package makes (same digest; the same SignatureValue with RSA, whose PKCS#1 v1.5
signatures are deterministic), and every verifier must accept it: signxml, ours in memory, ours streaming.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import HealthCheck, given, settings
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier

from schemas.edxml import EdocPackage, StatusPackage, build_edoc, build_status
from schemas.edxml.writer import canonical_body
from service.exchange.compose import sign_built
from signing.keys import KeyMaterial
from signing.xmldsig import DS_NS, EDXML_NS, sign_canonical_package, sign_package, verify_package, verify_package_file
from tests.unit.schemas.test_roundtrip_property import packages, statuses

HEADER = f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _signature(xml: bytes) -> bytes:
    (element,) = etree.fromstring(xml).iter(f"{{{DS_NS}}}Signature")
    return etree.tostring(element, method="c14n")


def _check(unsigned: bytes, key: KeyMaterial, tmp_path: Path) -> None:
    canonical = canonical_body(unsigned)
    assert canonical is not None
    signed = sign_canonical_package(unsigned, canonical, key)
    rsa = isinstance(key.private_key, RSAPrivateKey)
    if rsa:  # deterministic signatures: the service's helper takes this path, byte for byte
        assert sign_built(unsigned, key) == signed
    assert verify_package(signed, trusted=[key.certificate]).code == "valid"
    path = tmp_path / "signed.edxml"
    path.write_bytes(signed)
    assert verify_package_file(path, trusted=[key.certificate]).code == "valid"
    config = SignatureConfiguration(location=f"./{HEADER}/", verification_time=key.certificate.not_valid_before_utc)
    XMLVerifier().verify(signed, x509_cert=key.certificate, expect_config=config)  # raises if not valid
    header = etree.fromstring(signed).find(HEADER)
    assert header is not None and etree.QName(header[-1]).localname == "Signature"  # where sign_package puts it
    if rsa:
        assert _signature(signed) == _signature(sign_package(unsigned, key))
    else:  # ECDSA signatures differ each time; the digest must not
        digest = f".//{{{DS_NS}}}DigestValue"
        general = sign_package(unsigned, key)
        assert etree.fromstring(signed).findtext(digest) == etree.fromstring(general).findtext(digest)


@SETTINGS
@given(pkg=packages)
def test_built_packages_sign_as_sign_package_signs_them(
    pkg: EdocPackage, rsa_key: KeyMaterial, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _check(build_edoc(pkg), rsa_key, tmp_path_factory.mktemp("edoc"))


@SETTINGS
@given(st_pkg=statuses)
def test_built_status_packages_sign_as_sign_package_signs_them(
    st_pkg: StatusPackage, ec_key: KeyMaterial, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _check(build_status(st_pkg), ec_key, tmp_path_factory.mktemp("status"))


def test_a_changed_byte_after_signing_is_caught(rsa_key: KeyMaterial) -> None:
    unsigned = build_status(statuses_example())
    canonical = canonical_body(unsigned)
    assert canonical is not None
    signed = sign_canonical_package(unsigned, canonical, rsa_key)
    tampered = signed.replace(b"<edXML:StatusCode>", b"<edXML:StatusCode>0", 1)
    assert tampered != signed
    assert verify_package(tampered).code == "invalid"


def test_a_view_into_other_bytes_is_refused(rsa_key: KeyMaterial) -> None:
    unsigned = build_status(statuses_example())
    copy = bytes(bytearray(unsigned))
    canonical = canonical_body(copy)
    assert canonical is not None
    with pytest.raises(ValueError, match="view into xml"):
        sign_canonical_package(unsigned, canonical, rsa_key)


def test_bytes_not_from_the_writer_are_signed_the_general_way(rsa_key: KeyMaterial) -> None:
    foreign = build_status(statuses_example()).replace(b'encoding="UTF-8"', b"encoding='UTF-8'", 1)
    assert canonical_body(foreign) is None
    signed = sign_built(foreign, rsa_key)
    assert verify_package(signed).code == "valid"
    assert _signature(signed) == _signature(sign_package(foreign, rsa_key))


def statuses_example() -> StatusPackage:
    """One fixed status package (the strategies' shape, without hypothesis)."""
    import datetime as dt

    from schemas.edxml import Organization, ResponseFor

    return StatusPackage(
        from_=Organization(organ_id="000.00.00.H53", organ_name="UBND tỉnh\r\n<Tây Ninh> & \"x\""),
        response_for=ResponseFor(organ_id="000.00.11.H53", document_id="000.00.11.H53,2026/11/20,12/STTTT-VP"),
        status_code="03",
        timestamp=dt.datetime(2026, 11, 20, 8, 30),
    )
