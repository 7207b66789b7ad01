"""Namespaces and algorithm identifiers of XML-DSig on edXML packages: what the gateway sends (C14N 1.0,
RSA-SHA256 or ECDSA-SHA256, SHA-256 digests) and what it accepts on input (SHA-1 included, reported as weak).

Tables map an algorithm URI to what :mod:`cryptography` needs to check it; the signer and both verifiers read them.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

__all__ = ["C14N_10", "DS_NS", "ECDSA_SHA256", "EDXML_NS", "ENVELOPED", "RSA_SHA256", "SHA256_DIGEST", "XML_NS"]

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
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
