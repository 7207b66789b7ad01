"""Demo signing keys: self-signed certificates for the gateway's demo and test mode, never for production.

The subject says so in its organisational unit ("TEST ONLY - edoc-gateway demo key"), so a receiving system or
an auditor sees at once that a package was signed by a demo key; the service refuses to start in production with
one (STYLE.md 8). Validity is two years. The PKCS#12 file is written with mode 0600 through a temporary file in
the same folder and an atomic rename, so a half-written key file never exists.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from signing.keys import KeyLoadError, KeyMaterial, PrivateKey

__all__ = ["DEMO_MARK", "PLACEHOLDER_MARK", "create_demo_pkcs12", "demo_certificate"]

DEMO_MARK = "TEST ONLY - edoc-gateway demo key"
# `edoc keys init`: a production key pair whose self-signed certificate waits for the one the CA issues.
PLACEHOLDER_MARK = "PLACEHOLDER - replace with the certificate your CA issues"
VALIDITY = dt.timedelta(days=730)


def create_demo_pkcs12(
    path: Path,
    *,
    common_name: str,
    organization: str,
    password: bytes | None,
    key_type: Literal["rsa", "ec"] = "rsa",
    mark: str = DEMO_MARK,
) -> KeyMaterial:
    """Create a demo key (RSA-2048 or EC P-256) with a self-signed certificate and write it to ``path``; ``mark``
    (the organisational unit) says what the certificate is: a demo key, or a placeholder awaiting the CA's."""
    key = _new_key(key_type)
    certificate = demo_certificate(key, common_name=common_name, organization=organization, mark=mark)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    blob = pkcs12.serialize_key_and_certificates(
        name=common_name.encode("utf-8"), key=key, cert=certificate, cas=None, encryption_algorithm=encryption
    )
    _write_private(Path(path), blob)
    return KeyMaterial(private_key=key, certificate=certificate)


def demo_certificate(
    key: PrivateKey,
    *,
    common_name: str,
    organization: str,
    now: dt.datetime | None = None,
    validity: dt.timedelta = VALIDITY,
    mark: str = DEMO_MARK,
) -> x509.Certificate:
    """A self-signed end-entity certificate marked TEST ONLY, usable for digital signatures."""
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, mark),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def _new_key(key_type: str) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise KeyLoadError(f"unknown demo key type {key_type!r}: use 'rsa' or 'ec'", code="unsupported_key")


def _write_private(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".demo-", suffix=".p12.tmp", dir=path.parent)  # created with mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
