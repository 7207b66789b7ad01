"""The Vietnamese providers' entries for the provider alias table (``signing.remote.PROVIDERS``).

``vnpt-smartca+https://host/sca/sp769`` → :class:`~signing.remote.vnpt_smartca.VnptSmartCA`,
``viettel-mysign+https://host`` → :class:`~signing.remote.viettel_mysign.ViettelMySign`. Kept here so the table in
``signing/remote/__init__.py`` gains them with one ``update`` line; :func:`from_url` builds one of them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from signing.remote.interfaces import RemoteSigner, RemoteSigningError

__all__ = ["VN_PROVIDERS", "from_url"]

VN_PROVIDERS: dict[str, str] = {
    "vnpt-smartca": "signing.remote.vnpt_smartca:VnptSmartCA",
    "viettel-mysign": "signing.remote.viettel_mysign:ViettelMySign",
}


def from_url(url: str, **options: Any) -> RemoteSigner:
    """The adapter a ``NAME+https://…`` URL names, built with ``options`` (secrets among them)."""
    scheme = urlsplit(url).scheme.partition("+")[0]
    target = VN_PROVIDERS.get(scheme)
    if target is None:
        known = ", ".join(f"{name}+https://" for name in VN_PROVIDERS)
        raise RemoteSigningError(f"unknown remote signer scheme {scheme!r}; known: {known}",
                                 code="remote_unknown_provider")
    module, _, name = target.partition(":")
    signer: RemoteSigner = getattr(import_module(module), name).from_url(url, **options)
    return signer
