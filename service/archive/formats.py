"""Format identification for PREMIS (issue 20 item 2): the PRONOM id of each payload file, found by Siegfried
through ``pygfried`` (Artefactual's binding; its PRONOM signature file is embedded, no network). A file is spooled
to a temporary file (Siegfried reads paths); one larger than :data:`IDENTIFY_MAX_BYTES` keeps only its declared
content type. Without ``pygfried`` every file keeps its declared content type."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO

__all__ = ["IDENTIFY_MAX_BYTES", "identifier", "pronom_id"]

logger = logging.getLogger("edoc.archive")

IDENTIFY_MAX_BYTES = 64 * 1024 * 1024


def identifier() -> str | None:
    """``Siegfried <version> (pygfried)``, or None when it is not installed."""
    try:
        import pygfried
    except ImportError:
        return None
    return f"Siegfried {pygfried.version()} (pygfried)"


def pronom_id(open_blob: Callable[[], BinaryIO], size: int, suffix: str) -> str | None:
    """The PRONOM id of a blob (``fmt/276``), None when unknown, too large or no identifier is installed."""
    if size > IDENTIFY_MAX_BYTES:
        return None
    try:
        import pygfried
    except ImportError:
        return None
    fd, path = tempfile.mkstemp(suffix=suffix[-16:] if suffix.startswith(".") else "")
    try:
        with os.fdopen(fd, "wb") as out, open_blob() as stream:
            shutil.copyfileobj(stream, out, 1024 * 1024)
        found: Any = pygfried.identify(path)
    except Exception as exc:  # an identifier failure never stops archiving: the content type stays
        logger.warning("archive: format identification failed: %s", exc)
        return None
    finally:
        os.unlink(path)
    return found if isinstance(found, str) and found.startswith(("fmt/", "x-fmt/")) else None
