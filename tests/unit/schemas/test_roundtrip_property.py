"""Property: for any valid package, build → parse → build is byte-identical, parse(build(p)) == p, and it validates."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.agency import AgencyCode
from schemas.edxml import (
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentId,
    DocumentType,
    EdocPackage,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
    build_edoc,
    build_status,
    check_limits,
    parse_package,
    validate,
)

VIETNAMESE = "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵĂÂĐÊÔƠƯỄỆỘỞ"
_chars = st.one_of(
    st.sampled_from(VIETNAMESE),
    st.sampled_from(" \t\n\r&<>\"']]"),
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn", "Co")),
)
_code_chars = st.sampled_from("0123456789ABCDEFGHKLMNPQRSTUVXYĐƯƠ-.abcđ")


def text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(_chars, min_size=1, max_size=max_size)


def opt(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


def code(max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(_code_chars, min_size=1, max_size=max_size).filter(lambda s: s == s.strip())


agency = st.from_regex(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}", fullmatch=True)
numbers = st.integers(min_value=0, max_value=10**6)
dates = st.dates()
timestamps = st.datetimes(min_value=dt.datetime(1, 1, 1)).map(lambda d: d.replace(microsecond=0))
document_ids = st.builds(
    lambda organ, day, number, notation: str(
        DocumentId(organ_id=AgencyCode(organ), date=day, number=number, notation=notation)
    ),
    agency,
    dates,
    code(11).filter(lambda s: "/" not in s),
    code(30),
)
organizations = st.builds(
    Organization,
    organ_id=agency,
    organ_name=opt(text(200)),
    organization_in_charge=opt(text()),
    organ_add=opt(text()),
    email=opt(text(100)),
    telephone=opt(text(20)),
    fax=opt(text(20)),
    website=opt(text()),
)
response_fors = st.builds(
    ResponseFor, organ_id=agency, code=opt(code(42)), promulgation_date=opt(dates), document_id=document_ids
)
staff = st.builds(StaffInfo, department=opt(text()), staff=opt(text()), email=opt(text()), mobile=opt(text()))
headers = st.builds(
    MessageHeader,
    from_=organizations,
    to=st.lists(organizations, min_size=1, max_size=3).map(tuple),
    document_id=document_ids,
    code=st.builds(Code, number=code(11), notation=code(30)),
    promulgation_info=st.builds(PromulgationInfo, place=opt(text(50)), date=dates),
    document_type=st.builds(
        DocumentType, type=st.sampled_from([1, 2]), type_detail=opt(numbers), type_name=opt(text())
    ),
    subject=text(500),
    content=opt(text(500)),
    signer_info=opt(st.builds(SignerInfo, competence=opt(text()), position=opt(text()), full_name=opt(text(50)))),
    due_date=opt(dates),
    other_info=opt(
        st.builds(
            OtherInfo,
            priority=opt(st.integers(0, 4)),
            sphere_of_promulgation=opt(text(100)),
            typer_notation=opt(text(10)),
            promulgation_amount=opt(numbers),
            page_amount=opt(numbers),
            direction=opt(st.booleans()),
            appendixes=st.lists(text(), max_size=2).map(tuple),
        )
    ),
    response_for=st.lists(response_fors, max_size=2).map(tuple),
    steering_type=opt(numbers),
    to_places=st.lists(text(150), max_size=2).map(tuple),
)
businesses = st.builds(
    Business,
    doc_type=st.sampled_from(BusinessDocType),
    document_id=opt(document_ids),
    doc_reason=opt(text()),
    paper=opt(numbers),
    staff_info=opt(staff),
    document_info=opt(
        st.builds(
            BusinessDocumentInfo,
            document_info=opt(numbers),
            document_receiver=opt(numbers),
            receivers=st.lists(st.builds(Receiver, organ_id=agency, receiver_type=opt(numbers)), max_size=2).map(tuple),
        )
    ),
    replacements=st.lists(
        st.builds(ReplacementInfo, document_id=document_ids, organ_ids=st.lists(agency, max_size=2).map(tuple)),
        max_size=2,
    ).map(tuple),
)


@st.composite
def attachments(draw: st.DrawFn) -> tuple[Attachment, ...]:
    count = draw(st.integers(0, 3))
    return tuple(
        Attachment(
            content_id=f"cid:{index}-{draw(code(8))}",
            name=draw(text(60)),
            content_type=draw(st.sampled_from(["application/pdf", "application/zip", "application/octet-stream"])),
            description=draw(opt(text())),
            data=draw(st.binary(max_size=3000)),
        )
        for index in range(count)
    )


packages = st.builds(
    EdocPackage,
    header=headers,
    trace=st.lists(st.builds(TraceHeader, organ_id=agency, timestamp=timestamps), max_size=3).map(tuple),
    business=opt(businesses),
    attachments=attachments(),
).filter(lambda p: not check_limits(p))

statuses = st.builds(
    StatusPackage,
    from_=organizations,
    response_for=response_fors,
    staff_info=opt(staff),
    status_code=st.sampled_from([c.value for c in StatusCode]),
    description=opt(text()),
    timestamp=timestamps,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(packages)
def test_edoc_round_trip(pkg: EdocPackage) -> None:
    data = build_edoc(pkg)
    parsed = parse_package(data)
    assert parsed.kind == "edoc" and parsed.oddities == ()
    assert parsed.edoc == pkg
    assert build_edoc(parsed.edoc) == data
    assert validate(data) == ()


@SETTINGS
@given(statuses)
def test_status_round_trip(st_pkg: StatusPackage) -> None:
    assert check_limits(st_pkg) == ()
    data = build_status(st_pkg)
    parsed = parse_package(data)
    assert parsed.kind == "status" and parsed.oddities == ()
    assert parsed.status == st_pkg
    assert build_status(parsed.status) == data
    assert validate(data) == ()


def _lxml_c14n(data: bytes) -> bytes:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    return etree.tostring(etree.fromstring(data, parser=parser), method="c14n")


@SETTINGS
@given(packages)
def test_the_writers_edoc_body_is_already_canonical(pkg: EdocPackage) -> None:
    """The contract signing.xmldsig.sign_canonical_package relies on (schemas/edxml/writer.py's docstring)."""
    from schemas.edxml.writer import canonical_body

    data = build_edoc(pkg)
    body = canonical_body(data)
    assert body is not None and bytes(body) == _lxml_c14n(data)


@SETTINGS
@given(statuses)
def test_the_writers_status_body_is_already_canonical(st_pkg: StatusPackage) -> None:
    from schemas.edxml.writer import canonical_body

    data = build_status(st_pkg)
    body = canonical_body(data)
    assert body is not None and bytes(body) == _lxml_c14n(data)


@SETTINGS
@given(statuses)
def test_bytes_the_writer_did_not_build_have_no_canonical_view(st_pkg: StatusPackage) -> None:
    from schemas.edxml.writer import canonical_body

    data = build_status(st_pkg)
    assert canonical_body(data[:-1]) is None  # not ending as the writer ends
    assert canonical_body(data.replace(b'encoding="UTF-8"', b"", 1)) is None  # nor beginning as it begins
    assert canonical_body(b'<?xml version="1.0"?>\n<edXML xmlns="x"></edXML>\n') is None
