"""XML-DSig signatures of edXML packages (QCVN 102:2016): sign as the national axis expects, verify as a value.

What this module owns
    The package signature: one enveloped ``ds:Signature`` with ``Reference URI=""`` (the whole package), placed as
    the last child of ``/edXML/edXML:edXMLEnvelope/edXML:edXMLHeader`` (STANDARDS.md §2). A relay re-signs: any
    Signature already in the header is replaced. Verification returns :class:`XmlSignatureCheck`; only input that
    cannot be read at all raises :class:`XmlSignatureError`. Whether an unsigned or weak package is refused is the
    service's policy, decided from ``XmlSignatureCheck.code``.

Canonicalization: inclusive Canonical XML 1.0 (``REC-xml-c14n-20010315``) for SignedInfo and, after the
enveloped-signature transform, for the Reference
    Both field samples from the national-axis SDK kit canonicalize SignedInfo with inclusive C14N 1.0, and the older
    one digests the document with it too (enveloped transform only, C14N 1.0 being XML-DSig's default). It is the
    one algorithm every XML-DSig verifier must implement, the Java SDK included. With ``URI=""`` the signed node-set
    is the whole document, which has no ancestors, so exclusive C14N's benefit (moving a signed subtree into
    another context) buys nothing here. The exclusive transform seen in ``edoc_new`` is accepted when verifying.
    Algorithms sent: RSA-SHA256 (PKCS#1 v1.5, what the field's verifiers know) or ECDSA-SHA256, SHA-256 digests;
    SHA-1 is accepted on input only, reported as weak.

Two engines, one behaviour
    ``verify_package`` (bytes) verifies with signxml, the field's well-kept implementation, which also checks
    what other signers send. signxml copies the whole document several times (serialize + re-parse per reference
    and per transform) and lxml's own C14N writer buffers the whole escaped text of an attachment before writing
    it: 4-6× the package size, i.e. most of a gigabyte for a package carrying a 100 MB attachment (~135 MB of
    XML). ``sign_package_file``/``verify_package_file`` therefore stream: expat events (prefixes kept) go through a
    small C14N 1.0 writer (inclusive and exclusive) into a hash or into the output file, in 1 MiB reads, so memory
    stays flat whatever the package size. The Signature element itself is small and is laid out with lxml by one
    builder, once per key and namespace context; each signature then joins its digest and value into that template
    (a quarter of the element's CPU beyond the key operation: ``bench/xml_signing.py``). ``sign_package`` (bytes)
    shares it: it digests lxml's C14N of the parsed document instead of letting signxml serialize and re-parse the
    package (signing is on every submit and every status, and signxml took twice the CPU for a 135 KB package).
    The unit tests cross-check the engines both ways (signxml accepts what both signers write, both verifiers
    accept what signxml signs) and compare the streaming canonicalizer byte for byte with lxml's on the field
    samples. The packages the gateway builds itself skip even lxml's C14N:
    ``schemas.edxml``'s writer writes them in canonical form already, and ``sign_canonical_package`` hashes those
    bytes as they are (0.39x the CPU for a 138 KB package, RSA-2048 included: ``bench/xml_signing.py``).

Hardened parsing: no DTD, no entities, no network. lxml runs with ``resolve_entities=False, no_network=True,
load_dtd=False, huge_tree=True``; expat with parameter entities off; a DOCTYPE is refused in both.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, SignXMLException
from signxml.exceptions import InvalidSignature as SignXmlInvalidSignature

from signing.errors import SigningError
from signing.keys import KeyMaterial
from signing.xmldsig_stream import (
    DS_NS,
    EDXML_NS,
    XmlSignatureError,
    _C14nPass,
    _C14nWriter,
    _HeaderSignatures,
    _SignatureScan,
    _StopParsing,
    _stream_file,
)
from signing.xmldsig_stream import NamespaceError as _NamespaceError

__all__ = [
    "DS_NS",
    "EDXML_NS",
    "XmlSignatureCheck",
    "XmlSignatureError",
    "sign_canonical_package",
    "sign_package",
    "sign_package_file",
    "verify_package",
    "verify_package_file",
]

XML_NS = "http://www.w3.org/XML/1998/namespace"

C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_C14N = {  # algorithm URI -> (exclusive, with_comments); C14N 1.1 equals 1.0 on a whole document
    C14N_10: (False, False),
    C14N_10 + "#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmldsig-more#sha224": hashes.SHA224,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_SIGNATURES: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {  # URI -> (scheme, hash)
    DS_NS + "rsa-sha1": ("pkcs1", hashes.SHA1),
    DS_NS + "dsa-sha1": ("dsa", hashes.SHA1),
    _MORE + "ecdsa-sha1": ("ecdsa", hashes.SHA1),
    **{f"{_MORE}rsa-sha{n}": ("pkcs1", h) for n, h in ((224, hashes.SHA224), (256, hashes.SHA256),
                                                        (384, hashes.SHA384), (512, hashes.SHA512))},
    **{f"{_MORE}ecdsa-sha{n}": ("ecdsa", h) for n, h in ((224, hashes.SHA224), (256, hashes.SHA256),
                                                          (384, hashes.SHA384), (512, hashes.SHA512))},
    **{f"http://www.w3.org/2007/05/xmldsig-more#sha{n}-rsa-MGF1": ("pss", h)
       for n, h in ((256, hashes.SHA256), (384, hashes.SHA384), (512, hashes.SHA512))},
}  # fmt: skip
SHA256_DIGEST = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = _MORE + "rsa-sha256"
ECDSA_SHA256 = _MORE + "ecdsa-sha256"

P_ABSENT = "The package carries no XML signature."
P_DIGEST = "The package content was changed after signing (reference digest mismatch)."
P_SIGNATURE = "The signature value does not verify with the signer certificate's public key."
P_FOREIGN = "The Signature element is not in the XML-DSig namespace (" + DS_NS + "), so it cannot be verified."
P_MISPLACED = "The signature is not a child of edXML:edXMLHeader, where QCVN 102:2016 packages carry it."
P_NO_CERT = "The signature carries no X509Certificate in KeyInfo, so the signer cannot be identified."


@dataclass(frozen=True)
class XmlSignatureCheck:
    """The outcome of checking a package signature. ``valid`` means cryptographically intact (the signature
    verifies with the certificate in KeyInfo and the package is unchanged), whatever the algorithm strength and
    trust. ``weak``: SHA-1 anywhere, RSA < 2048 or EC < 256 bits. ``trusted`` is None when no trust list was given,
    otherwise whether the signer certificate is, or chains by signature to, one of them (no revocation or
    validity-time check here). ``code``: "absent", "invalid" (present but not intact or unreadable), "weak"
    (intact but weak) or "valid"."""

    present: bool
    valid: bool
    weak: bool
    signature_algorithm: str | None
    digest_algorithm: str | None
    signer_subject: str | None
    signer_certificate_sha256: str | None
    key_size: int | None
    trusted: bool | None
    problems: tuple[str, ...]
    code: str


# --------------------------------------------------------------------------------------------- public API


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


def verify_package(xml: bytes, *, trusted: Sequence[x509.Certificate] = ()) -> XmlSignatureCheck:
    """Check the signature of an edXML package held in memory (signxml); see :class:`XmlSignatureCheck`."""
    try:
        tree, oddity = _parse_bytes(xml), None
    except _NamespaceError as exc:  # the field has packages with undeclared prefixes: read them, report it
        tree, oddity = _parse_bytes(xml, recover=True), exc.message
    root = tree.getroot()
    found = _find_signature_in_tree(root)
    if found is None:
        return _absent()
    element, in_header = found
    facts = _inspect(element)
    if oddity is not None:
        facts.problems.append(f"{oddity}; its signature cannot be verified.")
    if facts.verifiable:
        facts.problems.extend(_signxml_problems(root, in_header, facts))
    return _report(facts, in_header=in_header, trusted=trusted)


def sign_package_file(src: Path, dst: Path, key: KeyMaterial) -> None:
    """Sign a package file into ``dst`` in two streaming passes (digest, then write); memory stays flat."""
    header = _HeaderSignatures()
    digest = hashlib.sha256()
    _stream_file(Path(src), _C14nPass(_C14nWriter(digest.update), skip=header.is_signature, watch=header))
    if header.in_scope is None:
        raise XmlSignatureError("not an edXML package: /edXML/edXML:edXMLEnvelope/edXML:edXMLHeader not found")
    signature = _build_signature(key, digest.digest(), header.in_scope)
    _write_atomically(Path(dst), lambda out: _write_signed(Path(src), out, signature))


def verify_package_file(path: Path, *, trusted: Sequence[x509.Certificate] = ()) -> XmlSignatureCheck:
    """Check the signature of an edXML package file, streaming; same report as :func:`verify_package`."""
    scan = _SignatureScan()
    try:
        with contextlib.suppress(_StopParsing):
            _stream_file(Path(path), scan)
    except _NamespaceError:  # rare field quirk: fall back to the in-memory reader, which reports it
        return verify_package(Path(path).read_bytes(), trusted=trusted)
    if scan.captured is None:
        return _absent()
    element = _parse_bytes(scan.captured).getroot()
    facts = _inspect(element)
    if facts.verifiable:
        facts.problems.extend(_streaming_problems(Path(path), scan.ordinal, facts))
    return _report(facts, in_header=scan.in_header, trusted=trusted)


# ------------------------------------------------------------------------------------- hardened parsing


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_blank_text=False
    )


def _parse_bytes(xml: bytes, *, recover: bool = False) -> etree._ElementTree:
    if not isinstance(xml, bytes | bytearray):
        raise XmlSignatureError("the package must be given as bytes")
    parser = _parser()
    if recover:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
                                 recover=True)  # fmt: skip
    try:
        tree = etree.ElementTree(etree.fromstring(bytes(xml), parser=parser))
    except etree.XMLSyntaxError as exc:
        # Classify by the error that ended this parse: lxml's log may also hold entries from earlier parses on the
        # same thread, so "every logged error" depends on what ran before.
        last = exc.error_log.last_error
        if last is not None and last.domain == etree.ErrorDomains.NAMESPACE:
            raise _NamespaceError(f"The package breaks the XML namespace rules ({last.message})") from exc
        raise XmlSignatureError(f"the package is not well-formed XML: {exc}") from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlSignatureError("DOCTYPE declarations are not accepted in edXML packages (DTDs and entities off)")
    if any(True for _ in tree.getroot().iter(etree.Entity)):
        raise XmlSignatureError("entity references are not accepted in edXML packages")
    return tree


def _header_of(root: etree._Element) -> etree._Element:
    header = root.find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader")
    if root.tag != f"{{{EDXML_NS}}}edXML" or header is None:
        raise XmlSignatureError("not an edXML package: /edXML/edXML:edXMLEnvelope/edXML:edXMLHeader not found")
    return header


def _signature_children(header: etree._Element) -> list[etree._Element]:
    return [c for c in header if isinstance(c.tag, str) and etree.QName(c).localname == "Signature"]


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


def _find_signature_in_tree(root: etree._Element) -> tuple[etree._Element, bool] | None:
    header = root.find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader")
    in_header = _signature_children(header) if header is not None else []
    for candidate in in_header:
        if candidate.tag == f"{{{DS_NS}}}Signature":
            return candidate, True
    anywhere = next(root.iter(f"{{{DS_NS}}}Signature"), None)
    if anywhere is not None:
        return anywhere, False
    return (in_header[0], True) if in_header else None


# ------------------------------------------------------------------------------- signature inspection


@dataclass
class _Facts:
    """What the Signature element says, read without trusting it."""

    namespace: str
    signature_method: str | None = None
    c14n_method: str | None = None
    inclusive_prefixes: tuple[str, ...] = ()
    transform_prefixes: tuple[str, ...] = ()
    transforms: tuple[str, ...] = ()
    reference_uri: str | None = None
    digest_method: str | None = None
    digest_value: bytes | None = None
    signature_value: bytes | None = None
    certificate: x509.Certificate | None = None
    certificates: tuple[x509.Certificate, ...] = ()
    signed_info: etree._Element | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def verifiable(self) -> bool:
        return not self.problems and self.certificate is not None


def _inspect(signature: etree._Element) -> _Facts:
    ns = etree.QName(signature).namespace or ""
    facts = _Facts(namespace=ns)
    q = (lambda name: f"{{{ns}}}{name}") if ns else (lambda name: name)
    signed_info = signature.find(q("SignedInfo"))
    references = signed_info.findall(q("Reference")) if signed_info is not None else []
    facts.signed_info = signed_info
    facts.signature_method = _algorithm(signed_info, q("SignatureMethod"))
    facts.c14n_method = _algorithm(signed_info, q("CanonicalizationMethod"))
    if references:
        facts.reference_uri = references[0].get("URI")
        facts.digest_method = _algorithm(references[0], q("DigestMethod"))
        transforms = references[0].findall(f"{q('Transforms')}/{q('Transform')}")
        facts.transforms = tuple(t.get("Algorithm", "") for t in transforms)
        facts.transform_prefixes = _prefix_list(transforms)
        facts.digest_value = _b64(references[0].findtext(q("DigestValue")))
    facts.signature_value = _b64(signature.findtext(q("SignatureValue")))
    if signed_info is not None:
        facts.inclusive_prefixes = _prefix_list(signed_info.findall(q("CanonicalizationMethod")))
    _read_certificates(signature, q, facts)
    if ns != DS_NS:
        facts.problems.insert(0, P_FOREIGN)
    else:
        facts.problems.extend(_structure_problems(facts, len(references)))
    return facts


def _prefix_list(methods: list[etree._Element]) -> tuple[str, ...]:
    """The InclusiveNamespaces PrefixList of an exclusive C14N method element, if any."""
    for method in methods:
        found = method.find(f"{{{_EXC_C14N}}}InclusiveNamespaces")
        if found is not None:
            return tuple(found.get("PrefixList", "").split())
    return ()


def _algorithm(parent: etree._Element | None, tag: str) -> str | None:
    child = parent.find(tag) if parent is not None else None
    return child.get("Algorithm") if child is not None else None


def _b64(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError:
        return None


def _read_certificates(signature: etree._Element, q: Callable[[str], str], facts: _Facts) -> None:
    found = signature.findall(f"{q('KeyInfo')}/{q('X509Data')}/{q('X509Certificate')}")
    texts = [element.text or "" for element in found]
    if not texts:
        facts.problems.append(P_NO_CERT)
        return
    certificates = []
    for text in texts:
        der = _b64(text)
        try:
            certificates.append(x509.load_der_x509_certificate(der or b""))
        except ValueError:
            facts.problems.append("The signer certificate in KeyInfo cannot be read (truncated or not DER).")
            return
    facts.certificates = tuple(certificates)
    facts.certificate = _leaf(certificates)


def _leaf(certificates: list[x509.Certificate]) -> x509.Certificate:
    """The certificate that issued none of the others (XML-DSig implies no order in X509Data)."""
    issuers = {c.issuer for c in certificates}
    leaves = [c for c in certificates if c.subject not in issuers or c.subject == c.issuer]
    return (leaves or certificates)[0]


def _structure_problems(facts: _Facts, references: int) -> list[str]:
    problems = []
    if facts.signed_info is None or facts.signature_value is None:
        problems.append("The signature lacks SignedInfo or a readable SignatureValue.")
    if references != 1 or facts.reference_uri != "":
        problems.append('The signature must carry exactly one Reference with URI="" (the whole package).')
    if ENVELOPED not in facts.transforms:
        problems.append("The Reference lacks the enveloped-signature transform.")
    unknown: list[str | None] = [t for t in facts.transforms if t != ENVELOPED and t not in _C14N]
    unknown += [m for m in (facts.c14n_method,) if m not in _C14N]
    unknown += [m for m in (facts.signature_method,) if m not in _SIGNATURES]
    unknown += [m for m in (facts.digest_method,) if m not in _DIGESTS]
    if unknown:
        problems.append(f"Unsupported or missing algorithm: {', '.join(str(u) for u in unknown)}.")
    if facts.digest_value is None and not problems:
        problems.append("The Reference has no readable DigestValue.")
    return problems


# --------------------------------------------------------------------------------------------- report


def _absent() -> XmlSignatureCheck:
    return XmlSignatureCheck(
        present=False, valid=False, weak=False, signature_algorithm=None, digest_algorithm=None,
        signer_subject=None, signer_certificate_sha256=None, key_size=None, trusted=None,
        problems=(P_ABSENT,), code="absent",
    )  # fmt: skip


def _report(facts: _Facts, *, in_header: bool, trusted: Sequence[x509.Certificate]) -> XmlSignatureCheck:
    valid = facts.verifiable  # the engine has appended its problems: none left means intact
    problems = list(facts.problems)
    if not in_header and facts.namespace == DS_NS:
        problems.append(P_MISPLACED)
    cert = facts.certificate
    key_size = _key_size(cert)
    weak_reasons = _weak_reasons(facts, key_size)
    problems.extend(weak_reasons)
    return XmlSignatureCheck(
        present=True,
        valid=valid,
        weak=bool(weak_reasons),
        signature_algorithm=_short(facts.signature_method),
        digest_algorithm=_short(facts.digest_method),
        signer_subject=cert.subject.rfc4514_string() if cert is not None else None,
        signer_certificate_sha256=cert.fingerprint(hashes.SHA256()).hex() if cert is not None else None,
        key_size=key_size,
        trusted=_is_trusted(cert, facts.certificates, trusted) if trusted else None,
        problems=tuple(problems),
        code=("weak" if weak_reasons else "valid") if valid else "invalid",
    )


def _short(uri: str | None) -> str | None:
    return uri.rsplit("#", 1)[-1] if uri and "#" in uri else uri


def _key_size(cert: x509.Certificate | None) -> int | None:
    if cert is None:
        return None
    public_key = cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return public_key.key_size
    return getattr(public_key, "key_size", None)


def _weak_reasons(facts: _Facts, key_size: int | None) -> list[str]:
    reasons = []
    for kind, uri in (("signature method", facts.signature_method), ("digest method", facts.digest_method)):
        if uri and "sha1" in uri.lower():
            reasons.append(f"Weak algorithm: SHA-1 {kind} ({_short(uri)}); SHA-256 or stronger is required.")
    public_key = facts.certificate.public_key() if facts.certificate is not None else None
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        reasons.append(f"Weak key: RSA {key_size} bits; at least 2048 bits is required.")
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.key_size < 256:
        reasons.append(f"Weak key: EC {key_size} bits; at least 256 bits is required.")
    return reasons


def _is_trusted(
    cert: x509.Certificate | None, carried: Iterable[x509.Certificate], anchors: Sequence[x509.Certificate]
) -> bool:
    """Whether ``cert`` is an anchor or chains to one by issuer name and signature (at most 8 links)."""
    if cert is None:
        return False
    pinned = {a.fingerprint(hashes.SHA256()) for a in anchors}
    pool = [*anchors, *carried]
    current = cert
    for _ in range(8):
        if current.fingerprint(hashes.SHA256()) in pinned:
            return True
        issuer = next((c for c in pool if c != current and _issued(current, c)), None)
        if issuer is None:
            return False
        current = issuer
    return False


def _issued(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# ------------------------------------------------------------------------------------ signxml engine


def _signxml_problems(root: etree._Element, in_header: bool, facts: _Facts) -> list[str]:
    """Verify with signxml, accepting every algorithm (strength is reported, not enforced, here)."""
    assert facts.certificate is not None
    location = f"./{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader/" if in_header else ".//"
    config = SignatureConfiguration(
        location=location,
        signature_methods=frozenset(SignatureMethod),
        digest_algorithms=frozenset(DigestAlgorithm),
        default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
        verification_time=facts.certificate.not_valid_before_utc,  # validity in time is the trust layer's job
    )
    try:
        XMLVerifier().verify(root, x509_cert=facts.certificate, expect_config=config, parser=_parser())
    except InvalidDigest:
        return [P_DIGEST]
    except SignXmlInvalidSignature:
        return [P_SIGNATURE]
    except (SignXMLException, etree.LxmlError, ValueError) as exc:
        return [f"The signature cannot be processed: {exc}"]
    return []


# ---------------------------------------------------------------------------------- streaming engine


def _streaming_problems(path: Path, ordinal: int, facts: _Facts) -> list[str]:
    if not _signed_info_verifies(facts):
        return [P_SIGNATURE]
    exclusive, prefixes = False, facts.transform_prefixes
    for transform in facts.transforms:
        if transform in _C14N:
            exclusive = _C14N[transform][0]
    hasher = hashlib.new(_DIGESTS[facts.digest_method or ""]().name)
    writer = _C14nWriter(hasher.update, exclusive=exclusive, inclusive_prefixes=prefixes)
    _stream_file(path, _C14nPass(writer, skip=lambda e: e.ordinal == ordinal))
    return [] if hasher.digest() == facts.digest_value else [P_DIGEST]


def _signed_info_verifies(facts: _Facts) -> bool:
    assert facts.signed_info is not None and facts.certificate is not None
    exclusive, with_comments = _C14N[facts.c14n_method or ""]
    data = etree.tostring(
        facts.signed_info, method="c14n", exclusive=exclusive, with_comments=with_comments,
        inclusive_ns_prefixes=list(facts.inclusive_prefixes) or None,
    )  # fmt: skip
    scheme, hash_cls = _SIGNATURES[facts.signature_method or ""]
    public_key = facts.certificate.public_key()
    value = facts.signature_value or b""
    try:
        if scheme == "pkcs1" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(value, data, padding.PKCS1v15(), hash_cls())
        elif scheme == "pss" and isinstance(public_key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=hash_cls().digest_size)
            public_key.verify(value, data, pss, hash_cls())
        elif scheme == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(_raw_to_der(value, public_key.key_size), data, ec.ECDSA(hash_cls()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _raw_to_der(value: bytes, key_bits: int) -> bytes:
    size = (key_bits + 7) // 8
    if len(value) != 2 * size:
        raise ValueError("ECDSA SignatureValue has the wrong length")
    return utils.encode_dss_signature(int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big"))


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
