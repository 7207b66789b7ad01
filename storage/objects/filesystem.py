"""Object store on a local folder: the embedded default (``file:///var/lib/edoc/objects``).

Layout ``<root>/ab/cd/<sha256>``, files 0600 and folders 0700 (the gateway's user only).
A blob is streamed into a temporary file in the same folder while its hash is
computed, fsynced, then renamed into place, so a crash never leaves a partial blob under a valid name; then the
folder that received the name is fsynced too (and, for the first blob under a prefix, the folders that received
the new prefix folders), since a rename is only durable once its directory is: without it, a power cut just
after the database commit that references the blob could lose the name while the row stays. Fine for
one machine; a production deployment uses S3/MinIO (two copies, object lock), and the settings refuse this
backend in production.

Retention: this store **cannot enforce** a :class:`~storage.interfaces.Retention` (anyone with the gateway's
user can delete or overwrite a file): ``enforces_retention`` is false, a retention given to a put or to
:meth:`FilesystemObjectStore.retain` is accepted and ignored, and production refuses this backend for the
archive (``EDOC_ARCHIVE_URLS``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from storage.errors import BlobNotFound, StorageError, UnknownBackend
from storage.interfaces import BlobRef, Retention

__all__ = ["FilesystemObjectStore"]

_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


#: Blobs are documents: files 0600, folders 0700, readable by the gateway's user only (issue 17).
_FOLDER_MODE = 0o700


def _make_private_folders(path: str) -> None:
    """``os.makedirs`` with every folder it creates 0700 (its ``mode`` applies to the last one only)."""
    parent = os.path.dirname(path)
    if parent and parent != path and not os.path.isdir(parent):
        _make_private_folders(parent)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, _FOLDER_MODE)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemObjectStore:
    """Content-addressed blobs in a folder (see module docstring)."""

    enforces_retention = False

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.url = self.root.resolve().as_uri()
        self._fsync = fsync
        self.root.mkdir(mode=_FOLDER_MODE, parents=True, exist_ok=True)
        # The write path joins plain strings: pathlib's objects cost about as much CPU as the rest of a small put.
        self._root = str(self.root)
        self._tmp = os.path.join(self._root, "tmp")

    @classmethod
    def from_url(cls, url: str) -> FilesystemObjectStore:
        """``file:///absolute/path`` (the alias table in :mod:`storage.objects` sends ``file://`` here)."""
        cls.check_url(url)
        return cls(Path(unquote(urlsplit(url).path)))

    @classmethod
    def check_url(cls, url: str) -> None:
        """Raise :class:`UnknownBackend` unless ``url`` names a folder (settings validation: creates nothing)."""
        if not unquote(urlsplit(url).path):
            raise UnknownBackend(f"file URL without a path: {url!r} (use file:///absolute/path)")

    def _name(self, sha256: str) -> str:
        if not _SHA256.match(sha256):
            raise BlobNotFound(f"not a SHA-256 blob address: {sha256!r}")
        return f"{self._root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def put_bytes(self, data: bytes, *, retention: Retention | None = None) -> BlobRef:
        return self.put_stream(io.BytesIO(data))

    def put_file(self, path: Path, *, retention: Retention | None = None) -> BlobRef:
        with open(path, "rb") as fh:
            return self.put_stream(fh)

    def put_stream(self, stream: BinaryIO, *, retention: Retention | None = None) -> BlobRef:
        return self._put([stream])[0]

    def retain(self, sha256: str, retention: Retention) -> None:
        """Nothing: a folder cannot enforce a retention (module docstring); the blob must exist."""
        if not self.exists(sha256):
            raise BlobNotFound(f"blob {sha256} is not in {self.url}")

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobRef]:
        """Several blobs made durable together (a submit's package and its attachments): all are written, then
        all fsynced, then all renamed into place, then each folder that received a name is fsynced once. On ext4
        every fsync commits the journal; when the fsyncs come together, the later ones find less left to write
        (0.86-0.91x the CPU of one after the other for a submit's two blobs: docs/performance.md)."""
        return self._put([io.BytesIO(data) for data in blobs])

    def _put(self, streams: Sequence[BinaryIO]) -> list[BlobRef]:
        written: list[tuple[str, BinaryIO, BlobRef]] = []  # temporary name, open file, reference
        try:
            for stream in streams:
                written.append(self._write_temporary(stream))
            for _name, out, _ref in written:
                out.flush()
                if self._fsync:
                    os.fsync(out.fileno())
                out.close()
            folders: dict[str, None] = {}  # those that received a name, in order, once each
            for name, _out, ref in written:
                for folder in self._place(name, ref):
                    folders[folder] = None
            if self._fsync:
                for folder in folders:
                    _fsync_dir(folder)
            return [ref for _name, _out, ref in written]
        except OSError as exc:
            raise StorageError(f"cannot write blob under {self.root}: {exc}") from exc
        finally:
            for name, out, _ref in written:
                out.close()
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)

    def _write_temporary(self, stream: BinaryIO) -> tuple[str, BinaryIO, BlobRef]:
        """``stream`` copied into a new temporary file (left open, not yet fsynced) while its hash is computed."""
        digest = hashlib.sha256()
        size = 0
        name = f"{self._tmp}/blob-{secrets.token_hex(12)}"
        try:
            fd = self._create(name)
        except OSError as exc:
            raise StorageError(f"cannot write blob under {self.root}: {exc}") from exc
        out = os.fdopen(fd, "wb")
        try:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        except BaseException:
            out.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        return name, out, BlobRef(digest.hexdigest(), size)

    def _place(self, name: str, ref: BlobRef) -> list[str]:
        """Rename the temporary file ``name`` to the blob's address; the folders whose entries changed (to fsync):
        the blob's folder and, for the first blob under a prefix, the folders that received the new prefixes."""
        final = self._name(ref.sha256)
        folder = os.path.dirname(final)
        try:
            os.replace(name, final)
            return [folder]
        except FileNotFoundError:  # the first blob under this prefix: make its folder
            made = [p for p in (os.path.dirname(folder), folder) if not os.path.isdir(p)]
            _make_private_folders(folder)
            os.replace(name, final)
            return [*(os.path.dirname(p) for p in made), folder]

    def _create(self, name: str) -> int:
        """A new temporary file (exclusive create); its folder is made on first use, not checked on every put."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(name, flags, 0o600)
        except FileNotFoundError:
            _make_private_folders(os.path.dirname(name))
            return os.open(name, flags, 0o600)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self._name(sha256), "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(f"blob {sha256} is not in {self.url}") from exc

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as fh:
            return fh.read()

    def exists(self, sha256: str) -> bool:
        try:
            return os.path.isfile(self._name(sha256))
        except BlobNotFound:
            return False

    def check(self) -> None:
        probe = self.root / "tmp" / ".probe"
        try:
            _make_private_folders(str(probe.parent))
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise StorageError(f"object store {self.url} is not writable: {exc}") from exc
