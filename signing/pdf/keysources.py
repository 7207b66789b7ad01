"""Where signing keys come from: PKCS#12 files and PKCS#11 tokens (HSMs, SoftHSM2, USB tokens).

A key source is created once from a spec string and kept for the life of the process (issue 3 item 1): the
PKCS#12 file is decrypted once and the private key object kept in memory; the PKCS#11 session is opened and
logged in once. Nothing is reloaded per signature, and neither the PIN/password nor key material ever appears in
``repr``/``str`` or in log records.

Specs (alias table, STYLE.md 2)::

    p12:/path/to/file.p12
    pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=LABEL;key=LABEL

The secret (PKCS#12 password or token PIN) is passed separately, as a value or as the *name* of an
environment variable (``secret_env=...``), never inside the spec.

Why PKCS#12 keys are not signed through pyHanko's ``SimpleSigner``: its ``sign_raw`` re-parses the private key
from DER on every call (``load_der_private_key``, ~18 ms for RSA-2048 because of OpenSSL's key checks), and
pyHanko calls it twice per signature. We parse with pyHanko-compatible ``cryptography`` once and keep the key.
PKCS#11 signing uses pyHanko's ``PKCS11Signer`` (mechanism selection, ECDSA signature re-encoding) on a session
kept open.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from signing.pdf.sign_errors import PdfSigningError

__all__ = ["KeySource", "Pkcs11KeySource", "Pkcs12KeySource", "key_source_from_spec", "signature_algorithm"]

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@runtime_checkable
class KeySource(Protocol):
    """A private key able to sign, with its certificate and chain."""

    @property
    def spec(self) -> str:
        """The spec string it was created from (contains no secret)."""

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """Issuer certificates to embed (may be empty)."""

    @property
    def key_algorithm(self) -> str:
        """``"rsa"`` or ``"ecdsa"``."""

    def sign_raw(self, data: bytes, *, digest_algorithm: str, pss: bool) -> bytes:
        """Sign ``data`` (hashing it with ``digest_algorithm``); RSA-PSS uses MGF1 with the same hash and a
        salt as long as the digest."""


def _hash(digest_algorithm: str) -> hashes.HashAlgorithm:
    try:
        return _HASHES[digest_algorithm]()
    except KeyError:
        raise PdfSigningError(
            f"digest {digest_algorithm!r} not allowed (SHA-256 or stronger)", code="algorithm_unsupported"
        ) from None


def _key_algorithm(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa"
    raise PdfSigningError(f"unsupported key type {type(key).__name__}", code="algorithm_unsupported")


def signature_algorithm(key_algorithm: str, digest: str, pss: bool) -> Any:
    """The asn1crypto SignedDigestAlgorithm both key sources and the CMS builder agree on.

    RSASSA-PSS uses MGF1 with the same hash and a salt as long as the digest (RFC 8017 recommendation; pyHanko's
    own default is the maximum salt length, which a PKCS#11 token would then have to match)."""
    from asn1crypto import algos

    if key_algorithm == "ecdsa":
        return algos.SignedDigestAlgorithm({"algorithm": f"{digest}_ecdsa"})
    if not pss:
        return algos.SignedDigestAlgorithm({"algorithm": f"{digest}_rsa"})
    params = algos.RSASSAPSSParams(
        {
            "hash_algorithm": {"algorithm": digest},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": digest}},
            "salt_length": _hash(digest).digest_size,
        }
    )
    return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})


def _resolve_secret(secret: str | bytes | None, secret_env: str | None) -> bytes | None:
    if secret is None and secret_env is not None:
        value = os.environ.get(secret_env)
        if value is None:
            raise PdfSigningError(f"environment variable {secret_env} is not set", code="pin_missing")
        secret = value
    return secret.encode() if isinstance(secret, str) else secret


class _LoadedKey:
    """What every loaded key source exposes once it has read its certificate (see KeySource)."""

    _cert: x509.Certificate
    _chain: tuple[x509.Certificate, ...]
    _algorithm: str

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return self._chain

    @property
    def key_algorithm(self) -> str:
        return self._algorithm


class Pkcs12KeySource(_LoadedKey):
    """A key and certificate chain from a PKCS#12 file, decrypted once."""

    def __init__(self, path: str | Path, password: bytes | None) -> None:
        self._path = Path(path)
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(self._path.read_bytes(), password)
        except OSError as exc:
            raise PdfSigningError(f"cannot read PKCS#12 file {self._path}", code="key_source_invalid") from exc
        except ValueError as exc:  # wrong password or corrupt file; the message names neither
            raise PdfSigningError(f"cannot decrypt PKCS#12 file {self._path}", code="key_unusable") from exc
        if key is None or cert is None or not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise PdfSigningError(f"{self._path} holds no usable RSA/EC key and certificate", code="key_unusable")
        self._key = key
        self._cert = cert
        self._chain = tuple(c for c in extra if c != cert)
        self._algorithm = _key_algorithm(cert)

    @property
    def spec(self) -> str:
        return f"p12:{self._path}"

    def sign_raw(self, data: bytes, *, digest_algorithm: str, pss: bool) -> bytes:
        algorithm = _hash(digest_algorithm)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(algorithm))
        if pss:
            pad: padding.AsymmetricPadding = padding.PSS(padding.MGF1(algorithm), algorithm.digest_size)
        else:
            pad = padding.PKCS1v15()
        return self._key.sign(data, pad, algorithm)

    def __repr__(self) -> str:
        return f"Pkcs12KeySource({self.spec!r})"


class Pkcs11KeySource(_LoadedKey):
    """A key on a PKCS#11 token; the session is opened and logged in once, then kept."""

    def __init__(self, module: str, token: str, key: str, pin: bytes | None) -> None:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11 as ph_pkcs11

        self._module, self._token, self._key_label = module, token, key
        self._lock = threading.Lock()
        try:
            self._session = ph_pkcs11.open_pkcs11_session(
                module, token_criteria=TokenCriteria(label=token), user_pin=pin.decode() if pin else None
            )
            self._signer = signer = ph_pkcs11.PKCS11Signer(
                self._session, cert_label=key, key_label=key, other_certs_to_pull=None
            )
            signer._load_objects()
            self._cert = x509.load_der_x509_certificate(signer.signing_cert.dump())
            self._chain = tuple(
                x509.load_der_x509_certificate(c.dump())
                for c in signer.cert_registry
                if c.dump() != signer.signing_cert.dump()
            )
        except PdfSigningError:
            raise
        except Exception as exc:  # python-pkcs11 / pyHanko raise many types; the PIN is never in them
            raise PdfSigningError(
                f"cannot use PKCS#11 key {key!r} on token {token!r}: {type(exc).__name__}", code="key_unusable"
            ) from exc
        self._algorithm = _key_algorithm(self._cert)

    @property
    def spec(self) -> str:
        return f"pkcs11:module={self._module};token={self._token};key={self._key_label}"

    def sign_raw(self, data: bytes, *, digest_algorithm: str, pss: bool) -> bytes:
        from pyhanko.sign.pkcs11 import select_pkcs11_signing_params

        signer = self._signer
        mechanism = signature_algorithm(self._algorithm, digest_algorithm, pss)
        spec = select_pkcs11_signing_params(mechanism, digest_algorithm, False, signer.sign_kwargs(data))
        if spec.pre_sign_transform is not None:
            data = spec.pre_sign_transform(data)
        key_handle = signer._key_handle
        if key_handle is None:
            raise PdfSigningError("the token's private key is not available", code="key_unusable")
        with self._lock:  # a PKCS#11 session is not safe for concurrent operations
            try:
                signature = key_handle.sign(data, **spec.sign_kwargs)
            except Exception as exc:
                raise PdfSigningError(f"token refused to sign: {type(exc).__name__}", code="key_unusable") from exc
        return spec.post_sign_transform(signature) if spec.post_sign_transform else signature

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"Pkcs11KeySource({self.spec!r})"


_CACHE: dict[tuple[str, bytes | None], KeySource] = {}
_CACHE_LOCK = threading.Lock()


def _parse_pkcs11(rest: str) -> dict[str, str]:
    params = dict(part.split("=", 1) for part in rest.split(";") if "=" in part)
    missing = {"module", "token", "key"} - params.keys()
    if missing:
        raise PdfSigningError(f"pkcs11 spec lacks {', '.join(sorted(missing))}", code="key_source_invalid")
    return params


def key_source_from_spec(
    spec: str, *, secret: str | bytes | None = None, secret_env: str | None = None, cache: bool = True
) -> KeySource:
    """Open (or return the cached) key source for ``spec``; ``secret`` is the password/PIN or ``secret_env``
    names the environment variable holding it. Known schemes: ``p12:``, ``pkcs11:``."""
    scheme, _, rest = spec.partition(":")
    if scheme not in ("p12", "pkcs11") or not rest:
        raise PdfSigningError(
            f"unknown key source {spec.split(':')[0]!r}; known schemes: p12:, pkcs11:", code="key_source_invalid"
        )
    password = _resolve_secret(secret, secret_env)
    with _CACHE_LOCK:
        if cache and (spec, password) in _CACHE:
            return _CACHE[(spec, password)]
        source: KeySource
        if scheme == "p12":
            source = Pkcs12KeySource(rest, password)
        else:
            params = _parse_pkcs11(rest)
            source = Pkcs11KeySource(params["module"], params["token"], params["key"], password)
        if cache:
            _CACHE[(spec, password)] = source
        return source
