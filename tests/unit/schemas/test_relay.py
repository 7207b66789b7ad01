"""``relay_as_received``: the package a node passes on is the one it received, byte for byte, plus one TraceHeader
(STANDARDS §2); undeclared known prefixes are declared and reported; nothing else changes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from schemas.edxml import TraceHeader, build_edoc, parse_package
from schemas.edxml.relay import declare_known_prefixes, relay_as_received
from schemas.errors import ForbiddenXml, InvalidPackage, MalformedXml
from tests.unit.schemas.conftest import make_edoc

NODE = TraceHeader(organ_id="000.00.00.H53", timestamp=dt.datetime(2026, 12, 7, 9, 30, 0))
PIECE = (b'<edXML:TraceHeader xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:OrganId>000.00.00.H53'
         b"</edXML:OrganId><edXML:Timestamp>2026/12/07 09:30:00</edXML:Timestamp></edXML:TraceHeader>")


def _without_piece(data: bytes) -> bytes:
    assert data.count(PIECE) == 1
    return data.replace(PIECE, b"", 1)


@pytest.mark.parametrize("name", ["edoc_new.edxml", "edoc_revocation.edxml", "edoc_update.edxml",
                                  "edoc_replacement.edxml"])
def test_field_samples_keep_every_byte_and_get_the_trace_last(samples_dir: Path, name: str) -> None:
    raw = (samples_dir / name).read_bytes()
    relayed = relay_as_received(raw, NODE)
    assert relayed.oddities == ()
    assert _without_piece(relayed.data) == raw
    before, after = parse_package(raw), parse_package(relayed.data)
    assert after.edoc is not None and before.edoc is not None
    assert after.edoc.trace == (*before.edoc.trace, NODE)
    assert after.edoc.business == before.edoc.business  # the TraceHeader went before Bussiness
    assert after.oddity_codes() == before.oddity_codes()


def test_undeclared_prefixes_are_declared_on_the_root_and_reported(samples_dir: Path) -> None:
    raw = (samples_dir / "edoc.edxml").read_bytes()
    relayed = relay_as_received(raw, NODE)
    assert sorted(o.message.split()[2] for o in relayed.oddities) == ["edXML:", "xlink:"]
    assert {o.code for o in relayed.oddities} == {"undeclared_prefix"}
    declared = (b' xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"'
                b' xmlns:xlink="http://www.w3.org/1999/xlink"')
    assert _without_piece(relayed.data).replace(declared, b"", 1) == raw
    from lxml import etree

    etree.fromstring(relayed.data)  # namespace-well-formed now (it was not)
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(raw)


def test_a_package_without_trace_list_gets_one_after_message_header() -> None:
    raw = build_edoc(make_edoc(trace=(), business=None)).replace(
        b"      <edXML:TraceHeaderList>\n      </edXML:TraceHeaderList>\n", b"", 1)
    assert b"TraceHeaderList" not in raw
    relayed = relay_as_received(raw, NODE)
    parsed = parse_package(relayed.data)
    assert parsed.edoc is not None and parsed.edoc.trace == (NODE,)
    assert relayed.data.index(b"</edXML:MessageHeader>") < relayed.data.index(b"TraceHeaderList")


@pytest.mark.parametrize("empty", [b"<edXML:TraceHeaderList/>", b"<edXML:TraceHeaderList />",
                                   b"<edXML:TraceHeaderList></edXML:TraceHeaderList>"])
def test_an_empty_trace_list_gets_the_trace_inside(empty: bytes) -> None:
    raw = build_edoc(make_edoc(trace=(), business=None)).replace(
        b"<edXML:TraceHeaderList>\n      </edXML:TraceHeaderList>", empty, 1)
    assert empty in raw
    parsed = parse_package(relay_as_received(raw, NODE).data)
    assert parsed.edoc is not None and parsed.edoc.trace == (NODE,)
    assert not parsed.oddity_codes() & {"unknown_element", "duplicate_element", "element_order"}


def test_a_trace_list_with_only_bussiness_gets_the_trace_before_it() -> None:
    raw = build_edoc(make_edoc(trace=()))
    relayed = relay_as_received(raw, NODE)
    parsed = parse_package(relayed.data)
    assert parsed.edoc is not None and parsed.edoc.trace == (NODE,) and parsed.edoc.business is not None
    assert "element_order" not in parsed.oddity_codes()


def test_junk_before_the_declaration_is_dropped() -> None:
    raw = build_edoc(make_edoc())
    assert relay_as_received(b"\x00\x01\x02\x03" + raw, NODE).data == relay_as_received(raw, NODE).data


def test_an_unknown_undeclared_prefix_is_not_guessed() -> None:
    raw = build_edoc(make_edoc()).replace(b"<edXML:Subject>", b'<edXML:Subject foo:bar="1">', 1)
    with pytest.raises(MalformedXml, match="foo"):
        relay_as_received(raw, NODE)
    with pytest.raises(MalformedXml, match="foo"):
        declare_known_prefixes(raw)


def test_hostile_or_foreign_input_is_refused() -> None:
    with pytest.raises(ForbiddenXml):
        relay_as_received(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><edXML>&e;</edXML>', NODE)
    with pytest.raises(InvalidPackage):
        relay_as_received(b"<edXML><edXMLEnvelope/></edXML>", NODE)
    with pytest.raises(MalformedXml):
        relay_as_received(b"<edXML><unclosed></edXML>", NODE)


def test_a_latin1_package_is_spliced_in_its_own_encoding() -> None:
    raw = build_edoc(make_edoc()).decode("utf-8")
    raw = raw.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("Nghệ An", "Nghe An")
    latin = raw.replace("Văn phòng Chính phủ", "Van phong Chinh phu").replace("Hà Nội", "Ha Noi").encode(
        "latin-1", "replace")
    relayed = relay_as_received(latin, NODE)
    parsed = parse_package(relayed.data)
    assert parsed.edoc is not None and parsed.edoc.trace[-1] == NODE


def test_field_dates_and_lengths_are_read_and_reported() -> None:
    raw = build_edoc(make_edoc()).replace(b">2015/10/30<", b">30/10/2015<", 1).replace(
        b"<edXML:Subject>", b"<edXML:Content>" + b"x" * 501 + b"</edXML:Content><edXML:Subject>", 1)
    parsed = parse_package(raw)
    assert parsed.edoc is not None and parsed.edoc.header.due_date == dt.date(2015, 10, 30)
    assert {"day_first_date", "too_long"} <= parsed.oddity_codes()
    impossible = parse_package(build_edoc(make_edoc()).replace(b">2015/10/30<", b">31/02/2015<", 1))
    assert impossible.edoc is not None and impossible.edoc.header.due_date is None
    assert "impossible_date" in impossible.oddity_codes()
