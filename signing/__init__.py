"""Signatures, framework-free.

Owns XML-DSig on edXML packages (signxml), PAdES signing and verification of PDFs (pyHanko), key sources
(PKCS#12 files, PKCS#11 tokens), trust anchors, revocation and the verification report. pyHanko and signxml types
never leave this package (STYLE.md 4).
"""
