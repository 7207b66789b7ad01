"""The canonical builder: layout of STANDARDS §2/§3, validation against our XSD, strictness, check_limits."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from lxml import etree

from schemas.edxml import (
    EDXML_NS,
    Attachment,
    BusinessDocType,
    Code,
    EdocPackage,
    PackageCheckFailed,
    StatusPackage,
    TraceHeader,
    UnrepresentableValue,
    build_edoc,
    build_status,
    check_limits,
    parse_package,
    validate,
)
from schemas.edxml.validation import edxml_schema
from tests.unit.schemas.conftest import make_edoc

E = f"{{{EDXML_NS}}}"


def test_edoc_layout(edoc: EdocPackage) -> None:
    data = build_edoc(edoc)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="')
    root = etree.fromstring(data)
    assert root.tag == f"{E}edXML" and root.prefix is None
    envelope, encoded = list(root)
    assert envelope.tag == f"{E}edXMLEnvelope" and envelope.prefix == "edXML"
    assert encoded.tag == f"{E}AttachmentEncoded" and encoded.prefix == "edXML"
    header, body = list(envelope)
    assert [c.tag for c in header] == [f"{E}MessageHeader", f"{E}TraceHeaderList"]  # Signature slot: last, empty
    (manifest,) = list(body)
    assert manifest.get("version") == "1.0"
    assert len(manifest.findall(f"{E}Reference")) == len(edoc.attachments)
    content = encoded.find(f"{E}Attachment/{E}ContentTransferEncoded")
    assert content is not None and content.text == "JVBERi0xLjcgLi4u"
    assert b"Signature" not in data


def test_built_packages_validate(edoc: EdocPackage, status: StatusPackage) -> None:
    assert validate(build_edoc(edoc)) == ()
    assert validate(build_status(status)) == ()
    assert validate(build_edoc(make_edoc(attachments=(), business=None, trace=()))) == ()


def test_status_layout(status: StatusPackage) -> None:
    root = etree.fromstring(build_status(status))
    header = root.find(f"{E}edXMLEnvelope/{E}edXMLHeader/{E}MessageHeader")
    assert header is not None
    assert [etree.QName(c).localname for c in header] == [
        "From", "ResponseFor", "StaffInfo", "StatusCode", "Description", "Timestamp",
    ]  # fmt: skip
    assert root.find(f"{E}edXMLEnvelope/{E}edXMLBody") is None


def test_round_trip_of_fixtures(edoc: EdocPackage, status: StatusPackage) -> None:
    parsed = parse_package(build_edoc(edoc))
    assert parsed.edoc == edoc and parsed.oddities == () and not parsed.has_signature
    parsed_status = parse_package(build_status(status))
    assert parsed_status.status == status and parsed_status.oddities == ()


SIGNATURE = b"""<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
<ds:Reference URI=""><ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms>
<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue>
</ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"""


def test_signature_slot_accepts_an_xmldsig_signature(edoc: EdocPackage) -> None:
    root = etree.fromstring(build_edoc(edoc))
    header = root.find(f"{E}edXMLEnvelope/{E}edXMLHeader")
    assert header is not None
    header.append(etree.fromstring(SIGNATURE))
    signed = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert validate(signed) == ()
    assert parse_package(signed).has_signature and parse_package(signed).oddities == ()
    foreign = etree.SubElement(header, f"{E}Signature")
    assert foreign is not None
    assert validate(etree.tostring(root)) != ()


def test_with_trace_appends_a_copy(edoc: EdocPackage) -> None:
    relay = TraceHeader(organ_id="000.00.00.H41", timestamp=dt.datetime(2015, 10, 1, 9, 0, 0))
    traced = edoc.with_trace(relay)
    assert traced.trace == (*edoc.trace, relay) and len(edoc.trace) == 1
    assert parse_package(build_edoc(traced)).edoc == traced


def test_check_limits_names_fields() -> None:
    header = make_edoc().header
    bad = make_edoc(
        header=dataclasses.replace(
            header,
            subject="x" * 501,
            code=Code(number="123456789012", notation="VPCP"),
            to=(dataclasses.replace(header.to[0], organ_id="28.22.H17"),),
            document_id="9fbfbad2-f1f8-4256-a2eb-50fb1061cddb",
        ),
        attachments=(Attachment(content_id="1", name="a", content_type="text/plain"),) * 2,
    )
    issues = {issue.field: issue for issue in check_limits(bad)}
    assert issues["header.subject"].code == "too_long"
    assert "501 characters long; the limit is 500" in issues["header.subject"].message
    assert issues["header.code.number"].code == "too_long"
    assert issues["header.to[0].organ_id"].code == "invalid_format"
    assert issues["header.document_id"].code == "invalid_format"
    assert issues["attachments[0].content_id"].code == "invalid_format"
    assert issues["attachments[1].content_id"].code in {"invalid_format", "duplicate"}
    with pytest.raises(PackageCheckFailed) as caught:
        build_edoc(bad)
    assert caught.value.code == "package_check_failed" and caught.value.issues


def test_lenient_build_of_an_over_long_subject_fails_the_xsd(edoc: EdocPackage) -> None:
    long = dataclasses.replace(edoc, header=dataclasses.replace(edoc.header, subject="Ấ" * 501))
    issues = validate(build_edoc(long, strict=False))
    assert len(issues) == 1 and "Subject" in issues[0].field


def test_recall_needs_response_for_and_required_fields(edoc: EdocPackage) -> None:
    assert edoc.business is not None
    recall = dataclasses.replace(edoc, business=dataclasses.replace(edoc.business, doc_type=BusinessDocType.RECALL))
    assert [i.field for i in check_limits(recall)] == ["header.response_for"]
    missing = dataclasses.replace(edoc, header=dataclasses.replace(edoc.header, to=(), subject=None))
    assert {i.field for i in check_limits(missing)} == {"header.to", "header.subject"}


def test_status_check_limits(status: StatusPackage) -> None:
    bad = dataclasses.replace(status, status_code="07", timestamp=None)
    assert {i.field: i.code for i in check_limits(bad)} == {"status_code": "invalid_value", "timestamp": "missing"}


def test_characters_xml_cannot_carry_are_refused(edoc: EdocPackage) -> None:
    bad = dataclasses.replace(edoc, header=dataclasses.replace(edoc.header, content="bell \x07"))
    assert [i.code for i in check_limits(bad)] == ["unrepresentable"]
    with pytest.raises(UnrepresentableValue):
        build_edoc(bad, strict=False)


def test_escaping_and_carriage_returns_survive(edoc: EdocPackage) -> None:
    text = "a < b & c > d ]]> \r\n\t end "
    pkg = dataclasses.replace(edoc, header=dataclasses.replace(edoc.header, content=text))
    parsed = parse_package(build_edoc(pkg))
    assert parsed.edoc is not None and parsed.edoc.header.content == text


def test_schema_is_compiled_once() -> None:
    assert edxml_schema() is edxml_schema()
