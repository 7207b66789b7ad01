"""Relay a package as it was received, plus one TraceHeader (STANDARDS §2 "each relay appends one", §8).

A node that passes a package on must not rewrite what the sender wrote: field packages carry quirks the canonical
builder would refuse or drop (a UUID DocumentId, dates written ``dd/MM/yyyy``, over-long optional fields, comments,
elements in an unusual order), and the recipient's DMS reads them as the sender's DMS wrote them. So the bytes are
kept and only spliced:

* the TraceHeader goes after the last ``TraceHeader`` of ``TraceHeaderList`` (before ``Bussiness``), or in a new
  ``TraceHeaderList`` after ``MessageHeader`` when there is none; it declares the edXML namespace itself, so it
  means the same whatever prefixes the sender chose;
* namespace prefixes a sender used without declaring them (``xlink:href``, ``edXML:`` outside the element that
  declares it: the kit's ``edoc.edxml``) are declared on the root element, each reported as ``undeclared_prefix``:
  without that the package is not namespace-well-formed and no one can canonicalize or sign it. A prefix whose
  namespace is not known is not guessed (:class:`~schemas.errors.MalformedXml`);
* bytes before ``<?xml`` are dropped (the parser reports them as ``junk_before_xml_declaration``).

Offsets come from expat in non-namespace mode (it reads undeclared prefixes, and its byte index is exact). The
input has already been read by :func:`~schemas.edxml.parse_package` with the hardened parser; expat here refuses
a DOCTYPE again all the same. Signing the result (the previous enveloped signature no longer matches) is the
caller's: ``signing.xmldsig`` replaces the Signature in the header.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from xml.parsers import expat

from schemas.edxml.codes import EDXML_NS
from schemas.edxml.fields import Oddity
from schemas.edxml.model import TraceHeader
from schemas.edxml.wire import escape_text, format_datetime
from schemas.errors import ForbiddenXml, InvalidPackage, MalformedXml
from schemas.xmlsafe import split_junk

__all__ = ["KNOWN_PREFIXES", "Relayed", "declare_known_prefixes", "relay_as_received"]

KNOWN_PREFIXES = {
    "edXML": EDXML_NS,
    "xlink": "http://www.w3.org/1999/xlink",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xsd": "http://www.w3.org/2001/XMLSchema",
}
"""Namespaces of the prefixes field packages use without declaring them (the kit's samples: ``edXML``, ``xlink``)."""


@dataclass(frozen=True, slots=True)
class Relayed:
    """The package to pass on and what had to be changed besides the TraceHeader."""

    data: bytes
    oddities: tuple[Oddity, ...] = ()


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _prefix(name: str) -> str | None:
    prefix, colon, _ = name.partition(":")
    return prefix if colon and prefix not in ("xmlns", "xml") else None


@dataclass
class _Scan:
    """What one expat pass learns: where to splice, which prefixes are used undeclared."""

    root_name_end: int = -1
    # Offsets of end events: the start of an element's end tag, or just after an empty-element tag (``<a/>``),
    # which is how expat reports them; ``_after`` tells the two apart.
    header: int = -1  # edXMLHeader's end, once seen
    message_end: int = -1  # MessageHeader's end
    trace_list: int = -1  # start of TraceHeaderList's start tag
    trace_list_end: int = -1  # TraceHeaderList's end
    last_trace_end: int = -1  # the last TraceHeader's end
    bussiness: int = -1  # start of Bussiness's start tag in TraceHeaderList
    undeclared: dict[str, str] = field(default_factory=dict)  # prefix -> path of its first use
    stack: list[tuple[str, frozenset[str]]] = field(default_factory=list)


_WATCHED = ("MessageHeader", "TraceHeader", "TraceHeaderList", "edXMLHeader")


def _scan(data: bytes) -> _Scan:
    scan = _Scan()
    parser = expat.ParserCreate()  # no namespace processing: prefixes are seen as written

    def refuse(*_args: object) -> None:
        raise ForbiddenXml("XML with a DOCTYPE or ENTITY declaration is refused (XXE / entity expansion)")

    def start(name: str, attrs: dict[str, str]) -> None:
        in_scope = scan.stack[-1][1] if scan.stack else frozenset()
        if attrs and any(a.startswith("xmlns") for a in attrs):
            in_scope = in_scope | {a[6:] for a in attrs if a.startswith("xmlns:")}
        scan.stack.append((name, in_scope))
        if len(scan.stack) == 1:
            scan.root_name_end = parser.CurrentByteIndex + 1 + len(name.encode("utf-8"))
        elif name.endswith("Bussiness") and _local(scan.stack[-2][0]) == "TraceHeaderList" and scan.bussiness < 0:
            scan.bussiness = parser.CurrentByteIndex
        elif name.endswith("TraceHeaderList") and _local(scan.stack[-2][0]) == "edXMLHeader" and scan.trace_list < 0:
            scan.trace_list = parser.CurrentByteIndex
        for used in (name, *attrs) if attrs else (name,):
            if ":" in used:
                prefix = _prefix(used)
                if prefix is not None and prefix not in in_scope:
                    scan.undeclared.setdefault(prefix, "/" + "/".join(_local(n) for n, _ in scan.stack))

    def end(name: str) -> None:
        scan.stack.pop()
        if not name.endswith(_WATCHED):
            return
        where, parent = parser.CurrentByteIndex, _local(scan.stack[-1][0]) if scan.stack else ""
        local = _local(name)
        if local == "MessageHeader" and parent == "edXMLHeader" and scan.message_end < 0:
            scan.message_end = where
        elif local == "TraceHeader" and parent == "TraceHeaderList":
            scan.last_trace_end = where
        elif local == "TraceHeaderList" and parent == "edXMLHeader" and scan.trace_list_end < 0:
            scan.trace_list_end = where
        elif local == "edXMLHeader" and scan.header < 0:
            scan.header = where

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise MalformedXml(f"not well-formed XML at line {exc.lineno}, column {exc.offset}: {exc}") from exc
    return scan


def _after(data: bytes, end: int) -> int:
    """The offset just after the element whose end event expat reported at ``end``."""
    if not data.startswith(b"</", end):
        return end  # an empty-element tag: expat reports its end just after it
    close = data.find(b">", end)
    if close < 0:
        raise MalformedXml("an end tag is not closed")
    return close + 1


def _encoding(data: bytes) -> str:
    head = data[:200].split(b"?>", 1)[0]
    found = head.find(b"encoding=")
    if found < 0:
        return "utf-8"
    quoted = head[found + 9 :]
    name = quoted[1:].split(quoted[:1], 1)[0].decode("ascii", "replace")
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise MalformedXml(f"unknown encoding {name!r} in the XML declaration") from exc


def _trace_xml(trace: TraceHeader, *, in_list: bool) -> str:
    stamp = format_datetime(trace.timestamp) if trace.timestamp is not None else ""
    element = (
        f'<edXML:TraceHeader xmlns:edXML="{EDXML_NS}"><edXML:OrganId>{escape_text(trace.organ_id)}</edXML:OrganId>'
        f"<edXML:Timestamp>{stamp}</edXML:Timestamp></edXML:TraceHeader>"
    )
    if in_list:
        return element
    return f'<edXML:TraceHeaderList xmlns:edXML="{EDXML_NS}">{element}</edXML:TraceHeaderList>'


def declare_known_prefixes(data: bytes) -> Relayed:
    """``data`` with every undeclared prefix of :data:`KNOWN_PREFIXES` declared on the root element (and junk
    before ``<?xml`` dropped), each reported as ``undeclared_prefix``; an unknown undeclared prefix is refused."""
    data, _junk = split_junk(data)
    scan = _scan(data)
    return _declare(data, scan)


def _declare(data: bytes, scan: _Scan) -> Relayed:
    unknown = sorted(set(scan.undeclared) - set(KNOWN_PREFIXES))
    if unknown:
        raise MalformedXml(f"the package uses the undeclared namespace prefix(es) {', '.join(unknown)}")
    if not scan.undeclared:
        return Relayed(data)
    declarations = "".join(f' xmlns:{p}="{KNOWN_PREFIXES[p]}"' for p in sorted(scan.undeclared))
    oddities = tuple(
        Oddity(code="undeclared_prefix", path=path,
               message=f"the prefix {prefix}: is used without a declaration; declared on the root as "
                       f"{KNOWN_PREFIXES[prefix]}")
        for prefix, path in sorted(scan.undeclared.items())
    )  # fmt: skip
    at = scan.root_name_end
    return Relayed(data[:at] + declarations.encode("ascii") + data[at:], oddities)


def relay_as_received(raw: bytes, trace: TraceHeader) -> Relayed:
    """``raw`` with ``trace`` appended to its TraceHeaderList (see the module docstring)."""
    data, _junk = split_junk(raw)
    encoding = _encoding(data)
    if "<a/>".encode(encoding) != b"<a/>":
        raise MalformedXml(f"the package is in {encoding}, which this gateway does not relay byte for byte")
    scan = _scan(data)
    if scan.header < 0 or scan.message_end < 0:
        raise InvalidPackage("not an edXML document package: no edXMLHeader/MessageHeader to add a TraceHeader to")
    if scan.last_trace_end >= 0:
        at, piece = _after(data, scan.last_trace_end), _trace_xml(trace, in_list=True)
    elif scan.trace_list_end >= 0 and not data.startswith(b"</", scan.trace_list_end):  # <TraceHeaderList/>
        start, end = scan.trace_list, scan.trace_list_end
        name = data[start + 1 : end].split(b"/")[0].split()[0]
        element = data[start : end - 2].rstrip() + b">" + _trace_xml(trace, in_list=True).encode(encoding)
        spliced = data[:start] + element + b"</" + name + b">" + data[end:]
        return _declare(spliced, scan) if scan.undeclared else Relayed(spliced)
    elif scan.trace_list_end >= 0:  # TraceHeaders come before Bussiness in the list
        at = scan.bussiness if 0 <= scan.bussiness < scan.trace_list_end else scan.trace_list_end
        piece = _trace_xml(trace, in_list=True)
    else:
        at, piece = _after(data, scan.message_end), _trace_xml(trace, in_list=False)
    spliced = data[:at] + piece.encode(encoding) + data[at:]
    return _declare(spliced, scan) if scan.undeclared else Relayed(spliced)
