"""The Signature element from its template: the same bytes lxml lays out for the same values, per key and context.

signing.xmldsig builds each key's Signature once per namespace context and afterwards only joins the two values
that change (DigestValue, SignatureValue) into it. These tests hold that to the element laid out with lxml for those
values: byte for byte with RSA (PKCS#1 v1.5 signatures are deterministic), and with ECDSA (randomised) once the
SignatureValue, which must verify over the laid-out SignedInfo, is set aside.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from signing.demo import create_demo_pkcs12
from signing.keys import KeyMaterial
from signing.xmldsig import EDXML_NS
from signing.xmldsig import sign as xsign

CONTEXTS = [
    pytest.param({"": EDXML_NS, "edXML": EDXML_NS}, id="the-writer's"),
    pytest.param({"edXML": EDXML_NS}, id="prefix-only"),
    pytest.param(
        {"": EDXML_NS, "edXML": EDXML_NS, "x": "urn:example:extra", "a": "urn:example:a"}, id="extra-prefixes"
    ),
    # a relayed package's namespaces are the sender's choice: one that names the template's cut points, as far as
    # a namespace URI can (lxml refuses "<" and ">" in one, and C14N would write "<" as "&lt;")
    pytest.param(
        {"": EDXML_NS, "edXML": EDXML_NS, "DigestValue": "urn:x:ds:DigestValue:ds:SignatureValue"},
        id="odd-namespace",
    ),
]
VALUE = re.compile(rb"<ds:SignatureValue>([^<]*)</ds:SignatureValue>")


def _laid_out(key: KeyMaterial, digest: bytes, context: dict[str, str], value: bytes) -> tuple[bytes, bytes]:
    return xsign._lay_out_signature(key, base64.b64encode(digest).decode(), base64.b64encode(value).decode(), context)


def _rsa_sign(key: KeyMaterial, data: bytes) -> bytes:
    private_key = key.private_key
    assert isinstance(private_key, rsa.RSAPrivateKey)
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _digests() -> list[bytes]:
    return [hashlib.sha256(str(n).encode()).digest() for n in range(5)]


@pytest.mark.parametrize("context", CONTEXTS)
def test_rsa_signature_is_byte_for_byte_the_laid_out_element(rsa_key: KeyMaterial, context: dict[str, str]) -> None:
    for digest in _digests():
        signed_info, _ = _laid_out(rsa_key, digest, context, b"")
        value = _rsa_sign(rsa_key, signed_info)
        _, expected = _laid_out(rsa_key, digest, context, value)
        assert xsign._build_signature(rsa_key, digest, context) == expected


@pytest.mark.parametrize("context", CONTEXTS)
def test_ecdsa_signature_verifies_over_the_laid_out_signed_info(ec_key: KeyMaterial, context: dict[str, str]) -> None:
    public_key = ec_key.private_key.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    for digest in _digests():
        built = xsign._build_signature(ec_key, digest, context)
        found = VALUE.search(built)
        assert found is not None
        raw = base64.b64decode(found.group(1))
        half = len(raw) // 2
        der = utils.encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
        signed_info, expected = _laid_out(ec_key, digest, context, raw)
        public_key.verify(der, signed_info, ec.ECDSA(hashes.SHA256()))  # raises if the value signs something else
        assert built == expected


def test_a_key_with_a_chain_carries_every_certificate(rsa_key: KeyMaterial, ec_key: KeyMaterial) -> None:
    chained = KeyMaterial(rsa_key.private_key, rsa_key.certificate, chain=(ec_key.certificate,))
    context = {"": EDXML_NS, "edXML": EDXML_NS}
    digest = hashlib.sha256(b"chain").digest()
    signed_info, _ = _laid_out(chained, digest, context, b"")
    value = _rsa_sign(chained, signed_info)
    built = xsign._build_signature(chained, digest, context)
    assert built == _laid_out(chained, digest, context, value)[1]
    assert built.count(b"<ds:X509Certificate>") == 2
    # the plain key's template, in the same context, is its own: one certificate
    assert xsign._build_signature(rsa_key, digest, context).count(b"<ds:X509Certificate>") == 1


def test_each_key_and_context_gets_its_own_template(rsa_key: KeyMaterial, ec_key: KeyMaterial) -> None:
    digest = hashlib.sha256(b"x").digest()
    writer = {"": EDXML_NS, "edXML": EDXML_NS}
    extra = {**writer, "x": "urn:example:extra"}
    assert b"rsa-sha256" in xsign._build_signature(rsa_key, digest, writer)
    assert b"ecdsa-sha256" in xsign._build_signature(ec_key, digest, writer)
    assert xsign._template(rsa_key, writer) is xsign._template(rsa_key, dict(reversed(writer.items())))
    assert xsign._template(rsa_key, writer).signed_info != xsign._template(rsa_key, extra).signed_info
    assert b"urn:example:extra" in xsign._template(rsa_key, extra).signed_info[0]


def test_a_key_that_is_dropped_takes_its_templates_along(tmp_path: Path) -> None:
    # A node reloading its key (rotation, a new token session) must not keep every old key's template alive.
    key = create_demo_pkcs12(tmp_path / "k.p12", common_name="Tạm", organization="UBND", password=None, key_type="ec")
    xsign._build_signature(key, hashlib.sha256(b"x").digest(), {"": EDXML_NS})
    assert key in xsign._TEMPLATES
    before = len(xsign._TEMPLATES)
    del key
    gc.collect()
    assert len(xsign._TEMPLATES) == before - 1


def test_a_namespace_that_cannot_be_written_is_a_signing_error(rsa_key: KeyMaterial) -> None:
    # _build_signature's callers turn ValueError into SigningError(xml_sign_failed): a clear refusal, not a crash
    with pytest.raises(ValueError, match="namespace"):
        xsign._build_signature(rsa_key, hashlib.sha256(b"x").digest(), {"": EDXML_NS, "x": "urn:<ds:DigestValue>"})
