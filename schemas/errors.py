"""The error tree of :mod:`schemas`: every failure raised by this package derives from :class:`SchemaError`."""

from __future__ import annotations

__all__ = [
    "ForbiddenXml",
    "InvalidAgencyCode",
    "InvalidDocumentId",
    "InvalidPackage",
    "MalformedXml",
    "PackageCheckFailed",
    "SchemaError",
    "UnrepresentableValue",
    "XmlTooDeep",
    "XmlTooLarge",
]


class SchemaError(Exception):
    """Root of every error raised by :mod:`schemas`.

    ``code`` is a stable machine-readable identifier (used by the service as the problem+json ``code``).
    """

    code = "schema_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class InvalidAgencyCode(SchemaError, ValueError):
    """Text that is not a 13-character agency identifier ``NNN.NN.NN.LNN`` (QCVN 102:2016, STANDARDS §4)."""

    code = "invalid_agency_code"


class InvalidDocumentId(SchemaError, ValueError):
    """Text that is not ``{OrganId},{yyyy/MM/dd},{số}/{ký hiệu}`` (STANDARDS §2, DocumentId)."""

    code = "invalid_document_id"


class MalformedXml(SchemaError):
    """Empty input or input that is not well-formed XML; the message names the parser's line and column."""

    code = "malformed_xml"


class ForbiddenXml(SchemaError):
    """A construct refused outright in untrusted XML: DOCTYPE, ENTITY declarations (XXE, billion laughs)."""

    code = "xml_forbidden_construct"


class XmlTooLarge(SchemaError):
    """Input over the configured byte or element-count limit (:class:`schemas.xmlsafe.ParseLimits`)."""

    code = "xml_too_large"


class XmlTooDeep(XmlTooLarge):
    """Elements nested deeper than the configured limit."""

    code = "xml_too_deep"


class InvalidPackage(SchemaError):
    """Well-formed XML that is not an edXML package (wrong root, missing envelope/header/sender...)."""

    code = "invalid_package"


class UnrepresentableValue(SchemaError, ValueError):
    """A value the builder cannot put on the wire (a character XML 1.0 forbids, a field check failed)."""

    code = "unrepresentable_value"


class PackageCheckFailed(SchemaError, ValueError):
    """The builder refused a package (strict mode): ``issues`` lists what :func:`check_limits` found."""

    code = "package_check_failed"

    def __init__(self, message: str, *, issues: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.issues = issues
