"""``parse_package``: the tolerant edXML reader (STANDARDS §2: liberal in what we accept, and say what was odd).

Reads every package of the national-axis kit's samples: undeclared or missing ``edXML:`` prefixes on attachments,
a ``Signature`` in the edXML default namespace, RSA-SHA1, malformed agency codes, dates that do not exist, junk
bytes before ``<?xml``. Each is reported as an :class:`Oddity` with a stable code; see ``ODDITY_CODES``.
What cannot be read at all raises: :class:`MalformedXml`, :class:`ForbiddenXml`, :class:`XmlTooLarge`,
:class:`XmlTooDeep`, :class:`InvalidPackage` (wrong root, no envelope / header / MessageHeader / From, a
Bussiness block whose type is unknown: acting on a guessed recall/replace would be worse than refusing).

Memory: see :mod:`.reader`. With ``attachment_sink`` the attachments go to the sink chunk by chunk and
``Attachment.data`` is ``b""``; the sink's output is only meaningful if ``parse_package`` returns normally and
reports no ``invalid_base64`` for that attachment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from schemas.edxml import spec as S
from schemas.edxml.attachments import read_attachments
from schemas.edxml.codes import EDXML_NS
from schemas.edxml.fields import Context, Oddity, check_children, read_object
from schemas.edxml.model import Business, TraceHeader
from schemas.edxml.package import EdocPackage, StatusPackage
from schemas.edxml.reader import AttachmentSink, Node, read_tree
from schemas.edxml.signature import inspect_signatures
from schemas.errors import InvalidPackage
from schemas.xmlsafe import ParseLimits

__all__ = ["ODDITY_CODES", "Oddity", "ParsedPackage", "parse_edoc_file", "parse_package"]

ODDITY_CODES = {
    "junk_before_xml_declaration": "bytes before <?xml were stripped",
    "malformed_agency_code": "an OrganId that is not NNN.NN.NN.LNN (kept as text)",
    "impossible_date": "a well-formed date or timestamp that does not exist (read as None)",
    "bad_date_format": "a date not in yyyy/MM/dd (HH:mm:ss) form (read as None)",
    "day_first_date": "a date written dd/MM/yyyy (read as that date)",
    "too_long": "a text longer than STANDARDS §2 allows (kept whole)",
    "undeclared_prefix": "a namespace prefix used without a declaration (declared on the root when relayed)",
    "invalid_number": "an integer field that is not an integer (read as None)",
    "invalid_boolean": "a boolean field that is not true/false/1/0 (read as None)",
    "invalid_document_id": "a DocumentId not in {OrganId},{yyyy/MM/dd},{số}/{ký hiệu} form (kept as text)",
    "unknown_status_code": "a StatusCode outside STANDARDS §3 (kept as text)",
    "weak_signature_algorithm": "SHA-1 or MD5 in SignatureMethod/DigestMethod",
    "signature_default_namespace": "a Signature not in the XML-DSig namespace (it inherited edXML's)",
    "signature_misplaced": "a Signature elsewhere than as a child of edXMLHeader",
    "unprefixed_attachment": "AttachmentEncoded/Attachment elements without the edXML: prefix",
    "wrong_namespace": "an edXML element outside the edXML namespace",
    "empty_element": "an element present but empty (read as absent)",
    "missing_element": "a required element absent",
    "unknown_element": "an element the format does not define here (ignored)",
    "duplicate_element": "a single element repeated (the first is used)",
    "element_order": "children not in the usual order (read anyway; the XSD would refuse)",
    "invalid_base64": "attachment content that is not base64 (data left empty)",
    "manifest_mismatch": "manifest References and attachments that do not correspond",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedPackage:
    """What :func:`parse_package` read: exactly one of ``edoc``/``status`` is set, per ``kind``."""

    kind: Literal["edoc", "status"]
    edoc: EdocPackage | None
    status: StatusPackage | None
    oddities: tuple[Oddity, ...]
    has_signature: bool

    def oddity_codes(self) -> frozenset[str]:
        return frozenset(o.code for o in self.oddities)


def _child(node: Node, name: str) -> Node | None:
    return next((c for c in node.children if c.name == name), None)


def _required(node: Node, name: str) -> Node:
    found = _child(node, name)
    if found is None:
        raise InvalidPackage(f"not an edXML package: {node.path} has no {name}")
    return found


def _root(root: Node, ctx: Context) -> None:
    if root.name != "edXML" or root.ns not in (EDXML_NS, None):
        raise InvalidPackage(f"not an edXML package: the root is {{{root.ns or ''}}}{root.name}")
    if root.ns is None:
        ctx.odd("wrong_namespace", "the root edXML is not in the edXML namespace", root)


def _status(ctx: Context, header: Node) -> StatusPackage:
    status: StatusPackage = read_object(ctx, header, S.STATUS_HEADER)
    return status


def _trace(ctx: Context, header: Node) -> tuple[tuple[TraceHeader, ...], Business | None]:
    trace_list = _child(header, "TraceHeaderList")
    if trace_list is None:
        return (), None
    check_children(ctx, trace_list, ("TraceHeader", "Bussiness"))
    traces = tuple(read_object(ctx, n, S.TRACE_HEADER) for n in trace_list.children if n.name == "TraceHeader")
    node = _child(trace_list, "Bussiness")
    business = None if node is None else read_object(ctx, node, S.BUSINESS)
    if business is not None and business.doc_type is None:
        raise InvalidPackage("Bussiness has no BussinessDocType 0-3: cannot tell new, recall, update, replace")
    return traces, business


def _edoc(ctx: Context, root: Node, header: Node, attachments: dict[int, bytes] | None) -> EdocPackage:
    message = read_object(ctx, _required(header, "MessageHeader"), S.MESSAGE_HEADER)
    traces, business = _trace(ctx, header)
    return EdocPackage(
        header=message, trace=traces, business=business, attachments=read_attachments(ctx, root, attachments)
    )


def _envelope(ctx: Context, root: Node) -> Node:
    """Check the envelope's structure and return edXMLHeader."""
    check_children(ctx, root, ("edXMLEnvelope", "AttachmentEncoded"), skip=("Signature",))
    envelope = _required(root, "edXMLEnvelope")
    check_children(ctx, envelope, ("edXMLHeader", "edXMLBody"), skip=("Signature",))
    header = _required(envelope, "edXMLHeader")
    check_children(ctx, header, ("MessageHeader", "TraceHeaderList"), skip=("Signature",))
    return header


def _interpret(root: Node, ctx: Context, attachments: dict[int, bytes] | None) -> ParsedPackage:
    _root(root, ctx)
    header = _envelope(ctx, root)
    message = _required(header, "MessageHeader")
    _required(message, "From")
    has_signature = inspect_signatures(ctx, root, header)
    if _child(message, "StatusCode") is not None:
        status = _status(ctx, message)
        return ParsedPackage(kind="status", edoc=None, status=status, oddities=ctx.oddities,
                             has_signature=has_signature)  # fmt: skip
    edoc = _edoc(ctx, root, header, attachments)
    return ParsedPackage(kind="edoc", edoc=edoc, status=None, oddities=ctx.oddities, has_signature=has_signature)


def parse_package(
    source: bytes | Path,
    *,
    limits: ParseLimits = ParseLimits(),
    attachment_sink: AttachmentSink | None = None,
) -> ParsedPackage:
    """Read an edXML document or status package from bytes or a file, tolerantly (see module docstring).

    ``attachment_sink(index, chunk)`` receives decoded attachment bytes instead of ``Attachment.data``.
    """
    collected: defaultdict[int, list[bytes]] | None = None
    if attachment_sink is None:
        collected = defaultdict(list)
        attachment_sink = lambda index, chunk: collected[index].append(chunk)  # noqa: E731
    result = read_tree(source, limits, attachment_sink)
    ctx = Context()
    if result.junk_bytes:
        ctx.odd("junk_before_xml_declaration", f"{result.junk_bytes} bytes before <?xml were stripped")
    joined = None if collected is None else {i: b"".join(parts) for i, parts in collected.items()}
    return _interpret(result.root, ctx, joined)


def parse_edoc_file(
    path: Path, *, attachment_sink: AttachmentSink, limits: ParseLimits = ParseLimits()
) -> ParsedPackage:
    """Stream a (large) package from ``path``: attachments go to ``attachment_sink``, never into memory."""
    return parse_package(Path(path), limits=limits, attachment_sink=attachment_sink)
