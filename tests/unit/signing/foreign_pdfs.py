"""Signed PDFs in the shapes other software writes (issue 18), generated here (no tests in this module).

Each helper starts from a genuinely pyHanko-signed file and rewrites what other signers do differently: the
signature dictionary (sub-filter, /M without offset, a '.' in the field name), or the CMS itself (legacy
``adbe.pkcs7.sha1`` encapsulated digest, plain r‖s ECDSA, two SignerInfos). Same-length byte patches keep every
offset valid; the CMS is then rebuilt over the patched byte range with the signer's TEST ONLY key, so the
signature is genuinely valid for what the file now says. EdDSA signers get a certificate issued here by the test
PKI's intermediate CA.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable

from asn1crypto import algos, cms, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tests.support.pki import TestPki
from tests.unit.signing.test_pdf_verify_kit import asn1

__all__ = ["build_cms", "eddsa_signed", "patch_and_resign", "signer_material"]

_BR = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def signer_material(pki: TestPki, name: str):
    """``(private key, certificate, chain)`` of a test signer, as cryptography objects (TEST ONLY keys)."""
    key = serialization.load_pem_private_key(pki.key_pem_path(name).read_bytes(), password=None)
    _, _, cert = pki.signer(name)
    return key, cert, [pki.intermediate_cert, pki.root_cert]


def patch_and_resign(
    signed: bytes,
    make_contents: Callable[[bytes], bytes],
    patches: tuple[tuple[bytes, bytes], ...] = (),
) -> bytes:
    """Apply same-length ``patches`` to the newest signature's revision, then refill its /Contents.

    ``make_contents(signed_bytes)`` returns the DER to place in the gap (zero-padded)."""
    match = list(_BR.finditer(signed))[-1]
    s1, l1, s2, l2 = (int(match[i]) for i in range(1, 5))
    data = bytearray(signed)
    for old, new in patches:
        assert len(old) == len(new), (old, new)
        at = bytes(data).rfind(old, 0, l1)
        at = at if at >= 0 else bytes(data).find(old, s2)
        assert at >= 0, old
        data[at : at + len(old)] = new
    covered = bytes(data[s1 : s1 + l1]) + bytes(data[s2 : s2 + l2])
    hexed = make_contents(covered).hex().encode()
    room = s2 - l1 - 2
    assert len(hexed) <= room, "reserved /Contents space too small"
    data[l1 + 1 : s2 - 1] = hexed + b"0" * (room - len(hexed))
    return bytes(data)


def build_cms(
    data: bytes,
    key,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    *,
    digest: str = "sha256",
    legacy_sha1: bool = False,
    plain_ecdsa: bool = False,
    signer_infos: int = 1,
) -> bytes:
    """RFC 5652 SignedData over ``data``, written the way other tools write it (see the keyword arguments)."""
    encap = hashlib.sha1(data).digest() if legacy_sha1 else None
    to_hash = encap if encap is not None else data
    attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.new(digest, to_hash).digest()]}),
    ])
    value, algo = _sign(key, attrs.dump(), digest, plain_ecdsa)
    a1 = asn1(cert)
    info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier(
            {"issuer_and_serial_number": {"issuer": a1.issuer, "serial_number": a1.serial_number}}
        ),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest}),
        "signed_attrs": attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": algo}),
        "signature": value,
    })
    content = {"content_type": "data"}
    if encap is not None:
        content["content"] = encap
    sd = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest})],
        "encap_content_info": content,
        "certificates": [asn1(c) for c in [cert, *chain]],
        "signer_infos": [info] * signer_infos,
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": sd}).dump()


def _sign(key, tbs: bytes, digest: str, plain: bool) -> tuple[bytes, str]:
    h = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha512": hashes.SHA512}[digest]()
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(tbs, padding.PKCS1v15(), h), f"{digest}_rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(tbs, ec.ECDSA(h))
        if not plain:
            return der, f"{digest}_ecdsa"
        r, s = decode_dss_signature(der)
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big"), f"{digest}_ecdsa"
    raise TypeError(type(key))


def eddsa_signed(pdf: bytes, pki: TestPki, curve: str = "ed25519") -> bytes:
    """``pdf`` signed by pyHanko with an Ed25519/Ed448 key certified by the test PKI's intermediate CA."""
    key = ed25519.Ed25519PrivateKey.generate() if curve == "ed25519" else ed448.Ed448PrivateKey.generate()
    issuer_key = serialization.load_pem_private_key(pki.key_pem_path("interm").read_bytes(), password=None)
    assert isinstance(issuer_key, rsa.RSAPrivateKey)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Người ký {curve} (TEST ONLY)")]))
        .issuer_name(pki.intermediate_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2028, 1, 1, tzinfo=dt.UTC))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .sign(issuer_key, hashes.SHA256())
    )
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signers.SimpleSigner(
        signing_cert=asn1(cert),
        signing_key=keys.PrivateKeyInfo.load(der_key),
        cert_registry=SimpleCertificateStore.from_certs([asn1(pki.intermediate_cert), asn1(pki.root_cert)]),
    )
    meta = signers.PdfSignatureMetadata(field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES)
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
    return out.getvalue()


def certificate_of(signed: bytes) -> asn1_x509.Certificate:  # pragma: no cover - debugging aid
    match = list(_BR.finditer(signed))[-1]
    gap = signed[int(match[2]) + 1 : int(match[3]) - 1].rstrip(b"0")
    sd = cms.ContentInfo.load(bytes.fromhex(gap.decode() + ("0" if len(gap) % 2 else "")))["content"]
    return sd["certificates"][0].chosen


def x509_rsa_sha1_signed(pdf: bytes, pki: TestPki, name: str = "good-rsa") -> bytes:
    """``pdf`` signed with the legacy ``adbe.x509.rsa_sha1`` sub-filter (ISO 32000-1 §12.8.3.2): /Contents is a
    DER OCTET STRING holding a PKCS#1 v1.5 SHA-1 signature of the byte range, /Cert holds the certificate."""
    from asn1crypto import core
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name
    from pyhanko.sign.signers.pdf_byterange import PdfByteRangeDigest

    key, cert, _ = signer_material(pki, name)
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    sig = PdfByteRangeDigest(bytes_reserved=2048)
    sig[pdf_name("/Type")] = pdf_name("/Sig")
    sig[pdf_name("/Filter")] = pdf_name("/Adobe.PPKLite")
    sig[pdf_name("/SubFilter")] = pdf_name("/adbe.x509.rsa_sha1")
    sig[pdf_name("/Cert")] = generic.ByteStringObject(cert.public_bytes(serialization.Encoding.DER))
    sig[pdf_name("/M")] = generic.TextStringObject("D:20260601020000+00'00'")
    page_ref = w.root["/Pages"]["/Kids"].raw_get(0)
    field = w.add_object(generic.DictionaryObject({
        pdf_name("/FT"): pdf_name("/Sig"), pdf_name("/T"): generic.TextStringObject("Legacy"),
        pdf_name("/V"): w.add_object(sig), pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/Widget"), pdf_name("/F"): generic.NumberObject(132),
        pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4), pdf_name("/P"): page_ref,
    }))
    page = page_ref.get_object()
    page["/Annots"] = generic.ArrayObject([field])
    w.update_container(page)
    w.root["/AcroForm"] = generic.DictionaryObject({
        pdf_name("/Fields"): generic.ArrayObject([field]), pdf_name("/SigFlags"): generic.NumberObject(3),
    })
    w.update_root()
    w.digest_aware_write = True
    out = io.BytesIO()
    w.write(out)
    eof = out.tell()
    start, end = sig.contents.offsets
    sig.byte_range.fill_offsets(out, start, end, eof)
    data = bytearray(out.getvalue())
    signed = bytes(data[:start]) + bytes(data[end:eof])
    assert isinstance(key, rsa.RSAPrivateKey)
    value = core.OctetString(key.sign(signed, padding.PKCS1v15(), hashes.SHA1())).dump()
    hexed = value.hex().encode()
    data[start + 1 : start + 1 + len(hexed)] = hexed
    return bytes(data)
