"""The remote-signing port: a service that holds the signer's key and signs a hash once the signer confirms.

Officials sign with services that keep their key (CSC-API services, VNPT SmartCA, Viettel MySign, ...) and confirm
on a phone. The gateway never sees the key: it prepares the PDF and its CMS signed attributes
(signing/remote/interrupted.py), hands the **hash of the signed attributes** to the provider, and finishes the PDF
when the signature value comes back, after checking that value against the credential's public key.

A provider is an object satisfying :class:`RemoteSigner`; adapters are chosen by URL scheme through
``signing.remote.PROVIDERS`` (the same alias-table idiom as ``storage.objects.BACKENDS``). Every adapter passes the
contract in tests/contract/test_remote_signer.py. Calls are synchronous (the service runs them in a worker
thread); a confirmation that takes minutes is a :attr:`RemoteState.PENDING` result polled later, never a call that
blocks for minutes.

Secrets (client secrets, passwords, PINs, OTPs, bearer tokens) never appear in ``repr``, logs or error messages.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from signing.errors import SigningError

__all__ = [
    "Credential",
    "RemoteResult",
    "RemoteSigner",
    "RemoteSigningError",
    "RemoteState",
    "SignRequest",
]


class RemoteSigningError(SigningError):
    """The provider could not be asked or answered nonsense. Stable codes:

    - ``remote_unreachable``: connection refused, DNS failure, timeout, 5xx (a retry may help);
    - ``remote_auth_failed``: credentials or token refused (and a refresh did not help);
    - ``remote_bad_request``: the provider refused the request as malformed (a bug or a wrong credential id);
    - ``remote_protocol``: the answer does not follow the provider's documented shape;
    - ``remote_unknown_transaction``: the provider does not know the transaction polled;
    - ``remote_unknown_provider``: a provider URL with an unknown scheme (the message names the known ones);
    - ``remote_bad_signature``: a returned signature value does not verify against the credential's certificate
      over the prepared signed attributes (nothing is embedded; signing/remote/interrupted.py);
    - ``remote_certificate_changed``: the provider now answers with a certificate other than the one the document
      was prepared for;
    - ``remote_state_invalid``: a stored pending state cannot be read back.
    """

    code = "remote_signing_error"


class RemoteState(enum.Enum):
    """Where a remote signature stands, as the provider reports it."""

    DONE = "done"  # values are in RemoteResult.signatures
    PENDING = "pending"  # the signer has not confirmed yet: poll again after RemoteResult.retry_after
    REJECTED = "rejected"  # the signer refused on the phone (or the provider refused this credential)
    EXPIRED = "expired"  # the confirmation window closed without an answer


@dataclass(frozen=True, slots=True)
class Credential:
    """A signing credential the provider holds: its certificate and chain (DER), the key algorithm
    (``"RSA"`` or ``"EC"``), how many hashes one authorisation may sign, and a human label."""

    id: str
    certificate: bytes
    chain: tuple[bytes, ...] = ()
    key_algorithm: str = "RSA"
    max_signatures: int = 1
    label: str = ""


@dataclass(frozen=True, slots=True)
class SignRequest:
    """What is handed to the provider: the credential, one or more digests (``digest_algorithm`` names them, e.g.
    ``"sha256"``), a short description shown to the signer on the phone, an optional callback URL the provider
    calls when the signer answered, and the signer's own authorisation data where the provider takes it with the
    request (CSC PIN/OTP; never logged). ``signature_algorithm`` names the signature the document was prepared
    for, as asn1crypto does (``"sha256_rsa"``, ``"rsassa_pss"``, ``"sha256_ecdsa"``); empty = the provider's
    default for the key (PKCS#1 v1.5 for RSA)."""

    credential_id: str
    hashes: tuple[bytes, ...]
    digest_algorithm: str = "sha256"
    description: str = ""
    callback_url: str | None = None
    authorization: Mapping[str, str] = field(default_factory=dict, repr=False)
    signature_algorithm: str = ""


@dataclass(frozen=True, slots=True)
class RemoteResult:
    """A provider's answer to ``start`` or ``poll``. ``transaction`` identifies the request for ``poll`` (None
    when the provider answered synchronously); ``signatures`` holds one raw signature value per requested hash, in
    order, when ``state`` is DONE; ``message`` is the provider's own words (for the log, not for the clerk)."""

    state: RemoteState
    transaction: str | None = None
    signatures: tuple[bytes, ...] = ()
    retry_after: float | None = None
    message: str | None = None


@runtime_checkable
class RemoteSigner(Protocol):
    """A remote-signing provider (see the module docstring)."""

    name: str

    def credentials(self) -> Sequence[Credential]:
        """The credentials this configured account may sign with."""
        ...

    def credential(self, credential_id: str) -> Credential:
        """One credential with its certificate chain; RemoteSigningError(``remote_bad_request``) if unknown."""
        ...

    def start(self, request: SignRequest) -> RemoteResult:
        """Ask for signature values over ``request.hashes``: DONE at once, or PENDING with a transaction."""
        ...

    def poll(self, transaction: str) -> RemoteResult:
        """Where a PENDING transaction stands now."""
        ...
