"""Signatures, framework-free.

Owns XML-DSig on edXML packages (signxml), PAdES signing and verification of PDFs (pyHanko), key sources
(PKCS#12 files, PKCS#11 tokens), trust anchors, revocation and the verification report. pyHanko and signxml types
never leave this package (STYLE.md 4).
"""

import warnings

# pyHanko imports cryptography's DSA key types for its signer classes, and cryptography warns at that import that DSA
# is deprecated: a CryptographyDeprecationWarning printed on every sign and verify, to people who cannot act on it.
# Ignored for that import only (the warning names pyHanko's module); the gateway itself never signs with DSA keys
# (signing/keys.py loads RSA and EC keys).
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"pyhanko(\.|$)")
