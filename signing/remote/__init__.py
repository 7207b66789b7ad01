"""Remote signing: providers that hold the signer's key (CSC API services, VNPT SmartCA, Viettel MySign, ...).

The port is :mod:`signing.remote.interfaces`; interrupted PAdES signing (prepare → provider signs the hash →
finish) is :mod:`signing.remote.interrupted`. Providers are chosen by URL through an alias table, as the object
stores are (``storage.objects.BACKENDS``, STYLE.md 2): ``PROVIDERS`` maps a URL scheme to ``"module:Class"``, the
class builds itself with ``from_url(url, **secrets)``, and only the provider a URL names is imported.

Secrets (client secrets, passwords, tokens) are passed as keyword arguments, never inside the URL, so the URL can
be logged and shown in configuration listings.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from signing.remote.interfaces import (
    Credential,
    RemoteResult,
    RemoteSigner,
    RemoteSigningError,
    RemoteState,
    SignRequest,
)

__all__ = [
    "PROVIDERS",
    "Credential",
    "RemoteResult",
    "RemoteSigner",
    "RemoteSigningError",
    "RemoteState",
    "SignRequest",
    "from_url",
    "provider_class",
]

PROVIDERS: dict[str, str] = {
    # Cloud Signature Consortium API v1.0.4 / v2 (``?version=1|2``); csc+http only for loopback test servers.
    "csc+https": "signing.remote.csc:CscSigner",
    "csc+http": "signing.remote.csc:CscSigner",
    # VNPT SmartCA and Viettel MySign (signing/remote/README.md: which wire shapes are confirmed); +http only for
    # loopback test servers (production refuses it: service/settings.py).
    "vnpt-smartca+https": "signing.remote.vnpt_smartca:VnptSmartCA",
    "vnpt-smartca+http": "signing.remote.vnpt_smartca:VnptSmartCA",
    "viettel-mysign+https": "signing.remote.viettel_mysign:ViettelMySign",
    "viettel-mysign+http": "signing.remote.viettel_mysign:ViettelMySign",
}


def provider_class(url: str) -> type:
    """The adapter class a URL's scheme names; RemoteSigningError(``remote_unknown_provider``) otherwise."""
    scheme = urlsplit(url).scheme
    target = PROVIDERS.get(scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in PROVIDERS)
        raise RemoteSigningError(
            f"unknown remote-signing provider scheme {scheme!r}; known: {known}", code="remote_unknown_provider"
        )
    module, _, name = target.partition(":")
    cls: type = getattr(import_module(module), name)
    return cls


def from_url(url: str, **secrets: Any) -> RemoteSigner:
    """Build the provider a URL names, e.g. ``csc+https://rssp.example.vn/csc?version=2&client_id=gw``
    with ``client_secret=...`` (see the adapter's ``from_url`` for its parameters)."""
    signer: RemoteSigner = provider_class(url).from_url(url, **secrets)  # type: ignore[attr-defined]
    return signer
