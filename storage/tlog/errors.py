"""Errors of the transparency log; all derive from :class:`storage.errors.StorageError` (one root per package)."""

from __future__ import annotations

from storage.errors import StorageError

__all__ = ["NoteError", "ProofError", "TileNotFound", "TlogError"]


class TlogError(StorageError):
    code = "tlog_error"


class ProofError(TlogError):
    """A proof does not verify, or cannot be built for the sizes asked."""

    code = "tlog_proof_invalid"


class NoteError(TlogError):
    """A signed note, checkpoint, key or cosignature is malformed or its signature does not verify."""

    code = "tlog_note_invalid"


class TileNotFound(TlogError):
    code = "tlog_tile_not_found"
