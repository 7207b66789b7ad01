"""A ready-made attachment sink: each attachment decoded straight into its own file, hashed on the way."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

__all__ = ["AttachmentFiles"]


class AttachmentFiles:
    """``sink(index, chunk)`` writing attachment ``index`` to ``directory/attachment-{index}``.

    Use as a context manager so files are closed; ``paths``, ``sizes`` and ``sha256`` are keyed by index.
    If parsing raises or reports ``invalid_base64`` for an attachment, that file is incomplete: discard it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.paths: dict[int, Path] = {}
        self.sizes: dict[int, int] = {}
        self._files: dict[int, BinaryIO] = {}
        self._hashes: dict[int, hashlib._Hash] = {}

    def __call__(self, index: int, chunk: bytes) -> None:
        if index not in self._files:
            self.paths[index] = self.directory / f"attachment-{index}"
            self._files[index] = self.paths[index].open("wb")
            self._hashes[index] = hashlib.sha256()
            self.sizes[index] = 0
        self._files[index].write(chunk)
        self._hashes[index].update(chunk)
        self.sizes[index] += len(chunk)

    @property
    def sha256(self) -> dict[int, str]:
        return {index: digest.hexdigest() for index, digest in self._hashes.items()}

    def close(self) -> None:
        for stream in self._files.values():
            stream.close()

    def __enter__(self) -> AttachmentFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
