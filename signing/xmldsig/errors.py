"""The errors of XML-DSig on packages: input that cannot be read at all (an *invalid* signature is a value,
:class:`signing.xmldsig.XmlSignatureCheck`)."""

from __future__ import annotations

from signing.errors import SigningError

__all__ = ["NamespaceError", "XmlSignatureError"]


class XmlSignatureError(SigningError):
    """The package cannot be read (not XML, DOCTYPE or entities present, not an edXML package)."""

    code = "xml_unreadable"


class NamespaceError(XmlSignatureError):
    """Well-formed XML that breaks the Namespaces in XML rules (e.g. an undeclared prefix)."""

    code = "xml_namespace_error"
