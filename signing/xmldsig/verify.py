"""Verifying package signatures, as a value: :class:`XmlSignatureCheck` says whether the signature is present,
intact, weak and trusted; only input that cannot be read at all raises :class:`XmlSignatureError`. Whether an
unsigned or weak package is refused is the service's policy, decided from ``XmlSignatureCheck.code``.

Two engines, one report: :func:`verify_package` (bytes) checks with signxml, which also checks what other signers
send; :func:`verify_package_file` streams the file through :mod:`signing.xmldsig.c14n` (memory stays flat for a
package carrying a 100 MB attachment) and checks SignedInfo with :mod:`cryptography`. Both read the Signature
element the same way (:func:`_inspect`) and report through :func:`_report`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, SignXMLException
from signxml.exceptions import InvalidSignature as SignXmlInvalidSignature

from signing.xmldsig.algorithms import _C14N, _DIGESTS, _EXC_C14N, _SIGNATURES, DS_NS, EDXML_NS, ENVELOPED
from signing.xmldsig.c14n import _C14nPass, _C14nWriter, _SignatureScan, _StopParsing, _stream_file
from signing.xmldsig.errors import NamespaceError as _NamespaceError
from signing.xmldsig.parsing import _parse_bytes, _parser, _signature_children

__all__ = [
    "P_ABSENT",
    "P_DIGEST",
    "P_FOREIGN",
    "P_MISPLACED",
    "P_NO_CERT",
    "P_SIGNATURE",
    "XmlSignatureCheck",
    "verify_package",
    "verify_package_file",
]

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
