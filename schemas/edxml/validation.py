"""``validate``: check edXML bytes against the project's XSD (``schemas/xsd/edxml.xsd``, see its README).

The document is parsed with the hardened parser first (:func:`schemas.xmlsafe.safe_parse`), so hostile input
raises :class:`~schemas.errors.ForbiddenXml` & co. before the schema sees it; an input that cannot be read raises
(cannot evaluate), a readable one that breaks the schema returns its issues (outcomes are values, STYLE.md 4).
The compiled schema is cached by :func:`edxml_schema` (compiled on first use, never at import).
"""

from __future__ import annotations

import functools
from pathlib import Path

import xmlschema

from schemas.edxml.limits import ValidationIssue
from schemas.xmlsafe import ParseLimits, safe_parse

__all__ = ["XSD_PATH", "edxml_schema", "validate"]

XSD_PATH = Path(__file__).resolve().parent.parent / "xsd" / "edxml.xsd"


@functools.lru_cache(maxsize=1)
def edxml_schema() -> xmlschema.XMLSchema10:
    """The compiled edXML schema (internal: xmlschema types stay inside ``schemas/``)."""
    return xmlschema.XMLSchema10(str(XSD_PATH))


def _issue(error: xmlschema.XMLSchemaValidationError) -> ValidationIssue:
    path = error.path or "/"
    reason = error.reason or str(error.message)
    return ValidationIssue(field=path, message=f"{path}: {reason}", code="xsd_invalid")


def validate(xml: bytes, *, limits: ParseLimits | None = None) -> tuple[ValidationIssue, ...]:
    """Every way ``xml`` breaks the edXML XSD; an empty tuple means it validates."""
    root = safe_parse(xml, limits=limits)
    return tuple(_issue(error) for error in edxml_schema().iter_errors(root))
