"""Fast reading of signature dictionaries: their /Contents hex string without pyHanko's per-character lexer.

pyHanko reads a hex string one character at a time through three Python calls per character; a signature's
/Contents is 16-40 KB of hex, so reading the signature dictionaries was a quarter of a verification's time.
This module reads each signature dictionary *with pyHanko's own parser*, over a copy of the object's bytes in
which the first long hex run is replaced by a short random placeholder, then puts the real string (decoded
with the same rules: PDF whitespace ignored, an odd digit count padded with ``0``, :func:`pdf_string` typing)
where the placeholder landed, and stores the result in the reader's object cache (``cache_indirect_object``,
the cache pyHanko's ``get_object`` consults first). Nothing global is replaced.

Why this cannot change what pyHanko sees: the copy differs from the file only inside one ``<...>`` run made of
hex digits and whitespace (no ``%``, ``<`` or ``>``), so every lexer decision before and after it is the same;
the placeholder is used only when it comes back exactly once, as a direct value of the parsed dictionary (so
it was lexed as a hex string, not inside a literal string, comment, nested object or stream payload). In every
other case (object streams, encrypted files, no long hex run, anything unexpected) nothing is cached and
pyHanko reads the object itself as before.
"""

from __future__ import annotations

import binascii
import io
import logging
import re
import secrets

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE
from pyhanko.pdf_utils.reader import PdfFileReader, read_object_header

__all__ = ["prefill_signature_objects"]

log = logging.getLogger(__name__)

# A run shorter than this is not worth it (and keeps ordinary short strings such as /ID out of the picture).
_MIN_HEX = 256
_LONG_HEX = re.compile(rb"<([0-9A-Fa-f \n\r\t\f\x00]{%d,})>" % _MIN_HEX)
# How far after the object header the /Contents hex string may end (CMS with embedded revocation data is large).
_WINDOW = 4 * 1024 * 1024
_MAX_FIELDS = 10_000


def prefill_signature_objects(reader: PdfFileReader, raw: bytes) -> int:
    """Put the signature dictionaries (/V of signature fields) into ``reader``'s object cache; return how many.

    Best effort: a dictionary that cannot be handled here is left for pyHanko to read normally."""
    if reader.encrypted:
        return 0
    done = 0
    for ref in _signature_value_refs(reader):
        try:
            if _prefill_one(reader, raw, ref):
                done += 1
        except Exception as exc:  # any surprise means "let pyHanko read it", never a verdict
            log.debug("signature object %s left to pyHanko: %s", ref, exc)
    return done


def _signature_value_refs(reader: PdfFileReader) -> list[generic.Reference]:
    """References held in /V of the AcroForm fields (any field type; only long-hex dictionaries are used)."""
    try:
        fields = reader.root["/AcroForm"]["/Fields"]
    except Exception:  # no form: nothing to prefill
        return []
    refs: list[generic.Reference] = []
    seen: set[generic.Reference] = set()
    stack = [fields]
    while stack and len(seen) < _MAX_FIELDS:
        items = stack.pop()
        if not isinstance(items, generic.ArrayObject):
            continue
        for item in items:
            if not isinstance(item, generic.IndirectObject) or item.reference in seen:
                continue
            seen.add(item.reference)
            try:
                field = item.get_object()
                if not isinstance(field, generic.DictionaryObject):
                    continue
                value = field.raw_get("/V") if "/V" in field else None
                if isinstance(value, generic.IndirectObject):
                    refs.append(value.reference)
                if "/Kids" in field:
                    stack.append(field["/Kids"])
            except Exception as exc:  # pyHanko will meet (and judge) the same damage itself
                log.debug("form field %s skipped: %s", item.reference, exc)
    return refs


def _prefill_one(reader: PdfFileReader, raw: bytes, ref: generic.Reference) -> bool:
    if reader.cache_get_indirect_object(ref.generation, ref.idnum) is not None:
        return False
    marker = reader.xrefs[ref]
    if not isinstance(marker, int) or not 0 <= marker < len(raw):
        return False  # compressed object (object stream) or no such object
    match = _LONG_HEX.search(raw, marker, min(len(raw), marker + _WINDOW))
    if match is None:
        return False
    end = raw.find(b"endobj", match.end())
    if end < 0:
        return False
    token = secrets.token_hex(16).encode()
    copy = raw[marker : match.start()] + b"<" + token + b">" + raw[match.end() : end + len(b"endobj")]
    stream = io.BytesIO(copy)
    idnum, generation = read_object_header(stream, strict=reader.strict)
    if idnum != ref.idnum or generation != ref.generation:
        return False
    obj = generic.read_object(stream, generic.Reference(idnum, generation, reader))
    if not isinstance(obj, generic.DictionaryObject) or isinstance(obj, generic.StreamObject):
        return False
    # the dictionary must end right before the first "endobj": then pyHanko, reading the file itself, would also
    # have found no "stream" keyword after it (the copy is cut there)
    if copy[stream.tell() :].strip(PDF_WHITESPACE) != b"endobj":
        return False
    placeholder = binascii.unhexlify(token)
    keys = [k for k, v in obj.items() if _is_string(v) and v.original_bytes == placeholder]
    if len(keys) != 1 or _placeholder_elsewhere(copy, token, match.start() - marker):
        return False
    digits = match.group(1).translate(None, PDF_WHITESPACE)
    value = generic.pdf_string(binascii.unhexlify(digits + b"0" if len(digits) % 2 else digits))
    obj[keys[0]] = value  # DictionaryObject.__setitem__ sets the container reference, as parsing does
    reader.cache_indirect_object(ref.generation, ref.idnum, obj)
    return True


def _is_string(value: object) -> bool:
    return isinstance(value, generic.ByteStringObject | generic.TextStringObject)


def _placeholder_elsewhere(copy: bytes, token: bytes, at: int) -> bool:
    """The random token also occurs outside the spot we put it (cannot happen unless the file guessed it)."""
    return copy.count(token) != 1 or copy.find(token) != at + 1
