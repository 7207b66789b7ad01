"""Tolerant reading of spec-described elements into model values, noting every oddity on the way.

Liberal in what we accept (STANDARDS §2): children in any order, duplicates, unknown elements, empty leaves,
malformed identifiers and dates that do not exist are all read (or skipped) and reported as :class:`Oddity`
values; nothing here raises for a field-level problem. Internal to :mod:`schemas.edxml`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from schemas.agency import is_agency_code
from schemas.edxml import spec as S
from schemas.edxml.codes import EDXML_NS, BusinessDocType, StatusCode
from schemas.edxml.document_id import DocumentId
from schemas.edxml.reader import Node
from schemas.edxml.wire import WireValueError, parse_bool, parse_date, parse_datetime, parse_day_first_date, parse_int
from schemas.errors import InvalidDocumentId

__all__ = ["Context", "Oddity", "read_object"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Oddity:
    """Something unusual the tolerant parser read past: a stable ``code``, an English message, the XML path."""

    code: str
    message: str
    path: str | None = None


class Context:
    """Collects oddities, once per (code, path)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str | None], Oddity] = {}

    def odd(self, code: str, message: str, node: Node | None = None) -> None:
        path = node.path if node is not None else None
        self._seen.setdefault((code, path), Oddity(code=code, message=message, path=path))

    @property
    def oddities(self) -> tuple[Oddity, ...]:
        return tuple(self._seen.values())


def _docid(ctx: Context, node: Node, text: str) -> str:
    try:
        DocumentId.parse(text)
    except InvalidDocumentId as exc:
        cause = exc.__cause__
        code = cause.code if isinstance(cause, WireValueError) else "invalid_document_id"
        ctx.odd(code, str(exc), node)
    return text


def _agency(ctx: Context, node: Node, text: str) -> str:
    if not is_agency_code(text):
        ctx.odd("malformed_agency_code", f"{text!r} is not an agency code NNN.NN.NN.LNN", node)
    return text


def _doctype(text: str) -> BusinessDocType:
    number = parse_int(text)
    try:
        return BusinessDocType(number)
    except ValueError as exc:
        raise WireValueError("unknown_business_doc_type", f"BussinessDocType {text!r} is not 0-3") from exc


def _status(ctx: Context, node: Node, text: str) -> str:
    if text not in {code.value for code in StatusCode}:
        ctx.odd("unknown_status_code", f"status code {text!r} is not one of STANDARDS §3", node)
    return text


def _date(ctx: Context, node: Node, text: str) -> Any:
    """``yyyy/MM/dd``; a date written ``dd/MM/yyyy`` (DMS in the field do) is read too, and reported."""
    try:
        return parse_date(text)
    except WireValueError as exc:
        if exc.code != "bad_date_format":
            raise
        day_first = parse_day_first_date(text)
        if day_first is None:
            raise
        ctx.odd("day_first_date", f"{node.name} {text!r} is written dd/MM/yyyy; read as {day_first.isoformat()}", node)
        return day_first


_CONVERT = {
    S.Kind.DATETIME: parse_datetime,
    S.Kind.INT: parse_int,
    S.Kind.BOOL: parse_bool,
    S.Kind.DOCTYPE: _doctype,
}
_CHECK = {S.Kind.AGENCY: _agency, S.Kind.DOCID: _docid, S.Kind.DOCREF: _docid, S.Kind.STATUS: _status}


def read_scalar(ctx: Context, kind: S.Kind, node: Node) -> Any:
    """The value of a leaf; ``None`` (with an oddity) when it is empty or unreadable."""
    raw = node.text
    text = raw if kind is S.Kind.TEXT else raw.strip()
    if not text:
        ctx.odd("empty_element", f"{node.name} is empty", node)
        return None
    if kind in _CHECK:
        return _CHECK[kind](ctx, node, text)
    if kind in _CONVERT or kind is S.Kind.DATE:
        try:
            return _date(ctx, node, text) if kind is S.Kind.DATE else _CONVERT[kind](text)
        except WireValueError as exc:
            ctx.odd(exc.code, f"{node.name}: {exc}", node)
            return None
    return text


def _element(ctx: Context, field: S.Field, node: Node) -> Any:
    if field.sub is not None:
        return read_object(ctx, node, field.sub)
    assert field.kind is not None
    value = read_scalar(ctx, field.kind, node)
    if field.max_len is not None and isinstance(value, str) and len(value) > field.max_len:
        ctx.odd("too_long", f"{node.name} is {len(value)} characters long; the limit is {field.max_len}", node)
    return value


def _empty(value: Any) -> bool:
    if dataclasses.is_dataclass(value):
        return all(getattr(value, f.name) in (None, "", ()) for f in dataclasses.fields(value))
    return value is None


def _many(ctx: Context, field: S.Field, nodes: list[Node]) -> tuple[Any, ...]:
    values = []
    for node in nodes:
        value = _element(ctx, field, node)
        if _empty(value):
            ctx.odd("empty_element", f"{node.name} carries nothing and was skipped", node)
        else:
            values.append(value)
    return tuple(values)


def _first(ctx: Context, nodes: list[Node]) -> Node | None:
    if len(nodes) > 1:
        ctx.odd("duplicate_element", f"{nodes[0].name} appears {len(nodes)} times; the first is used", nodes[1])
    return nodes[0] if nodes else None


def _wrapped(ctx: Context, field: S.Field, nodes: list[Node]) -> tuple[Any, ...]:
    wrapper = _first(ctx, nodes)
    if wrapper is None:
        return ()
    for child in wrapper.children:
        if child.name != field.item:
            ctx.odd("unknown_element", f"unexpected {child.name} in {wrapper.name}", child)
    return _many(ctx, field, [c for c in wrapper.children if c.name == field.item])


def _read_field(ctx: Context, field: S.Field, nodes: list[Node]) -> Any:
    if field.item is not None:
        return _wrapped(ctx, field, nodes)
    if field.many:
        return _many(ctx, field, nodes)
    node = _first(ctx, nodes)
    return None if node is None else _element(ctx, field, node)


def _in_attachments(node: Node | None) -> bool:
    """Attachment elements have their own oddity (``unprefixed_attachment``)."""
    while node is not None:
        if node.name == "AttachmentEncoded":
            return True
        node = node.parent
    return False


def check_children(
    ctx: Context, node: Node, known: tuple[str, ...], *, skip: tuple[str, ...] = (), ordered: bool = True
) -> None:
    """Report children that are unknown, outside the edXML namespace, or out of the usual order."""
    positions = []
    for child in node.children:
        if child.name in skip:
            continue
        if child.name not in known or child.ns not in (EDXML_NS, None):
            ctx.odd("unknown_element", f"unexpected element {child.name} in {node.name}", child)
            continue
        if child.ns is None and not _in_attachments(child):
            ctx.odd("wrong_namespace", f"{child.name} is not in the edXML namespace", child)
        positions.append(known.index(child.name))
    if ordered and positions != sorted(positions):
        order = ", ".join(dict.fromkeys(c.name for c in node.children if c.name not in skip))
        ctx.odd("element_order", f"children of {node.name} are not in the usual order: {order}", node)


def _placeholder(cls: type, attr: str, field: S.Field) -> Any:
    declared = next(f for f in dataclasses.fields(cls) if f.name == attr)
    if declared.default is not dataclasses.MISSING or declared.default_factory is not dataclasses.MISSING:
        return None
    return "" if field.kind is not None and field.kind.is_str else None


def read_object(ctx: Context, node: Node, spec: S.Spec, *, extra: tuple[str, ...] = ()) -> Any:
    """Build ``spec.cls`` from ``node``'s children; missing required parts become placeholders + oddity."""
    check_children(ctx, node, tuple(f.tag for f in spec.fields) + extra, ordered=spec.ordered)
    values: dict[str, Any] = {}
    for field in spec.fields:
        value = _read_field(ctx, field, [c for c in node.children if c.name == field.tag])
        if value is None or value == ():
            if field.required:
                ctx.odd("missing_element", f"{node.name} has no {field.tag}", node)
            value = _placeholder(spec.cls, field.attr, field) if value is None else value
        if value is not None:
            values[field.attr] = value
    return spec.cls(**values)
