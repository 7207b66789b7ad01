"""XML-DSig signatures of edXML packages (QCVN 102:2016): sign as the national axis expects, verify as a value.

Modules, one concern each: :mod:`.sign` (the node's signature, three ways in), :mod:`.verify` (the check as a
value, two engines), :mod:`.c14n` (streaming Canonical XML 1.0 over expat, for files), :mod:`.parsing` (hardened
lxml parsing and where the signature sits), :mod:`.algorithms` (namespaces and algorithm URIs), :mod:`.errors`.
Callers import from this package; the names below are its public API.

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

from signing.xmldsig.algorithms import DS_NS, EDXML_NS
from signing.xmldsig.errors import NamespaceError, XmlSignatureError
from signing.xmldsig.sign import sign_canonical_package, sign_package, sign_package_file
from signing.xmldsig.verify import (
    P_ABSENT,
    P_DIGEST,
    P_FOREIGN,
    P_MISPLACED,
    P_NO_CERT,
    P_SIGNATURE,
    XmlSignatureCheck,
    verify_package,
    verify_package_file,
)

__all__ = [
    "DS_NS",
    "EDXML_NS",
    "P_ABSENT",
    "P_DIGEST",
    "P_FOREIGN",
    "P_MISPLACED",
    "P_NO_CERT",
    "P_SIGNATURE",
    "NamespaceError",
    "XmlSignatureCheck",
    "XmlSignatureError",
    "sign_canonical_package",
    "sign_package",
    "sign_package_file",
    "verify_package",
    "verify_package_file",
]
