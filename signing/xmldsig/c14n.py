"""Streaming Canonical XML 1.0 over expat, for edXML packages too large to hold as a tree.

signxml and lxml's C14N writer hold several copies of a package in memory (4-6x its size, most of a gigabyte for
a package with a 100 MB attachment), so the file API streams instead: expat events (prefixes kept) go through a
small C14N 1.0 writer (inclusive and exclusive) into a hash or a file, in 1 MiB reads. The event consumers here
(:class:`_C14nPass`, :class:`_HeaderSignatures`, :class:`_SignatureScan`) are what :mod:`signing.xmldsig.sign` and
:mod:`signing.xmldsig.verify` build their streaming passes from; the underscored names are package-internal. The
tests check this writer byte for byte against lxml's C14N on every field sample and on a document built to
exercise escaping, CDATA, processing instructions, ``xmlns=""`` and prefixed attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from signing.xmldsig.algorithms import DS_NS, EDXML_NS
from signing.xmldsig.errors import NamespaceError, XmlSignatureError

__all__ = ["HEADER_PATH", "READ_CHUNK"]

HEADER_PATH = ((EDXML_NS, "edXML"), (EDXML_NS, "edXMLEnvelope"), (EDXML_NS, "edXMLHeader"))
READ_CHUNK = 1 << 20


@dataclass
class _Element:
    uri: str
    local: str
    prefix: str
    attributes: list[tuple[str, str, str, str]]  # (uri, local, prefix, value)
    in_scope: dict[str, str]  # prefix ("" = default) -> namespace URI ("" = none)
    ordinal: int
    depth: int
    path: tuple[tuple[str, str], ...]  # (uri, local) from the root to this element


class _StopParsing(Exception):  # control flow only, never escapes this module
    pass


class _Events:
    """Receives parse events; subclasses override what they need."""

    def start(self, element: _Element) -> None: ...
    def end(self, element: _Element) -> None: ...
    def text(self, data: str) -> None: ...
    def comment(self, data: str) -> None: ...
    def pi(self, target: str, data: str) -> None: ...


def _split(name: str) -> tuple[str, str, str]:
    parts = name.split("\x01")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1], ""
    return "", name, ""


_UNBOUND_PREFIX = expat.errors.codes[expat.errors.XML_ERROR_UNBOUND_PREFIX]


def _refuse_dtd(*_: object) -> None:
    raise XmlSignatureError("DOCTYPE declarations are not accepted in edXML packages (DTDs and entities off)")


def _stream_file(path: Path, events: _Events) -> None:
    """Parse ``path`` with expat in 1 MiB reads, prefixes kept, and feed ``events``."""
    parser = expat.ParserCreate(namespace_separator="\x01")
    parser.namespace_prefixes = True
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.buffer_size = READ_CHUNK
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd  # type: ignore[assignment]
    stack: list[_Element] = []
    pending: dict[str, str] = {}
    counter = iter(range(1, 1 << 62))

    def on_ns(prefix: str | None, uri: str | None) -> None:
        pending[prefix or ""] = uri or ""

    def on_start(name: str, flat: list[str]) -> None:
        uri, local, prefix = _split(name)
        attributes = [(*_split(flat[i]), flat[i + 1]) for i in range(0, len(flat), 2)]
        parent = stack[-1] if stack else None
        in_scope = {**parent.in_scope, **pending} if parent else dict(pending)
        pending.clear()
        path = (*(parent.path if parent else ()), (uri, local))
        element = _Element(uri, local, prefix, attributes, in_scope, next(counter), len(stack), path)
        stack.append(element)
        events.start(element)

    def on_end(_name: str) -> None:
        events.end(stack.pop())

    parser.StartNamespaceDeclHandler = on_ns
    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.CharacterDataHandler = events.text
    parser.CommentHandler = events.comment
    parser.ProcessingInstructionHandler = events.pi
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        if exc.code == _UNBOUND_PREFIX:
            raise NamespaceError(f"The package breaks the XML namespace rules ({exc})") from exc
        raise XmlSignatureError(f"the package is not well-formed XML: {exc}") from exc
    except OSError as exc:
        raise XmlSignatureError(f"cannot read the package {path}: {exc.strerror or exc}") from exc


_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"})


class _C14nWriter:
    """Canonical XML 1.0 (inclusive or exclusive, with or without comments) of an event stream, as UTF-8."""

    def __init__(
        self,
        write: Callable[[bytes], object],
        *,
        exclusive: bool = False,
        with_comments: bool = False,
        inclusive_prefixes: Iterable[str] = (),
    ) -> None:
        self._write = write
        self._exclusive = exclusive
        self._with_comments = with_comments
        self._inclusive_prefixes = {"" if p == "#default" else p for p in inclusive_prefixes}
        self._rendered: list[dict[str, str]] = [{}]
        self._depth = 0
        self._root_done = False

    def start(self, element: _Element) -> None:
        rendered = dict(self._rendered[-1])
        declarations = []
        for prefix in sorted(self._candidates(element, rendered)):
            uri = element.in_scope.get(prefix, "")
            if prefix != "xml" and rendered.get(prefix, "") != uri:
                declarations.append(f' xmlns:{prefix}="{_attr(uri)}"' if prefix else f' xmlns="{_attr(uri)}"')
                rendered[prefix] = uri
        self._rendered.append(rendered)
        attributes = sorted(element.attributes, key=lambda a: (a[0], a[1]))
        rendered_attrs = "".join(f' {_qname(p, local)}="{_attr(v)}"' for _, local, p, v in attributes)
        self._out(f"<{_qname(element.prefix, element.local)}{''.join(declarations)}{rendered_attrs}>")
        self._depth += 1

    def _candidates(self, element: _Element, rendered: dict[str, str]) -> set[str]:
        if not self._exclusive:
            return set(element.in_scope) | ({""} if rendered.get("") else set())
        used = {element.prefix} | {p for u, _, p, _ in element.attributes if p}
        return used | (self._inclusive_prefixes & set(element.in_scope))

    def end(self, element: _Element) -> None:
        self._rendered.pop()
        self._depth -= 1
        self._out(f"</{_qname(element.prefix, element.local)}>")
        if self._depth == 0:
            self._root_done = True

    def text(self, data: str) -> None:
        if self._depth:
            self._out(data.translate(_TEXT_ESCAPES))

    def comment(self, data: str) -> None:
        if self._with_comments:
            self._outside_root(f"<!--{data}-->")

    def pi(self, target: str, data: str) -> None:
        self._outside_root(f"<?{target} {data}?>" if data else f"<?{target}?>")

    def _outside_root(self, node: str) -> None:
        if self._depth:
            self._out(node)
        elif self._root_done:
            self._out("\n" + node)
        else:
            self._out(node + "\n")

    def _out(self, text: str) -> None:
        for i in range(0, len(text), READ_CHUNK):
            self._write(text[i : i + READ_CHUNK].encode("utf-8"))


def _qname(prefix: str, local: str) -> str:
    return f"{prefix}:{local}" if prefix else local


def _attr(value: str) -> str:
    return value.translate(_ATTR_ESCAPES)


class _C14nPass(_Events):
    """Feeds a writer, leaving out the elements ``skip`` selects (the enveloped-signature transform)."""

    def __init__(self, writer: _C14nWriter, *, skip: Callable[[_Element], bool], watch: _Events | None = None) -> None:
        self._writer = writer
        self._skip = skip
        self._watch = watch
        self._skipping = 0

    def start(self, element: _Element) -> None:
        if self._watch is not None:
            self._watch.start(element)
        if self._skipping or self._skip(element):
            self._skipping += 1
        else:
            self._writer.start(element)

    def end(self, element: _Element) -> None:
        if self._skipping:
            self._skipping -= 1
            return
        if self._watch is not None:
            self._watch.end(element)
        self._writer.end(element)

    def text(self, data: str) -> None:
        if not self._skipping:
            self._writer.text(data)

    def comment(self, data: str) -> None:
        if not self._skipping:
            self._writer.comment(data)

    def pi(self, target: str, data: str) -> None:
        if not self._skipping:
            self._writer.pi(target, data)


def _is_header(element: _Element) -> bool:
    return element.path == HEADER_PATH


class _HeaderSignatures(_Events):
    """Finds edXMLHeader, selects its Signature children (any namespace) and marks the header's end."""

    def __init__(self, on_end: Callable[[], object] | None = None) -> None:
        self.in_scope: dict[str, str] | None = None
        self._on_end = on_end

    def is_signature(self, element: _Element) -> bool:
        return element.local == "Signature" and element.path[:-1] == HEADER_PATH

    def start(self, element: _Element) -> None:
        if _is_header(element):
            self.in_scope = dict(element.in_scope)

    def end(self, element: _Element) -> None:
        if _is_header(element) and self._on_end is not None:
            self._on_end()


class _SignatureScan(_Events):
    """First pass of verification: picks the Signature to check and captures it as canonical XML (inclusive
    C14N of the subtree, so it keeps every namespace in scope where it sat). Prefers a ds:Signature child of the
    header, then any ds:Signature, then a Signature child of the header in another namespace."""

    def __init__(self) -> None:
        self.captured: bytes | None = None
        self.ordinal = 0
        self.in_header = False
        self._buffer: list[bytes] = []
        self._capture: _C14nPass | None = None
        self._capturing = 0

    def _rank(self, element: _Element) -> int:
        in_header = element.path[:-1] == HEADER_PATH
        if element.local != "Signature":
            return 0
        if element.uri == DS_NS:
            return 3 if in_header else 2
        return 1 if in_header else 0

    def start(self, element: _Element) -> None:
        if self._capturing:
            self._capturing += 1
            assert self._capture is not None
            self._capture.start(element)
            return
        rank = self._rank(element)
        if rank and rank > self._best_rank():
            self._buffer = []
            self._capture = _C14nPass(_C14nWriter(self._buffer.append), skip=lambda _e: False)
            self._capturing = 1
            self.ordinal, self.in_header, self._rank_seen = element.ordinal, rank in (1, 3), rank
            self._capture.start(element)

    def _best_rank(self) -> int:
        return getattr(self, "_rank_seen", 0)

    def end(self, element: _Element) -> None:
        if self._capturing:
            assert self._capture is not None
            self._capture.end(element)
            self._capturing -= 1
            if not self._capturing:
                self.captured = b"".join(self._buffer)
        elif _is_header(element) and self._best_rank() == 3:
            raise _StopParsing

    def text(self, data: str) -> None:
        if self._capturing and self._capture is not None:
            self._capture.text(data)
