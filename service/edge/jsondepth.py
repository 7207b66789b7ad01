"""How deeply a JSON text nests, found while its bytes stream in, so that a hostile body is refused before any
parser recurses into it.

CPython's ``json`` module recurses once per ``[`` or ``{``: a body of 100,000 ``[`` raises ``RecursionError``
(a 500) in FastAPI's body parsing or in any ``json.loads`` of ours. The scanner looks only at the bytes that can
open or close a level (``[ ] { }``), at quotes and at backslashes, with a C-speed regular expression, so a
base64 string of megabytes costs two matches (its quotes). It does not validate JSON: the parser does that
afterwards, on a text known to be shallow.

It also finds the escape ``\u0000`` in a string: PostgreSQL cannot store a NUL in text (psycopg refuses it), and
no field of this API has a use for one, so such a body is refused at the edge, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

__all__ = ["DEFAULT_MAX_DEPTH", "NUL_ESCAPE", "TOO_DEEP", "DepthScanner", "json_depth_exceeds"]

DEFAULT_MAX_DEPTH = 32

_TOKENS = re.compile(rb'["\\\[\]{}]')
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
TOO_DEEP, NUL_ESCAPE = "json_too_deep", "nul_character"
_NUL = b"u0000"


class DepthScanner:
    """Feed chunks in order; :meth:`feed` answers what is wrong (:data:`TOO_DEEP`, :data:`NUL_ESCAPE`) as soon as
    it is seen, else None."""

    __slots__ = ("_depth", "_escape_tail", "_in_string", "_max", "_offset", "_skip_at")

    def __init__(self, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self._max = max_depth
        self._depth = 0
        self._in_string = False
        self._offset = 0  # absolute position of the chunk being scanned
        self._skip_at = -1  # absolute position of a byte escaped by a backslash
        self._escape_tail: bytes | None = None  # what followed a backslash at the very end of the last chunk

    def feed(self, chunk: bytes) -> str | None:
        if self._escape_tail is not None:
            tail = self._escape_tail + chunk[: len(_NUL)]
            self._escape_tail = None
            if tail.startswith(_NUL):
                return NUL_ESCAPE
        base = self._offset
        self._offset += len(chunk)
        for match in _TOKENS.finditer(chunk):
            start = match.start()
            at = base + start
            if at == self._skip_at:
                continue
            byte = chunk[start]
            if self._in_string:
                if byte == _BACKSLASH:
                    self._skip_at = at + 1
                    escaped = chunk[start + 1 : start + 1 + len(_NUL)]
                    if escaped == _NUL:
                        return NUL_ESCAPE
                    if len(escaped) < len(_NUL):
                        self._escape_tail = escaped
                elif byte == _QUOTE:
                    self._in_string = False
            elif byte == _QUOTE:
                self._in_string = True
            elif byte in _OPEN:
                self._depth += 1
                if self._depth > self._max:
                    return TOO_DEEP
            elif byte in _CLOSE:
                self._depth -= 1
        return None


def json_depth_exceeds(text: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> bool:
    """Whether ``text`` (a whole JSON text) nests deeper than ``max_depth``."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return DepthScanner(max_depth).feed(data) == TOO_DEEP
