"""The root ``METS.xml`` of an information package per E-ARK CSIP (2.1 MUSTs, 2.2 compatible) as TT 05/2025
profiles it: OBJID ``urn:uuid:…``, the CSIP root attributes, a software CREATOR agent with its version, every
metadata file referenced from ``dmdSec``/``amdSec`` and every other file listed in ``fileSec``, each with
MIMETYPE, SIZE, CREATED and a SHA-256 CHECKSUM, and the PHYSICAL ``structMap`` labelled ``CSIP``.

Vocabulary values are those of the CSIP vocabularies (content category, content information type, OAIS package
type, status, note type, agent other type, structMap and division labels).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from lxml import etree

from schemas.errors import SchemaError

__all__ = ["CSIP_NS", "METS_NS", "SIP_PROFILE", "CsipPackage", "MetadataRef", "MetsAgent", "MetsFile", "SubPackage",
           "mets_xml"]

METS_NS = "http://www.loc.gov/METS/"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CSIP_PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
SIP_PROFILE = "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml"
_M, _C, _X = f"{{{METS_NS}}}", f"{{{CSIP_NS}}}", f"{{{XLINK_NS}}}"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class MetsFile:
    """A file of the package (``href`` relative to the package root, e.g. ``documentation/report.json``); ``use``
    is its file group: ``Documentation``, ``Schemas`` or ``Representations/rep1``."""

    href: str
    use: str
    mimetype: str
    size: int
    created: datetime
    sha256: str


@dataclass(frozen=True, slots=True)
class MetadataRef:
    """A metadata file: ``descriptive`` (``metadata/descriptive/…``, a ``dmdSec``) or ``preservation``
    (``metadata/preservation/PREMIS.xml``, an ``amdSec/digiprovMD``)."""

    href: str
    kind: Literal["descriptive", "preservation"]
    mdtype: str  # "PREMIS", or "OTHER" with other_mdtype
    mimetype: str
    size: int
    created: datetime
    sha256: str
    other_mdtype: str | None = None


@dataclass(frozen=True, slots=True)
class SubPackage:
    """A package inside this one, under ``representations/<name>/`` with its own ``METS.xml`` (``href``): listed
    in the file group ``Representations/<name>`` (add that file to ``files``) and pointed at by an ``mptr`` from
    its division ``Representations/<name>`` of the structMap (CSIP106-112)."""

    name: str
    href: str
    title: str


@dataclass(frozen=True, slots=True)
class MetsAgent:
    """A further ``metsHdr/agent`` beside the software CREATOR (CSIP10 allows others), e.g. the submitting
    organisation of a SIP: ``role="OTHER"``, ``other_role="SUBMITTER"``, ``type="ORGANIZATION"``."""

    name: str
    role: str
    type: str
    other_role: str | None = None


@dataclass(frozen=True, slots=True)
class CsipPackage:
    objid: uuid.UUID
    label: str
    created: datetime
    software: str
    software_version: str
    files: tuple[MetsFile, ...] = ()
    metadata: tuple[MetadataRef, ...] = ()
    package_type: Literal["SIP", "AIP", "DIP"] = "AIP"
    content_category: str = "Textual works \u2013 Digital"
    content_information_type: str = "MIXED"
    record_status: str = "NEW"
    #: the file groups' ``csip:OTHERCONTENTINFORMATIONTYPE`` (their ``csip:CONTENTINFORMATIONTYPE`` is ``OTHER``)
    group_content_type: str = "TT05-2025"
    extra_profile: tuple[str, ...] = field(default=())
    #: the whole ``@PROFILE`` when set (a SIP names the E-ARK SIP profile alone: SIP2); else CSIP + extra_profile
    profile: str | None = None
    sub_packages: tuple[SubPackage, ...] = ()
    agents: tuple[MetsAgent, ...] = ()


def _when(value: datetime, what: str) -> str:
    if value.tzinfo is None:
        raise SchemaError(f"{what}: a time without a zone", code="invalid_archive_value")
    return value.isoformat()


def _checked(href: str, sha256: str, size: int) -> None:
    if not href or href.startswith("/") or ".." in href.split("/"):
        raise SchemaError(f"not a relative package path: {href!r}", code="invalid_archive_value")
    if not _SHA256.match(sha256) or size < 0:
        raise SchemaError(f"{href}: bad SHA-256 or size", code="invalid_archive_value")


def _file_attributes(element: etree._Element, mimetype: str, size: int, created: datetime, sha256: str,
                     href: str) -> None:
    element.set("MIMETYPE", mimetype)
    element.set("SIZE", str(size))
    element.set("CREATED", _when(created, href))
    element.set("CHECKSUM", sha256.upper())
    element.set("CHECKSUMTYPE", "SHA-256")


def _md_ref(parent: etree._Element, ref: MetadataRef) -> None:
    _checked(ref.href, ref.sha256, ref.size)
    md = etree.SubElement(parent, _M + "mdRef")
    md.set("LOCTYPE", "URL")
    md.set(_X + "type", "simple")
    md.set(_X + "href", ref.href)
    md.set("MDTYPE", ref.mdtype)
    if ref.mdtype == "OTHER":
        md.set("OTHERMDTYPE", ref.other_mdtype or "OTHER")
    _file_attributes(md, ref.mimetype, ref.size, ref.created, ref.sha256, ref.href)


def mets_xml(package: CsipPackage) -> bytes:
    """The package's root ``METS.xml`` (module docstring)."""
    objid = f"urn:uuid:{package.objid}"
    root = etree.Element(_M + "mets", nsmap={"mets": METS_NS, "csip": CSIP_NS, "xlink": XLINK_NS, "xsi": XSI_NS})
    root.set("OBJID", objid)
    root.set("LABEL", package.label)
    root.set("TYPE", package.content_category)
    root.set(_C + "CONTENTINFORMATIONTYPE", package.content_information_type)
    root.set("PROFILE", package.profile or " ".join((CSIP_PROFILE, *package.extra_profile)))

    header = etree.SubElement(root, _M + "metsHdr")
    header.set("CREATEDATE", _when(package.created, "metsHdr"))
    header.set("RECORDSTATUS", package.record_status)
    header.set(_C + "OAISPACKAGETYPE", package.package_type)
    agent = etree.SubElement(header, _M + "agent")
    agent.set("ROLE", "CREATOR")
    agent.set("TYPE", "OTHER")
    agent.set("OTHERTYPE", "SOFTWARE")
    etree.SubElement(agent, _M + "name").text = package.software
    note = etree.SubElement(agent, _M + "note")
    note.set(_C + "NOTETYPE", "SOFTWARE VERSION")
    note.text = package.software_version
    for extra in package.agents:
        if extra.role == "CREATOR":
            raise SchemaError("the CREATOR agent is the software (CSIP12)", code="invalid_archive_value")
        element = etree.SubElement(header, _M + "agent")
        element.set("ROLE", extra.role)
        if extra.other_role:
            element.set("OTHERROLE", extra.other_role)
        element.set("TYPE", extra.type)
        etree.SubElement(element, _M + "name").text = extra.name

    dmd_ids, amd_ids = [], []
    for n, ref in enumerate(r for r in package.metadata if r.kind == "descriptive"):
        section = etree.SubElement(root, _M + "dmdSec")
        dmd_ids.append(f"dmd-{n + 1}")
        section.set("ID", dmd_ids[-1])
        section.set("CREATED", _when(ref.created, ref.href))
        section.set("STATUS", "CURRENT")
        _md_ref(section, ref)
    preservation = [r for r in package.metadata if r.kind == "preservation"]
    if preservation:
        amd = etree.SubElement(root, _M + "amdSec")
        for n, ref in enumerate(preservation):
            digiprov = etree.SubElement(amd, _M + "digiprovMD")
            amd_ids.append(f"digiprov-{n + 1}")
            digiprov.set("ID", amd_ids[-1])
            digiprov.set("STATUS", "CURRENT")
            _md_ref(digiprov, ref)

    groups: dict[str, list[MetsFile]] = {}
    for item in package.files:
        _checked(item.href, item.sha256, item.size)
        groups.setdefault(item.use, []).append(item)
    group_ids: dict[str, str] = {}
    if groups:
        file_sec = etree.SubElement(root, _M + "fileSec")
        file_sec.set("ID", "filesec-1")
        count = 0
        for g, (use, items) in enumerate(groups.items()):
            group = etree.SubElement(file_sec, _M + "fileGrp")
            group_ids[use] = f"filegrp-{g + 1}"
            group.set("ID", group_ids[use])
            group.set("USE", use)
            # eark-validator 1.1.3's CSIP63 fails a file group without these two (README.md of this package)
            group.set(_C + "CONTENTINFORMATIONTYPE", "OTHER")
            group.set(_C + "OTHERCONTENTINFORMATIONTYPE", package.group_content_type)
            for item in items:
                count += 1
                element = etree.SubElement(group, _M + "file")
                element.set("ID", f"file-{count}")
                _file_attributes(element, item.mimetype, item.size, item.created, item.sha256, item.href)
                location = etree.SubElement(element, _M + "FLocat")
                location.set("LOCTYPE", "URL")
                location.set(_X + "type", "simple")
                location.set(_X + "href", item.href)

    struct = etree.SubElement(root, _M + "structMap")
    struct.set("ID", "structmap-1")
    struct.set("TYPE", "PHYSICAL")
    struct.set("LABEL", "CSIP")
    top = etree.SubElement(struct, _M + "div")
    top.set("ID", "div-root")
    top.set("LABEL", objid)
    if dmd_ids or amd_ids:
        meta = etree.SubElement(top, _M + "div")
        meta.set("ID", "div-metadata")
        meta.set("LABEL", "Metadata")
        if dmd_ids:
            meta.set("DMDID", " ".join(dmd_ids))
        if amd_ids:
            meta.set("ADMID", " ".join(amd_ids))
    representations = None
    for n, (use, group_id) in enumerate(group_ids.items()):
        if use.startswith("Representations"):
            # One "Representations" division pointing at each representation's file group: CSIP 2.1 without
            # representation METS files (a sub-division per representation needs an mptr to one).
            if representations is None:
                representations = etree.SubElement(top, _M + "div")
                representations.set("ID", "div-representations")
                representations.set("LABEL", "Representations")
            etree.SubElement(representations, _M + "fptr").set("FILEID", group_id)
            continue
        div = etree.SubElement(top, _M + "div")
        div.set("ID", f"div-{n + 1}")
        div.set("LABEL", use)
        etree.SubElement(div, _M + "fptr").set("FILEID", group_id)
    for n, sub in enumerate(package.sub_packages):
        _checked(sub.href, "0" * 64, 0)
        if representations is None:
            raise SchemaError(f"sub-package {sub.name}: its METS is not in a Representations file group",
                              code="invalid_archive_value")
        div = etree.SubElement(representations, _M + "div")
        div.set("ID", f"div-rep-{n + 1}")
        div.set("LABEL", f"Representations/{sub.name}")
        pointer = etree.SubElement(div, _M + "mptr")
        pointer.set("LOCTYPE", "URL")
        pointer.set(_X + "type", "simple")
        pointer.set(_X + "href", sub.href)
        pointer.set(_X + "title", sub.title)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
