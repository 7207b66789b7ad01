"""Canonical edXML output: ``build_edoc``, ``build_status`` and the streaming ``write_edoc`` (STANDARDS §2, §3).

Strict in what we send: UTF-8, root ``edXML`` with the edXML namespace both as default and as prefix ``edXML``
(declared on the root so every descendant, AttachmentEncoded included, can carry the ``edXML:`` prefix), elements
in the canonical order of :mod:`.spec`, two-space indentation, base64 on one line, no empty leaves (``None`` and
``""`` are both "absent"). No ``Signature``: ``signing/xmldsig/sign.py`` inserts an enveloped ``ds:Signature`` as the
last child of ``edXML:edXMLHeader``, where the XSD allows it.

Everything after the XML declaration line, less the final newline, is already in Canonical XML 1.0 form (what the
signature's digest covers): namespace declarations only on the root, default first; text escaped as C14N escapes
it (:func:`~schemas.edxml.wire.escape_text`); empty elements written as start and end tag; one attribute. So
``signing.xmldsig.sign_canonical_package`` hashes these bytes as they are, without parsing and re-serializing the
package; ``tests/unit/schemas/test_roundtrip_property.py`` checks the equality with lxml's C14N for any package.

``write_edoc`` streams: attachments named in ``attachment_files`` are read and base64-encoded in chunks of
``_CHUNK`` bytes (a multiple of 3, so the chunks concatenate to the one-shot encoding), so a 100 MB file is never
held in memory. ``build_edoc(p)`` is exactly the bytes ``write_edoc(p, BytesIO())`` writes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from schemas.edxml import spec as S
from schemas.edxml.codes import EDXML_NS
from schemas.edxml.limits import check_limits, require_clean
from schemas.edxml.package import Attachment, EdocPackage, StatusPackage
from schemas.edxml.wire import escape_text, format_bool, format_date, format_datetime
from schemas.errors import PackageCheckFailed

__all__ = ["build_edoc", "build_status", "canonical_body", "write_edoc"]

_CHUNK = 3 * 256 * 1024
_INDENT = "  "
_HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="{EDXML_NS}" xmlns:edXML="{EDXML_NS}">\n'
_FORMAT = {
    S.Kind.DATE: format_date,
    S.Kind.DATETIME: format_datetime,
    S.Kind.INT: lambda v: str(int(v)),
    S.Kind.DOCTYPE: lambda v: str(int(v)),
    S.Kind.BOOL: format_bool,
}


def _wire(kind: S.Kind | None, value: Any) -> str:
    fmt = _FORMAT.get(kind) if kind is not None else None
    return escape_text(fmt(value) if fmt else str(value))


def _absent(value: Any) -> bool:
    return value is None or value == "" or value == ()


class _Parts:
    """Accumulates the text of a (small) XML fragment."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def leaf(self, depth: int, tag: str, text: str) -> None:
        self.items.append(f"{_INDENT * depth}<edXML:{tag}>{text}</edXML:{tag}>\n")

    def open(self, depth: int, tag: str, attrs: str = "") -> None:
        self.items.append(f"{_INDENT * depth}<edXML:{tag}{attrs}>\n")

    def close(self, depth: int, tag: str) -> None:
        self.items.append(f"{_INDENT * depth}</edXML:{tag}>\n")

    def empty(self, depth: int, tag: str) -> None:  # <x></x>, not <x/>: the canonical form (module docstring)
        self.items.append(f"{_INDENT * depth}<edXML:{tag}></edXML:{tag}>\n")

    def text(self) -> str:
        return "".join(self.items)


def _element(parts: _Parts, depth: int, tag: str, field: S.Field, value: Any) -> None:
    if field.sub is None:
        parts.leaf(depth, tag, _wire(field.kind, value))
    else:
        _container(parts, depth, tag, field.sub, value)


def _container(parts: _Parts, depth: int, tag: str, spec: S.Spec, obj: Any) -> None:
    present = [(f, getattr(obj, f.attr)) for f in spec.fields if not _absent(getattr(obj, f.attr))]
    if not present:
        parts.empty(depth, tag)
        return
    parts.open(depth, tag)
    for field, value in present:
        _field(parts, depth + 1, field, value)
    parts.close(depth, tag)


def _field(parts: _Parts, depth: int, field: S.Field, value: Any) -> None:
    if field.item is not None:
        parts.open(depth, field.tag)
        for item in value:
            _element(parts, depth + 1, field.item, field, item)
        parts.close(depth, field.tag)
    elif field.many:
        for item in value:
            _element(parts, depth, field.tag, field, item)
    else:
        _element(parts, depth, field.tag, field, value)


def _fields(parts: _Parts, depth: int, spec: S.Spec, obj: Any) -> None:
    for field in spec.fields:
        value = getattr(obj, field.attr)
        if not _absent(value):
            _field(parts, depth, field, value)


def _edoc_envelope(pkg: EdocPackage) -> str:
    parts = _Parts()
    parts.open(1, "edXMLEnvelope")
    parts.open(2, "edXMLHeader")
    _container(parts, 3, "MessageHeader", S.MESSAGE_HEADER, pkg.header)
    parts.open(3, "TraceHeaderList")
    for trace in pkg.trace:
        _container(parts, 4, "TraceHeader", S.TRACE_HEADER, trace)
    if pkg.business is not None:
        _container(parts, 4, "Bussiness", S.BUSINESS, pkg.business)
    parts.close(3, "TraceHeaderList")
    parts.close(2, "edXMLHeader")
    parts.open(2, "edXMLBody")
    parts.open(3, "edXMLManifest", ' version="1.0"')
    for attachment in pkg.attachments:
        _container(parts, 4, "Reference", S.REFERENCE, attachment)
    parts.close(3, "edXMLManifest")
    parts.close(2, "edXMLBody")
    parts.close(1, "edXMLEnvelope")
    return parts.text()


def _base64_chunks(attachment: Attachment, path: Path | None) -> Iterator[bytes]:
    if path is None:
        view = memoryview(attachment.data)
        for start in range(0, len(view), _CHUNK):
            yield base64.b64encode(view[start : start + _CHUNK])
        return
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            yield base64.b64encode(chunk)


def _write_attachment(out: BinaryIO, attachment: Attachment, path: Path | None) -> None:
    parts = _Parts()
    parts.open(2, "Attachment")
    _fields(parts, 3, S.ATTACHMENT, attachment)
    out.write(f"{parts.text()}{_INDENT * 3}<edXML:ContentTransferEncoded>".encode())
    for chunk in _base64_chunks(attachment, path):
        out.write(chunk)
    out.write(f"</edXML:ContentTransferEncoded>\n{_INDENT * 2}</edXML:Attachment>\n".encode())


def _attachment_paths(pkg: EdocPackage, files: Mapping[str, Path] | None) -> list[Path | None]:
    """The file of each attachment (or ``None``: its ``data`` is written); refuses names that fit nothing."""
    files = dict(files or {})
    unknown = sorted(set(files) - {a.content_id for a in pkg.attachments})
    if unknown:
        raise PackageCheckFailed(f"attachment_files names {unknown}, which no attachment of the package has")
    doubled = [a.content_id for a in pkg.attachments if a.content_id in files and a.data]
    if doubled:
        raise PackageCheckFailed(f"attachments {doubled} have both data and a file in attachment_files")
    return [Path(files[a.content_id]) if a.content_id in files else None for a in pkg.attachments]


def write_edoc(
    pkg: EdocPackage,
    out: BinaryIO,
    *,
    attachment_files: Mapping[str, Path] | None = None,
    strict: bool = True,
) -> None:
    """Write ``pkg`` as canonical edXML to ``out``, streaming attachments named in ``attachment_files``.

    ``strict`` (the default) refuses a package that :func:`check_limits` finds fault with
    (:class:`~schemas.errors.PackageCheckFailed`); ``strict=False`` re-emits a field package as it is (the
    output may then not validate). Characters XML 1.0 cannot carry are always refused.
    """
    paths = _attachment_paths(pkg, attachment_files)
    if strict:
        require_clean(check_limits(pkg))
    out.write((_HEAD + _edoc_envelope(pkg)).encode())
    if pkg.attachments:
        out.write(f"{_INDENT}<edXML:AttachmentEncoded>\n".encode())
        for attachment, path in zip(pkg.attachments, paths, strict=True):
            _write_attachment(out, attachment, path)
        out.write(f"{_INDENT}</edXML:AttachmentEncoded>\n".encode())
    out.write(b"</edXML>\n")


def build_edoc(pkg: EdocPackage, *, strict: bool = True) -> bytes:
    """The canonical bytes of ``pkg`` (attachments in memory); equal to what :func:`write_edoc` writes."""
    buffer = io.BytesIO()
    write_edoc(pkg, buffer, strict=strict)
    return buffer.getvalue()


def canonical_body(data: bytes) -> memoryview | None:
    """The Canonical XML 1.0 form of a package this writer built: its bytes without the XML declaration line and
    the final newline (module docstring), as a view; ``None`` if ``data`` does not begin and end as this writer's
    output does (then canonicalize it the general way)."""
    if not (data.startswith(_HEAD_BYTES) and data.endswith(b"</edXML>\n")):
        return None
    return memoryview(data)[_DECLARATION_LINE : len(data) - 1]


_HEAD_BYTES = _HEAD.encode()
_DECLARATION_LINE = _HEAD_BYTES.index(b"\n") + 1


def build_status(st: StatusPackage, *, strict: bool = True) -> bytes:
    """The canonical bytes of a status package: the envelope with the header only (STANDARDS §3)."""
    if strict:
        require_clean(check_limits(st))
    parts = _Parts()
    parts.open(1, "edXMLEnvelope")
    parts.open(2, "edXMLHeader")
    _container(parts, 3, "MessageHeader", S.STATUS_HEADER, st)
    parts.close(2, "edXMLHeader")
    parts.close(1, "edXMLEnvelope")
    return (_HEAD + parts.text() + "</edXML>\n").encode()
