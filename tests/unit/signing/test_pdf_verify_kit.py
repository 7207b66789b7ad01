"""Helpers shared by the verification tests (no tests here): signing inputs with pyHanko directly.

The verification tests produce their inputs with pyHanko's own signer (and endesive in the cross-check) rather
than with ``signing.pdf.sign``, so a bug in our signer cannot hide a matching bug in our verifier.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator import ValidationContext

from signing.pdf.report import VerificationReport
from signing.pdf.revocation import RevocationMode, RevocationPolicy
from signing.pdf.trust import AnchorConfig, TrustStore
from signing.pdf.verify import verify_pdf
from tests.support.pki import TestPki
from tests.support.pki.pdfs import make_pdf

__all__ = ["asn1", "base_pdf", "sign", "trust_store", "verify"]

TEST_SET = "test-root"
UNTRUSTED_SET = "untrusted-root"


def base_pdf(pages: int = 2) -> bytes:
    return make_pdf(pages=pages, size=12_000 * pages)


def asn1(cert) -> asn1_x509.Certificate:  # cryptography certificate → asn1crypto
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _anchor(path: Path) -> AnchorConfig:
    from asn1crypto import pem

    der = pem.unarmor(path.read_bytes())[2]
    return AnchorConfig(path=path, sha256=hashlib.sha256(der).hexdigest())


def trust_store(pki: TestPki) -> TrustStore:
    """Set "test-root" = the PKI's root; set "untrusted-root" = the separate hierarchy (never used by default)."""
    return TrustStore.from_config(
        {TEST_SET: [_anchor(pki.root_pem_path)], UNTRUSTED_SET: [_anchor(pki.untrusted_root_pem_path)]}
    )


def _signer(pki: TestPki, name: str) -> signers.SimpleSigner:
    p12_path, password, _ = pki.signer(name)
    signer = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=password)
    assert signer is not None
    return signer


def sign(
    pdf: bytes,
    pki: TestPki,
    name: str = "good-rsa",
    *,
    field: str = "Sig1",
    timestamp: bool = False,
    lt: bool = False,
    md: str | None = None,
) -> bytes:
    """Sign ``pdf`` in an incremental update with pyHanko: B-B, B-T (``timestamp``) or B-LT (``lt``)."""
    vc = None
    if lt:
        vc = ValidationContext(
            trust_roots=[asn1(pki.root_cert)], allow_fetching=True, revocation_mode="soft-fail", moment=pki.now
        )
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm=md,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=lt,
        validation_context=vc,
    )
    tsa = timestamps.HTTPTimeStamper(pki.tsa_url) if (timestamp or lt) else None
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=_signer(pki, name), timestamper=tsa)
    return out.getvalue()


def verify(pdf: bytes, pki: TestPki, *, policy: RevocationPolicy | None = None, **kwargs) -> VerificationReport:
    """Verify at the PKI's pinned time, trusting only set "test-root" unless ``anchor_sets`` says otherwise."""
    kwargs.setdefault("anchor_sets", [TEST_SET])
    return verify_pdf(
        pdf,
        trust=kwargs.pop("trust", None) or trust_store(pki),
        revocation=policy or RevocationPolicy(mode=RevocationMode.HARD_FAIL),
        at=pki.now,
        **kwargs,
    )
