"""Signing packages: the node's enveloped ``ds:Signature`` (``Reference URI=""``), appended as the last child of
edXMLHeader, replacing any Signature a relayed package carried.

Three ways in, one Signature element: :func:`sign_package` digests lxml's C14N of the parsed package,
:func:`sign_canonical_package` hashes the bytes of a package ``schemas.edxml``'s writer already wrote in canonical
form, :func:`sign_package_file` streams a file through :mod:`signing.xmldsig.c14n` twice (digest, then write). The
element is laid out once per key and namespace context (:func:`_template`) and each signature then joins its digest
and value into it (``bench/xml_signing.py``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from signing.errors import SigningError
from signing.keys import KeyMaterial
from signing.xmldsig.algorithms import C14N_10, DS_NS, ECDSA_SHA256, EDXML_NS, ENVELOPED, RSA_SHA256, SHA256_DIGEST
from signing.xmldsig.c14n import _C14nPass, _C14nWriter, _HeaderSignatures, _stream_file
from signing.xmldsig.errors import XmlSignatureError
from signing.xmldsig.parsing import _header_of, _parse_bytes, _parser, _signature_children

__all__ = ["sign_canonical_package", "sign_package", "sign_package_file"]


def sign_package(xml: bytes, key: KeyMaterial) -> bytes:
    """Sign an edXML package held in memory; returns the signed package as UTF-8 bytes.

    The digest is lxml's C14N 1.0 (no comments) of the document without its old signatures, i.e. the enveloped
    transform's output for ``URI=""``; the Signature element comes from the same builder as
    :func:`sign_package_file`'s, so both produce the same signature for the same package (the tests check that
    signxml verifies it)."""
    tree = _parse_bytes(xml)
    header = _header_of(tree.getroot())
    for old in _signature_children(header):
        _remove_keeping_tail(old)
    digest = hashlib.sha256(etree.tostring(tree, method="c14n", with_comments=False)).digest()
    in_scope = {prefix or "": uri for prefix, uri in header.nsmap.items()}
    try:
        signature = _build_signature(key, digest, in_scope)
    except (ValueError, TypeError) as exc:  # a key the algorithms cannot use
        raise SigningError(f"XML signing failed: {exc}", code="xml_sign_failed") from exc
    header.append(etree.fromstring(signature, parser=_parser()))
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def sign_canonical_package(xml: bytes, canonical: memoryview, key: KeyMaterial) -> bytes:
    """Sign a package whose C14N 1.0 form the caller already has: the same signature :func:`sign_package` makes,
    without parsing and re-serializing the package.

    ``canonical`` is a view into ``xml`` (the package less its XML declaration line and final newline, for one)
    that is the document's canonical form, with no Signature in it, and the package declares the edXML namespace
    on its root only, as default and as prefix ``edXML``: ``schemas.edxml.writer.canonical_body`` gives such a view
    for the packages that writer builds. The digest is taken over it as it is, and the Signature element is
    spliced in just before the header's end tag, where :func:`sign_package` appends it. For a 135 KB package that
    skips a parse, a C14N pass and a serialization."""
    if canonical.obj is not xml:
        raise ValueError("canonical must be a view into xml")
    end = xml.find(_HEADER_END)
    if end < 0:
        raise XmlSignatureError("not an edXML package: no edXML:edXMLHeader end tag")
    try:
        signature = _build_signature(key, hashlib.sha256(canonical).digest(), _WRITER_NAMESPACES)
    except (ValueError, TypeError) as exc:  # a key the algorithms cannot use
        raise SigningError(f"XML signing failed: {exc}", code="xml_sign_failed") from exc
    return b"".join((xml[:end], signature, xml[end:]))


_HEADER_END = b"</edXML:edXMLHeader>"
# In scope at the header of a package of schemas.edxml's writer (both declared on the root); the namespaces of the
# context are part of SignedInfo's inclusive canonical form.
_WRITER_NAMESPACES = {"": EDXML_NS, "edXML": EDXML_NS}


def sign_package_file(src: Path, dst: Path, key: KeyMaterial) -> None:
    """Sign a package file into ``dst`` in two streaming passes (digest, then write); memory stays flat."""
    header = _HeaderSignatures()
    digest = hashlib.sha256()
    _stream_file(Path(src), _C14nPass(_C14nWriter(digest.update), skip=header.is_signature, watch=header))
    if header.in_scope is None:
        raise XmlSignatureError("not an edXML package: /edXML/edXML:edXMLEnvelope/edXML:edXMLHeader not found")
    signature = _build_signature(key, digest.digest(), header.in_scope)
    _write_atomically(Path(dst), lambda out: _write_signed(Path(src), out, signature))


def _remove_keeping_tail(element: etree._Element) -> None:
    """Detach ``element`` the way the enveloped-signature transform does: the text after it stays."""
    parent = element.getparent()
    assert parent is not None
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _build_signature(key: KeyMaterial, digest: bytes, in_scope: dict[str, str]) -> bytes:
    """The ds:Signature element, signed over SignedInfo canonicalized in its place inside edXMLHeader.

    Only two texts of it change from one package to the next: DigestValue and SignatureValue. The rest (SignedInfo
    in its namespace context, the certificates' base64 in KeyInfo) is the same for every package this key signs in
    this context, so it is built once by :func:`_lay_out_signature` and kept as byte pieces around those two
    texts (:func:`_template`); each signature is then two joins and the key operation. Base64 has no character that
    Canonical XML escapes, so the joined bytes are the canonical forms lxml would write."""
    template = _template(key, in_scope)
    digest_text = base64.b64encode(digest)
    value = _sign_bytes(key, digest_text.join(template.signed_info))
    before, between, after = template.signature
    return b"".join((before, digest_text, between, base64.b64encode(value), after))


@dataclass(frozen=True, slots=True)
class _SignatureTemplate:
    signed_info: tuple[bytes, bytes]  # SignedInfo's inclusive C14N in its context, split where DigestValue goes
    signature: tuple[bytes, bytes, bytes]  # the Signature's exclusive C14N, split where the two values go


_TEMPLATES: weakref.WeakKeyDictionary[KeyMaterial, dict[frozenset[tuple[str, str]], _SignatureTemplate]] = (
    weakref.WeakKeyDictionary()
)


def _template(key: KeyMaterial, in_scope: dict[str, str]) -> _SignatureTemplate:
    """The template of ``key``'s signatures in the namespace context ``in_scope``, laid out on first use. Kept
    while the key object lives; two threads laying out the same template at once make equal ones.

    The element is laid out with both values empty and cut right after their start tags. A start tag cannot occur
    anywhere else in the canonical bytes, whatever the context holds: C14N writes ``<`` in an attribute value (a
    namespace URI of a relayed package, say) as ``&lt;``."""
    context = frozenset(in_scope.items())
    templates = _TEMPLATES.setdefault(key, {})
    template = templates.get(context)
    if template is None:
        signed_info, signature = _lay_out_signature(key, "", "", in_scope)
        before, rest = _cut_after(signature, b"<ds:DigestValue>")
        between, after = _cut_after(rest, b"<ds:SignatureValue>")
        template = templates[context] = _SignatureTemplate(
            _cut_after(signed_info, b"<ds:DigestValue>"), (before, between, after)
        )
    return template


def _cut_after(data: bytes, tag: bytes) -> tuple[bytes, bytes]:
    if data.count(tag) != 1:
        raise ValueError(f"signature template: {tag!r} found {data.count(tag)} times, expected once")
    end = data.index(tag) + len(tag)
    return data[:end], data[end:]


def _lay_out_signature(
    key: KeyMaterial, digest_text: str, value_text: str, in_scope: dict[str, str]
) -> tuple[bytes, bytes]:
    """SignedInfo canonicalized in its place (inclusive C14N 1.0, what is signed) and the whole Signature element
    (exclusive C14N, what is spliced into the package), with these DigestValue and SignatureValue texts."""
    ds = lambda name: f"{{{DS_NS}}}{name}"  # noqa: E731
    context = etree.Element(f"{{{EDXML_NS}}}edXMLHeader", nsmap={(p or None): u for p, u in in_scope.items() if u})
    signature = etree.SubElement(context, ds("Signature"), nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, ds("SignedInfo"))
    etree.SubElement(signed_info, ds("CanonicalizationMethod"), Algorithm=C14N_10)
    is_ec = isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    etree.SubElement(signed_info, ds("SignatureMethod"), Algorithm=ECDSA_SHA256 if is_ec else RSA_SHA256)
    reference = etree.SubElement(signed_info, ds("Reference"), URI="")
    transforms = etree.SubElement(reference, ds("Transforms"))
    etree.SubElement(transforms, ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(transforms, ds("Transform"), Algorithm=C14N_10)
    etree.SubElement(reference, ds("DigestMethod"), Algorithm=SHA256_DIGEST)
    etree.SubElement(reference, ds("DigestValue")).text = digest_text
    canonical_signed_info = etree.tostring(signed_info, method="c14n")
    etree.SubElement(signature, ds("SignatureValue")).text = value_text
    x509_data = etree.SubElement(etree.SubElement(signature, ds("KeyInfo")), ds("X509Data"))
    for cert in (key.certificate, *key.chain):
        etree.SubElement(x509_data, ds("X509Certificate")).text = base64.b64encode(
            cert.public_bytes(Encoding.DER)
        ).decode()
    return canonical_signed_info, etree.tostring(signature, method="c14n", exclusive=True)


def _sign_bytes(key: KeyMaterial, data: bytes) -> bytes:
    private_key = key.private_key
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        r, s = utils.decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
        size = (private_key.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _write_signed(src: Path, out: BinaryIO, signature: bytes) -> None:
    header = _HeaderSignatures(on_end=lambda: out.write(signature))
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    writer = _C14nWriter(out.write, with_comments=True)
    _stream_file(src, _C14nPass(writer, skip=header.is_signature, watch=header))


def _write_atomically(dst: Path, produce: Callable[[BinaryIO], None]) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            produce(out)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
