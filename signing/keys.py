"""Signing keys held in software: a private key, its certificate and the chain, loaded from PKCS#12 files.

Owns :class:`KeyMaterial` (what every signer in :mod:`signing` takes) and :func:`load_pkcs12`. Keys are loaded
once per process and cached by file identity (resolved path, mtime, size) and a salted hash of the password, so a
gateway that signs thousands of packages never re-reads or re-decrypts the file per signature, and an edited or
replaced file is picked up on the next load. Neither the password nor the key ever reaches a log or a ``repr``.

Accepted key algorithms follow NĐ 23/2025 and its circular on signing software (STANDARDS.md §7): RSA of at least
2048 bits, or ECDSA on P-256 / P-384.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12

from signing.errors import SigningError

__all__ = ["KeyLoadError", "KeyMaterial", "PrivateKey", "load_pkcs12"]

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]  # noqa: UP007 (runtime alias)

MIN_RSA_BITS = 2048
ALLOWED_CURVES = frozenset({"secp256r1", "secp384r1"})


class KeyLoadError(SigningError):
    """A key source could not be opened or holds no usable key and certificate."""

    code = "key_load_failed"


@dataclass(frozen=True, eq=False, repr=False)
class KeyMaterial:
    """A signing key with its certificate; ``chain`` holds the issuing certificates (leaf excluded).

    Construction checks that the key is an accepted algorithm and size and that the certificate carries the
    matching public key, so a signer never produces a signature that nobody can verify.
    """

    private_key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_key(self.private_key)
        if _spki(self.private_key.public_key()) != _spki(self.certificate.public_key()):
            raise KeyLoadError("the certificate does not belong to the private key (public keys differ)")

    @property
    def key_description(self) -> str:
        """``RSA-2048`` or ``EC-secp256r1``: the algorithm, never key bytes."""
        key = self.private_key
        if isinstance(key, rsa.RSAPrivateKey):
            return f"RSA-{key.key_size}"
        return f"EC-{key.curve.name}"

    @property
    def certificate_sha256(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def __repr__(self) -> str:
        subject = self.certificate.subject.rfc4514_string()
        return (
            f"KeyMaterial(key={self.key_description}, subject={subject!r}, "
            f"certificate_sha256={self.certificate_sha256[:16]}…, chain={len(self.chain)})"
        )

    __str__ = __repr__


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]


def _check_key(key: object) -> None:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyLoadError(f"RSA key of {key.key_size} bits is too weak: at least {MIN_RSA_BITS} required")
        return
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise KeyLoadError(f"EC curve {key.curve.name} is not accepted: use P-256 or P-384")
        return
    raise KeyLoadError(f"unsupported key type {type(key).__name__}: use RSA (≥2048 bits) or EC P-256/P-384")


_CACHE: dict[tuple[str, int, int, bytes], KeyMaterial] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SALT = os.urandom(16)


def load_pkcs12(path: Path, password: bytes | None) -> KeyMaterial:
    """Load the key, certificate and chain of a PKCS#12 file, once per process for a given file and password.

    The cache key is the resolved path, the file's mtime and size, and a salted BLAKE2b of the password (the
    password itself is not kept). Raises :class:`KeyLoadError` for a missing file, a file that is not PKCS#12, a
    wrong password, a file without certificate, or a key that is too weak.
    """
    resolved, stat = _stat(Path(path))
    secret = hashlib.blake2b(password or b"", key=_CACHE_SALT, digest_size=32).digest()
    cache_key = (str(resolved), stat.st_mtime_ns, stat.st_size, secret)
    with _CACHE_LOCK:
        cached = _CACHE.get(cache_key)
        if cached is None:
            cached = _CACHE[cache_key] = _read_pkcs12(resolved, password)
    return cached


def _stat(path: Path) -> tuple[Path, os.stat_result]:
    try:
        resolved = path.resolve(strict=True)
        return resolved, resolved.stat()
    except OSError as exc:
        raise KeyLoadError(f"cannot open the PKCS#12 file {path}: {exc.strerror or exc}") from exc


def _read_pkcs12(path: Path, password: bytes | None) -> KeyMaterial:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyLoadError(f"cannot read the PKCS#12 file {path}: {exc.strerror or exc}") from exc
    try:
        bundle = pkcs12.load_pkcs12(data, password)
    except ValueError as exc:
        raise KeyLoadError(_decode_failure(data, path, password)) from exc
    except TypeError as exc:  # e.g. a password given for an unencrypted file
        raise KeyLoadError(f"cannot open the PKCS#12 file {path}: {exc}") from exc
    if bundle.key is None:
        raise KeyLoadError(f"the PKCS#12 file {path} holds no private key")
    if bundle.cert is None:
        raise KeyLoadError(f"the PKCS#12 file {path} holds no certificate for its private key")
    chain = tuple(extra.certificate for extra in bundle.additional_certs)
    return KeyMaterial(private_key=bundle.key, certificate=bundle.cert.certificate, chain=chain)  # type: ignore[arg-type]


def _decode_failure(data: bytes, path: Path, password: bytes | None) -> str:
    """Tell a wrong password from a file that is not PKCS#12 at all (cryptography reports both as ValueError)."""
    try:
        pkcs12.load_key_and_certificates(data, None)
    except ValueError:
        pass
    else:
        return f"the PKCS#12 file {path} is not encrypted but a password was given"
    if data[:1] != b"\x30":  # a PKCS#12 PFX is a DER SEQUENCE
        return f"{path} is not a PKCS#12 file"
    if password is None:
        return f"the PKCS#12 file {path} is password-protected: a password is required"
    return f"wrong password for the PKCS#12 file {path} (or the file is damaged)"
