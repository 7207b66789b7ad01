"""``validate``: check edXML bytes against the project's XSD (``schemas/xsd/edxml.xsd``, see its README);
``check_package``: the same, telling what is invalid from what is a field quirk.

The XSD states what this gateway *sends*. Packages from the field break it in ways that do not matter for the
exchange (a UUID DocumentId, elements in another order, a Signature in the edXML namespace, an undeclared
``xlink:`` prefix): the tolerant parser reads past each of these and reports an oddity. ``check_package`` therefore
declares the known undeclared prefixes (:func:`~schemas.edxml.relay.declare_known_prefixes`), validates, and
counts a schema finding as a *warning* when the parser reported a quirk on that same element; every other finding is
an *error*, and so is a quirk that breaks routing (a From/To OrganId that is not an agency code, no To at all, an
unknown StatusCode): the gateway refuses those (issue 16: refuse only what breaks routing or safety).

The document is parsed with the hardened parser first (:func:`schemas.xmlsafe.safe_parse`), so hostile input
raises :class:`~schemas.errors.ForbiddenXml` & co. before the schema sees it; an input that cannot be read raises
(cannot evaluate), a readable one that breaks the schema returns its issues (outcomes are values, STYLE.md 4).
The compiled schema is cached by :func:`edxml_schema` (compiled on first use, never at import).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import xmlschema

from schemas.edxml.fields import Oddity
from schemas.edxml.limits import ValidationIssue
from schemas.edxml.parser import parse_package
from schemas.edxml.relay import declare_known_prefixes
from schemas.xmlsafe import ParseLimits, safe_parse

__all__ = ["XSD_PATH", "ValidationReport", "check_package", "edxml_schema", "validate"]

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


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """``errors``: invalid against the schema (the gateway would refuse it); ``warnings``: field quirks, read past
    and reported (one per oddity); ``excused``: how many schema findings those quirks account for."""

    errors: tuple[ValidationIssue, ...]
    warnings: tuple[ValidationIssue, ...]
    excused: int = 0

    @property
    def valid(self) -> bool:
        return not self.errors


_HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
_ROUTING_PATHS = frozenset({f"{_HEADER}/From/OrganId", f"{_HEADER}/To/OrganId", f"{_HEADER}/From", f"{_HEADER}/To"})
_PREFIX_OR_INDEX = re.compile(r"[^/:\[\]]+:|\[[^\]]*\]")


def _plain(path: str) -> str:
    """An XPath of xmlschema's (``/edXML:edXML/edXML:edXMLEnvelope[1]``) as the parser's paths: local names only."""
    return _PREFIX_OR_INDEX.sub("", path)


def _blocks_routing(oddity: Oddity) -> bool:
    if oddity.code == "unknown_status_code":
        return True
    if oddity.code == "missing_element" and oddity.path == _HEADER:
        return oddity.message.endswith((" no To", " no From"))
    return oddity.code in ("malformed_agency_code", "empty_element") and oddity.path in _ROUTING_PATHS


def _as_issue(oddity: Oddity, why: str = "") -> ValidationIssue:
    return ValidationIssue(field=oddity.path or "/", message=oddity.message + why, code=oddity.code)


def check_package(xml: bytes, *, limits: ParseLimits | None = None) -> ValidationReport:
    """Validate ``xml`` and sort the findings into errors and field quirks (module docstring). Input that cannot be
    read at all raises, as :func:`validate` does."""
    limits = limits or ParseLimits()
    limits.check_size(len(xml))
    repaired = declare_known_prefixes(xml)
    findings = validate(repaired.data, limits=limits)
    oddities = (*repaired.oddities, *parse_package(repaired.data, limits=limits).oddities)
    blocking = [o for o in oddities if _blocks_routing(o)]
    excused_at = {o.path for o in oddities if o.path is not None} - {o.path for o in blocking}
    blocked_at = {o.path for o in blocking}
    errors = [f for f in findings if _plain(f.field) not in excused_at | blocked_at]
    excused = len(findings) - len(errors)
    errors += [_as_issue(o, " (a gateway cannot route the package)") for o in blocking]
    warnings = tuple(_as_issue(o) for o in oddities if o not in blocking)
    return ValidationReport(tuple(errors), warnings, excused=excused)
