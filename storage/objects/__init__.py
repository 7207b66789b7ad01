"""Object-store backends chosen by URL (STYLE.md 2): ``file:///path``; ``s3://bucket?endpoint=…`` comes next."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from storage.errors import UnknownBackend
from storage.interfaces import ObjectStore
from storage.objects.filesystem import FilesystemObjectStore

__all__ = ["BACKENDS", "FilesystemObjectStore", "from_url"]

BACKENDS = {"file": "storage.objects.filesystem:FilesystemObjectStore"}


def from_url(url: str) -> ObjectStore:
    """Build the object store a URL names; a clear error lists the known schemes."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if not path:
            raise UnknownBackend(f"file URL without a path: {url!r} (use file:///absolute/path)")
        return FilesystemObjectStore(Path(path))
    known = ", ".join(f"{name}://" for name in BACKENDS)
    raise UnknownBackend(f"unknown object store URL scheme {parts.scheme!r} in {url!r}; known: {known}")
