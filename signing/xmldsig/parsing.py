"""Hardened lxml parsing of packages (no DTD, no entities, no network) and where the package signature sits:
the Signature children of ``/edXML/edXML:edXMLEnvelope/edXML:edXMLHeader`` (STANDARDS.md §2). Shared by the
signer and the in-memory verifier."""

from __future__ import annotations

from lxml import etree

from signing.xmldsig.algorithms import EDXML_NS
from signing.xmldsig.errors import NamespaceError as _NamespaceError
from signing.xmldsig.errors import XmlSignatureError

__all__: list[str] = []  # package-internal: signing.xmldsig.sign and .verify use the underscored helpers


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_blank_text=False
    )


def _parse_bytes(xml: bytes, *, recover: bool = False) -> etree._ElementTree:
    if not isinstance(xml, bytes | bytearray):
        raise XmlSignatureError("the package must be given as bytes")
    parser = _parser()
    if recover:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
                                 recover=True)  # fmt: skip
    try:
        tree = etree.ElementTree(etree.fromstring(bytes(xml), parser=parser))
    except etree.XMLSyntaxError as exc:
        # Classify by the error that ended this parse: lxml's log may also hold entries from earlier parses on the
        # same thread, so "every logged error" depends on what ran before.
        last = exc.error_log.last_error
        if last is not None and last.domain == etree.ErrorDomains.NAMESPACE:
            raise _NamespaceError(f"The package breaks the XML namespace rules ({last.message})") from exc
        raise XmlSignatureError(f"the package is not well-formed XML: {exc}") from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlSignatureError("DOCTYPE declarations are not accepted in edXML packages (DTDs and entities off)")
    if any(True for _ in tree.getroot().iter(etree.Entity)):
        raise XmlSignatureError("entity references are not accepted in edXML packages")
    return tree


def _header_of(root: etree._Element) -> etree._Element:
    header = root.find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader")
    if root.tag != f"{{{EDXML_NS}}}edXML" or header is None:
        raise XmlSignatureError("not an edXML package: /edXML/edXML:edXMLEnvelope/edXML:edXMLHeader not found")
    return header


def _signature_children(header: etree._Element) -> list[etree._Element]:
    return [c for c in header if isinstance(c.tag, str) and etree.QName(c).localname == "Signature"]
