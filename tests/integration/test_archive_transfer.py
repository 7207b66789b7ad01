"""The nộp lưu transfer (issue 20 item 6) is an E-ARK SIP: a root METS for the set whose Representations
divisions point at each archived AIP's own METS, the set's TT 02/2019 metadata, and a BagIt manifest of the whole;
it passes ``eark-validator -s V2.1.0`` and the METS and PREMIS XSDs."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from lxml import etree

from service.archive.export import export_transfer
from tests.integration.test_archive import T
from tests.integration.test_archive_fixity import two_archived
from tests.integration.test_archive_s3 import PREMIS_XSD, xsd
from tests.support.eark import EarkValidator
from tests.support.gateway import A, gateway_env

M, X = "{http://www.loc.gov/METS/}", "{http://www.w3.org/1999/xlink}"
#: eark-validator 1.1.3's SIP14 asks every CREATOR agent's note for an unqualified NOTETYPE="IDENTIFICATIONCODE",
#: which contradicts CSIP15/CSIP16 (the software CREATOR agent every CSIP package MUST have, its one note with
#: csip:NOTETYPE="SOFTWARE VERSION"; an unqualified NOTETYPE is not even allowed there by the METS XSD): no SIP
#: passes both. Its sibling SIP11 (TYPE ORGANIZATION) never fires: an earlier rule of its pattern takes the agent.
VALIDATOR_CONTRADICTIONS = {"SIP14"}


def test_the_transfer_is_an_eark_sip_of_the_archived_aips(empty_database_url: str, tmp_path: Path,
                                                          eark_validator: EarkValidator) -> None:
    for env in gateway_env(empty_database_url, tmp_path, archive_sweep_seconds=0):
        (first, _c1), (second, _c2) = two_archived(env)
        year = first.created_at.year
        out = tmp_path / "transfer.zip"
        count = export_transfer(env.gw, [second, first], out, agency=A, year=year)
        folder = tmp_path / "sip"
        with zipfile.ZipFile(out) as zf:
            names = zf.namelist()
            assert count == len(names)
            manifest = zf.read("manifest-sha256.txt").decode().splitlines()
            assert len(manifest) == len(names) - 2  # every file but the two BagIt tag files
            for line in manifest:
                digest, name = line.split(" ", 1)
                assert hashlib.sha256(zf.read(name)).hexdigest() == digest, name
            zf.extractall(folder)

        result = eark_validator.validate(folder, "V2.1.0")
        errors = [m for m in result["messages"] if m["severity"] == "Error"]
        assert [m for m in errors if m["rule"] not in VALIDATOR_CONTRADICTIONS] == [], errors
        assert len(errors) <= 1  # SIP14, on the software agent's version note only
        assert result["structure"] == "WellFormed"
        assert (result["structure"], result["schema"]) == ("WellFormed", "VALID")

        schema_dir = eark_validator.mets_xsd.parent
        mets_schema = xsd(eark_validator.mets_xsd, {"xlink.xsd": schema_dir / "xlink.xsd"})
        mets = etree.parse(str(folder / "METS.xml"))
        assert mets_schema.validate(mets), mets_schema.error_log
        assert xsd(PREMIS_XSD, {}).validate(etree.parse(str(folder / "metadata/preservation/PREMIS.xml")))
        root = mets.getroot()
        assert root.get("OBJID", "").startswith("urn:uuid:") and root.get("TYPE")
        assert root.find(f"{M}metsHdr").get("{https://DILCIS.eu/XML/METS/CSIPExtensionMETS}OAISPACKAGETYPE") == "SIP"
        agent, submitter = root.findall(f"{M}metsHdr/{M}agent")
        assert agent.get("OTHERTYPE") == "SOFTWARE" and agent.findtext(f"{M}note")
        assert (submitter.get("OTHERROLE"), submitter.get("TYPE")) == ("SUBMITTER", "ORGANIZATION")
        pointers = [p.get(f"{X}href") for p in root.iter(f"{M}mptr")]
        ordered = sorted((first, second), key=lambda a: (a.created_at, a.id))  # archived order (one sweep: by id)
        expected = [f"representations/{a.id.removeprefix('urn:uuid:')}/METS.xml" for a in ordered]
        assert pointers == expected
        for href in pointers:  # each sub-package is the AIP as archived, and still validates on its own
            assert mets_schema.validate(etree.parse(str(folder / href)))
            assert (folder / href).parent.joinpath("manifest-sha256.txt").is_file()

        meta = etree.parse(str(folder / "metadata/descriptive/transfer.xml")).getroot()
        assert meta.findtext(f"{T}Agency") == A and meta.findtext(f"{T}Year") == str(year)
        assert meta.findtext(f"{T}DocumentCount") == "2"
        assert meta.findtext(f"{T}StartDate") and meta.findtext(f"{T}EndDate")
        records = meta.findall(f"{T}Documents/{T}Document")
        assert [r.get("aip") for r in records] == [a.id for a in ordered]
        numbers = {first.id: "40", second.id: "41"}
        assert [r.findtext(f"{T}DocumentMetadata/{T}CodeNumber") for r in records] == [numbers[a.id] for a in ordered]
