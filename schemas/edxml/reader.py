"""Streaming read of an edXML document into a light node tree, with attachments decoded chunk by chunk.

lxml's parser-target interface (SAX events) is used instead of a tree: libxml2 hands character data over in
pieces, so the base64 text of ``Attachment/ContentTransferEncoded`` is decoded piece by piece into an attachment
sink and never held whole. Everything else (header, manifest, signature: a few KiB) becomes :class:`Node` objects.

Memory: with a sink, peak extra memory is about two feed chunks (1 MiB each) plus the header nodes, whatever the
attachment size. Without a sink the decoded attachments are collected in memory (0.75 × their base64 size).
Hardening as :mod:`schemas.xmlsafe`: DOCTYPE refused (prolog scan, then the parser's doctype event), entities not
resolved, no network, byte / depth / element-count limits checked while reading.

Internal to :mod:`schemas.edxml`; nothing here is public API.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from schemas.errors import ForbiddenXml, MalformedXml
from schemas.xmlsafe import ParseLimits, check_prolog, hardened_parser, split_junk, syntax_error

__all__ = ["AttachmentSink", "Base64Stream", "Node", "read_tree"]

AttachmentSink = Callable[[int, bytes], object]
"""Called as ``sink(index, chunk)`` with decoded bytes of the ``index``-th Attachment (document order)."""

FEED_CHUNK = 1024 * 1024
_WHITESPACE = b" \t\r\n"


class Base64Stream:
    """Decodes base64 text arriving in arbitrary pieces; whitespace (MIME line breaks) is ignored."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._carry = b""
        self._ended = False
        self.error: str | None = None

    def feed(self, text: str) -> None:
        if self.error is not None:
            return
        try:
            raw = text.encode("ascii").translate(None, _WHITESPACE)
        except UnicodeEncodeError:
            self.error = "non-ASCII character in base64 content"
            return
        if raw and self._ended:
            self.error = "data after the base64 padding"
            return
        data = self._carry + raw
        cut = len(data) - len(data) % 4
        self._carry = data[cut:]
        self._decode(data[:cut])

    def _decode(self, quads: bytes) -> None:
        if not quads:
            return
        try:
            self._write(binascii.a2b_base64(quads, strict_mode=True))
        except binascii.Error as exc:
            self.error = f"not base64 ({exc})"
        self._ended = quads.endswith(b"=")

    def close(self) -> None:
        if self._carry and self.error is None:
            self.error = f"base64 content is truncated ({len(self._carry)} characters left over)"


@dataclass(eq=False, slots=True)
class Node:
    """An element: namespace, local name, whether it was written with a prefix (``None``: cannot tell)."""

    ns: str | None
    name: str
    prefixed: bool | None
    parent: Node | None
    attrib: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)
    index: int | None = None  # Attachment: its position among attachments
    stream: Base64Stream | None = None  # ContentTransferEncoded: its decoder

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def path(self) -> str:
        parts: list[str] = []
        node: Node | None = self
        while node is not None:
            parts.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(parts))


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return None, tag


def _prefixed(scope: dict[str, str], ns: str | None) -> bool | None:
    if ns is None:
        return False
    by_default = scope.get("") == ns
    by_prefix = any(prefix and uri == ns for prefix, uri in scope.items())
    if by_default != by_prefix:
        return by_prefix
    return None


class _Target:
    """lxml parser target building :class:`Node` objects and streaming attachment content."""

    def __init__(self, limits: ParseLimits, sink: AttachmentSink) -> None:
        self._limits, self._sink = limits, sink
        self._stack: list[Node] = []
        self._scopes: list[dict[str, str]] = [{}]
        self._pending: dict[str, str] = {}
        self._count = self._attachments = 0
        self.root: Node | None = None

    def start_ns(self, prefix: str | None, uri: str) -> None:
        self._pending[prefix or ""] = uri

    def end_ns(self, prefix: str | None) -> None:
        return None

    def start(self, tag: str, attrib: dict[str, str], nsmap: object = None) -> None:
        self._count += 1
        self._limits.check_count(self._count)
        self._limits.check_depth(len(self._stack) + 1)
        scope = {**self._scopes[-1], **self._pending} if self._pending else self._scopes[-1]
        self._pending = {}
        self._scopes.append(scope)
        ns, name = _split(tag)
        parent = self._stack[-1] if self._stack else None
        node = Node(ns, name, _prefixed(scope, ns), parent, dict(attrib))
        if parent is None:
            self.root = node
        else:
            parent.children.append(node)
        self._begin_attachment(node)
        self._stack.append(node)

    def _begin_attachment(self, node: Node) -> None:
        if node.name == "Attachment":
            node.index, self._attachments = self._attachments, self._attachments + 1
        elif node.name == "ContentTransferEncoded" and node.parent is not None and node.parent.index is not None:
            index, sink = node.parent.index, self._sink
            node.stream = Base64Stream(lambda chunk: sink(index, chunk))

    def data(self, text: str) -> None:
        if self._stack:
            node = self._stack[-1]
            if node.stream is not None:
                node.stream.feed(text)
            else:
                node.chunks.append(text)

    def end(self, tag: str) -> None:
        node = self._stack.pop()
        self._scopes.pop()
        if node.stream is not None:
            node.stream.close()

    def doctype(self, *args: object) -> None:
        raise ForbiddenXml("XML with a DOCTYPE or ENTITY declaration is refused (XXE / entity expansion)")

    def comment(self, text: str) -> None:
        return None

    def pi(self, target: str, data: str | None = None) -> None:
        return None

    def close(self) -> Node | None:
        return self.root


def _byte_chunks(source: bytes | Path, limits: ParseLimits) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        limits.check_size(len(source))
        view = memoryview(source)
        for start in range(0, len(view), FEED_CHUNK):
            yield bytes(view[start : start + FEED_CHUNK])
        return
    limits.check_size(source.stat().st_size)
    total = 0
    with source.open("rb") as stream:
        while chunk := stream.read(FEED_CHUNK):
            total += len(chunk)
            limits.check_size(total)
            yield chunk


@dataclass(slots=True)
class ReadResult:
    root: Node
    junk_bytes: int


def read_tree(source: bytes | Path, limits: ParseLimits, sink: AttachmentSink) -> ReadResult:
    """Parse ``source`` into nodes, sending attachment bytes to ``sink``; raise the errors of xmlsafe."""
    if isinstance(source, str):
        raise TypeError("parse_package takes bytes or a pathlib.Path, not str (XML text or a path?)")
    chunks = _byte_chunks(source, limits)
    head, junk = split_junk(next(chunks, b""))
    if not head.strip():
        raise MalformedXml("empty document: no XML at line 1, column 1")
    check_prolog(head)
    target = _Target(limits, sink)
    parser = hardened_parser(target=target)
    try:
        parser.feed(head)
        for chunk in chunks:
            parser.feed(chunk)
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc) from exc
    if root is None:
        raise MalformedXml("no root element")
    return ReadResult(root, junk)
