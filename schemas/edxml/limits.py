"""``check_limits``: what a package object must satisfy before we send it, as values (STYLE.md 4).

The rules are the :mod:`.spec` table (required elements, lengths of STANDARDS §2 and NĐ 30/2020 Phụ lục VI,
identifier shapes of STANDARDS §4; the DocumentId of *another* document, in ResponseFor, Bussiness and
ReplacementInfo, is echoed as its sender wrote it, a UUID from the national axis included, so only its presence is
checked) plus what the XSD cannot say: a recall names the recalled document in
ResponseFor, a replacement lists what it replaces, content ids are unique. Messages are plain English and name
the field by its model path (``header.to[0].organ_id``) so a caller can point at the input that is wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from schemas.agency import is_agency_code
from schemas.edxml import spec as S
from schemas.edxml.codes import BusinessDocType, StatusCode
from schemas.edxml.document_id import DocumentId
from schemas.edxml.package import EdocPackage, StatusPackage
from schemas.edxml.wire import first_unrepresentable
from schemas.errors import InvalidDocumentId, PackageCheckFailed

__all__ = ["ValidationIssue", "check_limits", "require_clean"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationIssue:
    """One finding: ``field`` (model path or XML path), an English ``message``, a stable ``code``."""

    field: str
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


_STATUS_CODES = frozenset(code.value for code in StatusCode)
_STR_KINDS = frozenset(kind for kind in S.Kind if kind.is_str)  # a set lookup: the property builds a tuple per call


def _issue(path: str, message: str, code: str) -> ValidationIssue:
    return ValidationIssue(field=path, message=f"{path} {message}", code=code)


def _check_str(out: list[ValidationIssue], path: str, field: S.Field, value: Any) -> None:
    if not isinstance(value, str):
        out.append(_issue(path, f"must be text, not {type(value).__name__}", "invalid_value"))
        return
    bad = first_unrepresentable(value)
    if bad is not None:
        out.append(_issue(path, f"contains U+{ord(value[bad]):04X}, which XML 1.0 cannot carry", "unrepresentable"))
    if field.max_len is not None and len(value) > field.max_len:
        out.append(_issue(path, f"is {len(value)} characters long; the limit is {field.max_len}", "too_long"))
    if field.kind is not S.Kind.TEXT and value != value.strip():
        out.append(_issue(path, "has surrounding whitespace", "invalid_format"))
    _check_shape(out, path, field.kind, value.strip())


def _check_shape(out: list[ValidationIssue], path: str, kind: S.Kind | None, value: str) -> None:
    if kind is S.Kind.AGENCY and not is_agency_code(value):
        out.append(_issue(path, f"is not an agency code NNN.NN.NN.LNN: {value!r}", "invalid_format"))
    elif kind is S.Kind.DOCID:
        try:
            DocumentId.parse(value)
        except InvalidDocumentId as exc:
            out.append(_issue(path, f"is not a DocumentId: {exc}", "invalid_format"))
    elif kind is S.Kind.STATUS and value not in _STATUS_CODES:
        out.append(_issue(path, f"is not a status code of STANDARDS §3: {value!r}", "invalid_value"))


def _check_number(out: list[ValidationIssue], path: str, field: S.Field, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        out.append(_issue(path, f"must be an integer, not {type(value).__name__}", "invalid_value"))
    elif field.choices is not None and value not in field.choices:
        out.append(_issue(path, f"must be one of {list(field.choices)}, not {value}", "invalid_value"))
    elif field.minimum is not None and value < field.minimum:
        out.append(_issue(path, f"must be at least {field.minimum}, not {value}", "invalid_value"))


_TYPES: dict[S.Kind, tuple[type, ...]] = {
    S.Kind.DATE: (dt.date,),
    S.Kind.DATETIME: (dt.datetime,),
    S.Kind.BOOL: (bool,),
    S.Kind.DOCTYPE: (BusinessDocType,),
}


def _check_value(out: list[ValidationIssue], path: str, field: S.Field, value: Any) -> None:
    if field.sub is not None:
        _check_object(out, path, field.sub, value)
    elif field.kind in _STR_KINDS:
        _check_str(out, path, field, value)
    elif field.kind is S.Kind.INT:
        _check_number(out, path, field, value)
    elif field.kind in _TYPES and not isinstance(value, _TYPES[field.kind]):
        out.append(_issue(path, f"must be a {_TYPES[field.kind][0].__name__}", "invalid_value"))
    elif field.kind is S.Kind.DATE and isinstance(value, dt.datetime):
        out.append(_issue(path, "must be a date, not a datetime", "invalid_value"))


def _absent(value: Any) -> bool:
    return value is None or value == "" or value == ()


def _check_field(out: list[ValidationIssue], path: str, field: S.Field, value: Any) -> None:
    if _absent(value):
        if field.required:
            out.append(_issue(path, "is required", "missing"))
        return
    if field.many or field.item is not None:
        for index, item in enumerate(value):
            _check_value(out, f"{path}[{index}]", field, item)
    else:
        _check_value(out, path, field, value)


def _check_object(out: list[ValidationIssue], path: str, spec: S.Spec, obj: Any) -> None:
    if not isinstance(obj, spec.cls):
        out.append(_issue(path, f"must be a {spec.cls.__name__}", "invalid_value"))
        return
    for field in spec.fields:
        _check_field(out, f"{path}.{field.attr}" if path else field.attr, field, getattr(obj, field.attr))


def _check_business(out: list[ValidationIssue], pkg: EdocPackage) -> None:
    business = pkg.business
    if business is None:
        return
    if business.doc_type is BusinessDocType.RECALL and not pkg.header.response_for:
        out.append(_issue("header.response_for", "must name the recalled document (recall, type 1)", "inconsistent"))
    if business.doc_type is BusinessDocType.REPLACE and not business.replacements:
        out.append(_issue("business.replacements", "must list the replaced documents (type 3)", "inconsistent"))


def _check_attachments(out: list[ValidationIssue], pkg: EdocPackage) -> None:
    seen: set[str] = set()
    for index, attachment in enumerate(pkg.attachments):
        path = f"attachments[{index}]"
        _check_object(out, path, S.ATTACHMENT, attachment)
        if isinstance(attachment.content_id, str) and not attachment.content_id.startswith("cid:"):
            out.append(_issue(f"{path}.content_id", "must start with 'cid:'", "invalid_format"))
        if attachment.content_id in seen:
            out.append(_issue(f"{path}.content_id", f"repeats {attachment.content_id!r}", "duplicate"))
        seen.add(attachment.content_id)


def _check_edoc(out: list[ValidationIssue], pkg: EdocPackage) -> None:
    _check_object(out, "header", S.MESSAGE_HEADER, pkg.header)
    for index, trace in enumerate(pkg.trace):
        _check_object(out, f"trace[{index}]", S.TRACE_HEADER, trace)
    if pkg.business is not None:
        _check_object(out, "business", S.BUSINESS, pkg.business)
    _check_business(out, pkg)
    _check_attachments(out, pkg)


def check_limits(pkg: EdocPackage | StatusPackage) -> tuple[ValidationIssue, ...]:
    """Every rule ``pkg`` breaks for sending (empty tuple: the builder's output will validate)."""
    out: list[ValidationIssue] = []
    if isinstance(pkg, StatusPackage):
        _check_object(out, "", S.STATUS_HEADER, pkg)
    elif isinstance(pkg, EdocPackage):
        _check_edoc(out, pkg)
    else:
        raise TypeError(f"check_limits expects an EdocPackage or StatusPackage, not {type(pkg).__name__}")
    return tuple(out)


def require_clean(issues: tuple[ValidationIssue, ...]) -> None:
    """Raise :class:`PackageCheckFailed` listing ``issues`` if there are any."""
    if issues:
        listed = "; ".join(issue.message for issue in issues[:10])
        more = f" (and {len(issues) - 10} more)" if len(issues) > 10 else ""
        raise PackageCheckFailed(f"package refused: {listed}{more}", issues=issues)
