"""The AIP builders of schemas/archive/ (issue 20 item 2, started): what E-ARK CSIP 2.1 requires of the root
METS (its MUST attributes and sections, read back with XPath), PREMIS links between objects, events and agents,
BagIt manifests, and the TT 02/2019 descriptive metadata with its length limits."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from lxml import etree

from schemas.archive import (
    BAGIT_TXT,
    CsipPackage,
    DocumentMetadata,
    MetadataRef,
    MetsFile,
    PremisAgent,
    PremisEvent,
    PremisFile,
    bag_info,
    descriptive_xml,
    manifest_sha256,
    mets_xml,
    premis_xml,
)
from schemas.archive.mets import CSIP_NS, METS_NS, XLINK_NS
from schemas.archive.premis import PREMIS_NS
from schemas.errors import SchemaError

VN = timezone(timedelta(hours=7))
AT = datetime(2026, 12, 7, 9, 30, tzinfo=VN)
PDF = hashlib.sha256(b"%PDF-1.7 cv").hexdigest()
NS = {"mets": METS_NS, "csip": CSIP_NS, "xlink": XLINK_NS, "premis": PREMIS_NS}


def _package() -> CsipPackage:
    return CsipPackage(
        objid=uuid.UUID("0b7e2f5c-1f9e-4c1e-9d7a-2a1b3c4d5e6f"),
        label="Văn bản 12/STTTT-VP",
        created=AT,
        software="edoc-gateway",
        software_version="0.1.0",
        files=(
            MetsFile("representations/rep1/data/cv.pdf", "Representations/rep1", "application/pdf", 11, AT, PDF),
            MetsFile("documentation/verification.json", "Documentation", "application/json", 3, AT, "a" * 64),
        ),
        metadata=(
            MetadataRef("metadata/descriptive/document.xml", "descriptive", "OTHER", "application/xml", 10, AT,
                        "b" * 64, other_mdtype="TT02-2019"),
            MetadataRef("metadata/preservation/PREMIS.xml", "preservation", "PREMIS", "application/xml", 20, AT,
                        "c" * 64),
        ),
    )


def test_mets_carries_the_csip_musts() -> None:
    root = etree.fromstring(mets_xml(_package()))
    assert root.tag == f"{{{METS_NS}}}mets"
    assert root.get("OBJID") == "urn:uuid:0b7e2f5c-1f9e-4c1e-9d7a-2a1b3c4d5e6f"
    assert root.get("TYPE") == "Textual works \u2013 Digital"
    assert root.get(f"{{{CSIP_NS}}}CONTENTINFORMATIONTYPE") == "MIXED"
    assert root.get("PROFILE") == "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
    header = root.find("mets:metsHdr", NS)
    assert header.get("CREATEDATE") == "2026-12-07T09:30:00+07:00"
    assert header.get(f"{{{CSIP_NS}}}OAISPACKAGETYPE") == "AIP"
    agent = header.find("mets:agent", NS)
    assert (agent.get("ROLE"), agent.get("TYPE"), agent.get("OTHERTYPE")) == ("CREATOR", "OTHER", "SOFTWARE")
    assert agent.findtext("mets:name", namespaces=NS) == "edoc-gateway"
    note = agent.find("mets:note", NS)
    assert note.get(f"{{{CSIP_NS}}}NOTETYPE") == "SOFTWARE VERSION" and note.text == "0.1.0"
    # sections in the order the METS schema requires
    names = [etree.QName(child).localname for child in root]
    assert names == ["metsHdr", "dmdSec", "amdSec", "fileSec", "structMap"]


def test_every_file_and_metadata_reference_has_its_size_time_and_sha256() -> None:
    root = etree.fromstring(mets_xml(_package()))
    refs = root.findall(".//mets:mdRef", NS) + root.findall(".//mets:file", NS)
    assert len(refs) == 4
    for element in refs:
        assert element.get("CHECKSUMTYPE") == "SHA-256" and len(element.get("CHECKSUM")) == 64
        assert element.get("MIMETYPE") and element.get("SIZE").isdigit()
        assert element.get("CREATED").endswith("+07:00")
    hrefs = [loc.get(f"{{{XLINK_NS}}}href") for loc in root.findall(".//mets:FLocat", NS)]
    assert hrefs == ["representations/rep1/data/cv.pdf", "documentation/verification.json"]
    assert root.find(".//mets:file", NS).get("CHECKSUM") == PDF.upper()
    assert root.find("mets:dmdSec/mets:mdRef", NS).get("OTHERMDTYPE") == "TT02-2019"
    assert root.find("mets:amdSec/mets:digiprovMD/mets:mdRef", NS).get("MDTYPE") == "PREMIS"


def test_the_physical_structmap_points_at_every_section() -> None:
    root = etree.fromstring(mets_xml(_package()))
    struct = root.find("mets:structMap", NS)
    assert (struct.get("TYPE"), struct.get("LABEL")) == ("PHYSICAL", "CSIP")
    divs = struct.findall("mets:div/mets:div", NS)
    assert [d.get("LABEL") for d in divs] == ["Metadata", "Representations", "Documentation"]
    groups = {g.get("ID"): g for g in root.iter(f"{{{METS_NS}}}fileGrp")}
    assert groups[divs[1].find("mets:fptr", NS).get("FILEID")].get("USE") == "Representations/rep1"
    # eark-validator 1.1.3 (CSIP63) wants OTHER + a name on every file group
    assert {(g.get(f"{{{CSIP_NS}}}CONTENTINFORMATIONTYPE"), g.get(f"{{{CSIP_NS}}}OTHERCONTENTINFORMATIONTYPE"))
            for g in groups.values()} == {("OTHER", "TT05-2025")}
    ids = {e.get("ID") for e in root.iter() if e.get("ID")}
    assert set(divs[0].get("DMDID").split() + divs[0].get("ADMID").split()) <= ids
    assert all(fptr.get("FILEID") in ids for fptr in struct.iter(f"{{{METS_NS}}}fptr"))


@pytest.mark.parametrize("bad", [
    {"href": "../escape.pdf"}, {"href": "/abs.pdf"}, {"sha256": "XYZ"}, {"created": datetime(2026, 1, 1)},
])
def test_mets_refuses_what_an_archive_must_not_hold(bad: dict[str, object]) -> None:
    values = {"href": "representations/rep1/data/x.pdf", "use": "Representations/rep1",
              "mimetype": "application/pdf", "size": 1, "created": AT, "sha256": PDF, **bad}
    package = CsipPackage(uuid.uuid4(), "x", AT, "edoc-gateway", "0.1.0", files=(MetsFile(**values),))  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        mets_xml(package)


def test_premis_links_objects_events_and_agents() -> None:
    software = PremisAgent("edoc-gateway-0.1.0", "edoc-gateway", "software", version="0.1.0")
    organisation = PremisAgent("000.00.00.H53", "Ủy ban nhân dân tỉnh Tây Ninh", "organization")
    cv = PremisFile("representations/rep1/data/cv.pdf", PDF, 11, "application/pdf", pronom_id="fmt/276",
                    original_name="cv.pdf")
    events = [
        PremisEvent(str(uuid.uuid4()), "ingestion", AT, "success",
                    (("edoc-gateway-0.1.0", "executing program"), ("000.00.00.H53", "implementer")), (cv.identifier,)),
        PremisEvent(str(uuid.uuid4()), "message digest calculation", AT, "success",
                    (("edoc-gateway-0.1.0", "executing program"),), (cv.identifier,), detail="SHA-256"),
    ]
    root = etree.fromstring(premis_xml([cv], events, [software, organisation]))
    assert root.get("version") == "3.0"
    assert [etree.QName(c).localname for c in root] == ["object", "event", "event", "agent", "agent"]
    obj = root.find("premis:object", NS)
    assert obj.findtext(".//premis:messageDigest", namespaces=NS) == PDF
    assert obj.findtext(".//premis:formatRegistryKey", namespaces=NS) == "fmt/276"
    linked = obj.findall("premis:linkingEventIdentifier/premis:linkingEventIdentifierValue", NS)
    assert [e.text for e in linked] == [e.identifier for e in events]
    assert root.findtext(".//premis:agentVersion", namespaces=NS) == "0.1.0"
    with pytest.raises(SchemaError, match="unknown 'nobody'"):
        premis_xml([cv], [PremisEvent("e", "replication", AT, "success", (("nobody", "executing program"),))],
                   [software])


def test_bagit_manifest_is_sorted_encoded_and_refuses_escapes() -> None:
    manifest = manifest_sha256([("data/b.pdf", "b" * 64), ("data/a 100%.pdf", "a" * 64)])
    assert manifest == f"{'a' * 64} data/a 100%25.pdf\n{'b' * 64} data/b.pdf\n".encode()
    assert BAGIT_TXT.startswith(b"BagIt-Version: 1.0\n")
    for bad in [("../x", "a" * 64), ("data/x", "A" * 64), ("/x", "a" * 64)]:
        with pytest.raises(SchemaError):
            manifest_sha256([bad])
    info = bag_info(organisation="UBND tỉnh Tây Ninh", external_identifier="urn:uuid:x", bagging_date=date(2026, 12, 7),
                    payload_bytes=1234, payload_files=3)
    assert b"Payload-Oxum: 1234.3\n" in info and "Tây Ninh".encode() in info


def test_descriptive_metadata_keeps_the_fields_and_refuses_overlong_values() -> None:
    meta = DocumentMetadata(
        identifier="000.00.11.H53.2026.01.TH", code_number="12", code_notation="STTTT-VP",
        issued_date=date(2026, 12, 1), type_name="Công văn", subject="Về việc triển khai hệ thống",
        organ_name="Sở Thông tin và Truyền thông tỉnh Tây Ninh", retention="Vĩnh viễn", page_amount=2,
        signer_name="Nguyễn Văn A",
    )
    root = etree.fromstring(descriptive_xml(meta))
    ns = {"t": root.nsmap[None]}
    assert root.findtext("t:CodeNumber", namespaces=ns) == "12"
    assert root.findtext("t:CodeNotation", namespaces=ns) == "STTTT-VP"
    assert root.findtext("t:Subject", namespaces=ns) == "Về việc triển khai hệ thống"
    assert root.findtext("t:Maintenance", namespaces=ns) == "Vĩnh viễn"
    assert root.findtext("t:IssuedDate", namespaces=ns) == "2026-12-01"
    assert root.find("t:Keywords", ns) is None  # not known: not written
    with pytest.raises(SchemaError, match="Subject is longer than 500"):
        descriptive_xml(dataclasses.replace(meta, subject="x" * 501))


def test_times_must_carry_a_zone() -> None:
    with pytest.raises(SchemaError):
        premis_xml([PremisFile("f", PDF, 1, "application/pdf")],
                   [PremisEvent("e", "ingestion", datetime(2026, 1, 1), "success", ())], [])
    premis_xml([PremisFile("f", PDF, 1, "application/pdf")],
               [PremisEvent("e", "ingestion", datetime(2026, 1, 1, tzinfo=UTC), "success", ())], [])


def test_a_sip_points_at_its_sub_packages_and_lists_the_set() -> None:
    from schemas.archive import SIP_PROFILE, SubPackage, TransferDocument, TransferMetadata, transfer_xml

    subs = ("0b7e2f5c-0000-4c1e-9d7a-000000000001", "0b7e2f5c-0000-4c1e-9d7a-000000000002")
    package = dataclasses.replace(
        _package(), package_type="SIP", profile=SIP_PROFILE,
        files=tuple(MetsFile(f"representations/{s}/METS.xml", f"Representations/{s}", "application/xml", 5, AT,
                             "d" * 64) for s in subs),
        sub_packages=tuple(SubPackage(s, f"representations/{s}/METS.xml", f"urn:uuid:{s}") for s in subs))
    root = etree.fromstring(mets_xml(package))
    assert root.get("PROFILE") == SIP_PROFILE
    assert root.find("mets:metsHdr", NS).get(f"{{{CSIP_NS}}}OAISPACKAGETYPE") == "SIP"
    reps = root.find("mets:structMap/mets:div/mets:div[@LABEL='Representations']", NS)
    assert len(reps.findall("mets:fptr", NS)) == 2  # each sub-package's METS in its file group
    divs = reps.findall("mets:div", NS)
    assert [d.get("LABEL") for d in divs] == [f"Representations/{s}" for s in subs]
    pointer = divs[0].find("mets:mptr", NS)
    assert (pointer.get("LOCTYPE"), pointer.get(f"{{{XLINK_NS}}}type")) == ("URL", "simple")
    assert pointer.get(f"{{{XLINK_NS}}}href") == f"representations/{subs[0]}/METS.xml"
    with pytest.raises(SchemaError, match="not a relative package path"):
        mets_xml(dataclasses.replace(package, sub_packages=(SubPackage("x", "../x/METS.xml", "x"),)))

    record = descriptive_xml(DocumentMetadata(
        identifier="H53.2026.12", code_number="12", code_notation="STTTT-VP", issued_date=date(2026, 12, 1),
        type_name="Công văn", subject="Về việc", organ_name="Sở", retention="10 năm"))
    later = record.replace(b"2026-12-01", b"2026-12-05")
    xml = etree.fromstring(transfer_xml(TransferMetadata(
        "urn:uuid:1", AT.isoformat(), (TransferDocument("urn:uuid:a", "representations/a/METS.xml", later),
                                       TransferDocument("urn:uuid:b", "representations/b/METS.xml", record)),
        agency="000.00.11.H53", year=2026)))
    ns = {"t": xml.nsmap[None]}
    assert xml.findtext("t:DocumentCount", namespaces=ns) == "2"
    assert (xml.findtext("t:StartDate", namespaces=ns), xml.findtext("t:EndDate", namespaces=ns)) == (
        "2026-12-01", "2026-12-05")
    assert [d.get("aip") for d in xml.findall("t:Documents/t:Document", ns)] == ["urn:uuid:a", "urn:uuid:b"]
    assert xml.findtext("t:Documents/t:Document/t:DocumentMetadata/t:CodeNumber", namespaces=ns) == "12"
    with pytest.raises(SchemaError, match="not a TT 02/2019 document record"):
        transfer_xml(TransferMetadata("urn:uuid:1", AT.isoformat(),
                                      (TransferDocument("urn:uuid:a", "representations/a/METS.xml", b"<x/>"),)))
