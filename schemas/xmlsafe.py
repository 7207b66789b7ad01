"""Hardened parsing of untrusted XML (STYLE.md 13; OWASP XXE prevention).

Owns every lxml parser this project builds for outside input. Choices:

* DOCTYPE is refused outright (:class:`ForbiddenXml`, code ``xml_forbidden_construct``): edXML needs none, and
  refusing it removes XXE (``file://``, ``http://``), billion laughs and external-DTD fetching in one rule. The
  prolog is scanned before parsing, and the parser itself refuses a DOCTYPE the scan could not see.
* Parsers are built with ``resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False``.
* Limits (:class:`ParseLimits`): bytes (default 150 MiB), nesting depth (64) and element count (200 000).
* Bytes before ``<?xml`` (some senders prefix a length or BOM-like junk) are stripped; callers report it.

:func:`safe_parse` returns an lxml element and is **internal** to ``schemas/`` and ``signing/``: lxml types must
never appear in a public signature of the service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from schemas.errors import ForbiddenXml, MalformedXml, XmlTooDeep, XmlTooLarge

__all__ = ["ParseLimits", "check_prolog", "hardened_parser", "safe_parse", "split_junk", "syntax_error"]

MIB = 1024 * 1024
_JUNK_WINDOW = 1024
_DECL = b"<?xml"
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseLimits:
    """Resource limits for one untrusted document."""

    max_bytes: int = 150 * MIB
    max_depth: int = 64
    max_elements: int = 200_000

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise XmlTooLarge(f"XML of {size} bytes is over the limit of {self.max_bytes} bytes")

    def check_depth(self, depth: int) -> None:
        if depth > self.max_depth:
            raise XmlTooDeep(f"XML elements nested deeper than the limit of {self.max_depth}")

    def check_count(self, count: int) -> None:
        if count > self.max_elements:
            raise XmlTooLarge(f"XML has more than the limit of {self.max_elements} elements")


def split_junk(head: bytes) -> tuple[bytes, int]:
    """Return ``(head without junk, number of junk bytes)``: bytes before ``<?xml`` within the first KiB.

    A UTF-8 BOM directly before the declaration is not junk.
    """
    at = head.find(_DECL, 0, _JUNK_WINDOW)
    if at <= 0:
        return head, 0
    if at == len(_UTF8_BOM) and head.startswith(_UTF8_BOM):
        return head, 0
    return head[at:], at


_PROLOG_SKIP = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


def check_prolog(data: bytes) -> None:
    """Refuse a DOCTYPE (or any other ``<!`` declaration) in the prolog of an ASCII-compatible document."""
    pos = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    while True:
        skipped = _PROLOG_SKIP.match(data, pos)
        if skipped is None or skipped.end() == pos:
            break
        pos = skipped.end()
    if data.startswith(b"<!", pos):
        raise ForbiddenXml("XML with a DOCTYPE or ENTITY declaration is refused (XXE / entity expansion)")


def hardened_parser(*, target: Any = None) -> etree.XMLParser:
    """An lxml parser that never resolves entities, reads a DTD or touches the network."""
    return etree.XMLParser(
        target=target,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_blank_text=False,
    )


def syntax_error(exc: etree.XMLSyntaxError) -> MalformedXml:
    """Translate lxml's syntax error into :class:`MalformedXml` naming line and column."""
    line, column = getattr(exc, "position", (0, 0))
    reason = exc.msg if getattr(exc, "msg", None) else str(exc)
    return MalformedXml(f"not well-formed XML at line {line}, column {column}: {reason}")


def _check_tree(root: etree._Element, limits: ParseLimits) -> None:
    depth = count = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            count += 1
            limits.check_depth(depth)
            limits.check_count(count)
        else:
            depth -= 1


def safe_parse(data: bytes, *, limits: ParseLimits | None = None) -> etree._Element:
    """Parse untrusted ``data`` into an lxml element tree (internal use: schemas/ and signing/ only).

    Raises :class:`XmlTooLarge`, :class:`XmlTooDeep`, :class:`ForbiddenXml` or :class:`MalformedXml`. Junk before
    ``<?xml`` is stripped. Namespace errors (an undeclared prefix) are malformed here; the tolerant package
    parser (:func:`schemas.edxml.parse_package`) reads such packages and reports them instead.
    """
    limits = limits or ParseLimits()
    limits.check_size(len(data))
    data, _ = split_junk(data)
    if not data.strip():
        raise MalformedXml("empty document: no XML at line 1, column 1")
    check_prolog(data)
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ForbiddenXml("XML with a DOCTYPE or ENTITY declaration is refused (XXE / entity expansion)")
    _check_tree(root, limits)
    return root
