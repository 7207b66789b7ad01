"""Object-store backends chosen by URL through an alias table, as kombu picks its transports (STYLE.md 2).

``BACKENDS`` maps a URL scheme to ``"module:Class"``; the class builds itself with ``from_url(url)``. Only the
backend a URL names is imported, so a backend's third-party client (``minio`` for ``s3://``) is needed
only where it is used. Adding a backend is one module with a class that satisfies
:class:`storage.interfaces.ObjectStore` and has a ``from_url`` classmethod, plus one line here; the contract in
tests/contract/test_object_store.py is then run against it.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import urlsplit

from storage.errors import UnknownBackend
from storage.interfaces import ObjectStore
from storage.objects.filesystem import FilesystemObjectStore
from storage.objects.urls import redact

__all__ = ["BACKENDS", "FilesystemObjectStore", "backend_class", "check_url", "from_url", "place_of", "redact"]

BACKENDS: dict[str, str] = {
    "file": "storage.objects.filesystem:FilesystemObjectStore",
    "s3": "storage.objects.s3:S3ObjectStore",
}


def backend_class(url: str) -> type:
    """The backend class a URL's scheme names; :class:`UnknownBackend` (naming the known schemes) otherwise."""
    scheme = urlsplit(url).scheme
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in BACKENDS)
        raise UnknownBackend(f"unknown object store URL scheme {scheme!r} in {redact(url)!r}; known: {known}")
    module, _, name = target.partition(":")
    cls: type = getattr(import_module(module), name)
    return cls


def from_url(url: str) -> ObjectStore:
    """Build the object store a URL names (``file:///absolute/path``)."""
    store: ObjectStore = backend_class(url).from_url(url)  # type: ignore[attr-defined]
    return store


def check_url(url: str) -> None:
    """Raise :class:`UnknownBackend` (or its :class:`~storage.errors.InvalidStoreUrl`) unless ``url`` names a
    known backend and is well formed; contacts nothing and creates nothing (settings validation)."""
    cls = backend_class(url)
    checker = getattr(cls, "check_url", None)
    if checker is not None:
        checker(url)


def place_of(url: str) -> tuple[str, ...]:
    """Where a URL's blobs live, to tell independent stores apart: for ``s3://`` the endpoint and the bucket (two
    prefixes of one bucket are one place), for ``file://`` the folder; contacts nothing."""
    cls = backend_class(url)
    place = getattr(cls, "place_of", None)
    if place is not None:
        found: tuple[str, ...] = place(url)
        return found
    parts = urlsplit(url)
    return (parts.scheme, parts.netloc, parts.path.rstrip("/"))
