"""Offline check of one AIP (issue 20 item 7): given a way to read its files by path, say in one line per problem
what is wrong: the BagIt manifest (every listed file present with its SHA-256), the METS checksums and sizes of
every file and metadata reference, the PREMIS links (every event's objects exist, every object's fixity matches its
file), the XML signature of the package as delivered (signed by this node: it must verify), and, when the caller
gives a PDF checker (the trust configuration lives outside the AIP: ``edoc archive verify`` builds one from the
settings as ``edoc verify`` does), the PAdES signatures of every PDF attachment, compared with the verification
summary recorded at ingest in ``documentation/verification.json``: a signature that no longer verifies, or an
indication other than the recorded one, is a problem line (Vietnamese first, then English)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from schemas.archive.mets import METS_NS, XLINK_NS
from schemas.archive.premis import PREMIS_NS

__all__ = ["PdfChecker", "verify_aip", "verify_folder"]

Reader = Callable[[str], bytes | None]
#: a PDF's bytes → its verification summary now: ``{"indication": …, "sub_indication": …}`` (as
#: service/signatures.py ``summary_of``), or ``{"state": "unreadable", "code": …}`` when it cannot be verified
PdfChecker = Callable[[bytes], dict[str, Any]]
_M, _X, _P = f"{{{METS_NS}}}", f"{{{XLINK_NS}}}", {"p": PREMIS_NS}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _digest(read: Reader, path: str, problems: list[str], where: str) -> str | None:
    data = read(path)
    if data is None:
        problems.append(f"{path}: missing (listed in {where})")
        return None
    return hashlib.sha256(data).hexdigest()


def _manifest(read: Reader, problems: list[str]) -> None:
    manifest = read("manifest-sha256.txt")
    if manifest is None:
        problems.append("manifest-sha256.txt: missing")
        return
    for line in manifest.decode("utf-8", "replace").splitlines():
        digest, _, path = line.partition(" ")
        path = path.strip().replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        got = _digest(read, path, problems, "manifest-sha256.txt")
        if got is not None and got != digest:
            problems.append(f"{path}: SHA-256 {got} differs from the manifest's {digest}")


def _mets(read: Reader, problems: list[str]) -> None:
    data = read("METS.xml")
    if data is None:
        problems.append("METS.xml: missing")
        return
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        problems.append(f"METS.xml: not well-formed XML ({exc})")
        return
    for element in root.iter(_M + "file", _M + "mdRef"):
        href = element.get(_X + "href") or next(
            (loc.get(_X + "href") for loc in element.iter(_M + "FLocat")), None)
        if not href:
            problems.append(f"METS.xml: {element.get('ID')} names no file")
            continue
        content = read(href)
        if content is None:
            problems.append(f"{href}: missing (listed in METS.xml)")
            continue
        checksum = (element.get("CHECKSUM") or "").lower()
        if element.get("CHECKSUMTYPE") != "SHA-256" or checksum != hashlib.sha256(content).hexdigest():
            problems.append(f"{href}: checksum differs from METS.xml")
        if element.get("SIZE") != str(len(content)):
            problems.append(f"{href}: size {len(content)} differs from METS.xml's {element.get('SIZE')}")


def _premis(read: Reader, problems: list[str]) -> None:
    data = read("metadata/preservation/PREMIS.xml")
    if data is None:
        problems.append("metadata/preservation/PREMIS.xml: missing")
        return
    root = etree.fromstring(data, _PARSER)
    objects = {}
    for obj in root.findall("p:object", _P):
        objects[_value(obj, "p:objectIdentifier/p:objectIdentifierValue")] = _value(
            obj, "p:objectCharacteristics/p:fixity/p:messageDigest"
        )
    agents = {_value(a, "p:agentIdentifier/p:agentIdentifierValue") for a in root.findall("p:agent", _P)}
    for path, digest in objects.items():
        content = read(path or "")
        if content is None:
            problems.append(f"{path}: missing (a PREMIS object)")
        elif hashlib.sha256(content).hexdigest() != digest:
            problems.append(f"{path}: SHA-256 differs from its PREMIS fixity")
    for event in root.findall("p:event", _P):
        ident = _value(event, "p:eventIdentifier/p:eventIdentifierValue")
        for link in event.findall("p:linkingObjectIdentifier/p:linkingObjectIdentifierValue", _P):
            if link.text not in objects:
                problems.append(f"PREMIS.xml: event {ident} links to an unknown object {link.text}")
        for link in event.findall("p:linkingAgentIdentifier/p:linkingAgentIdentifierValue", _P):
            if link.text not in agents:
                problems.append(f"PREMIS.xml: event {ident} links to an unknown agent {link.text}")


def _xml_signature(read: Reader, problems: list[str]) -> None:
    from signing.xmldsig import verify_package

    path = "representations/rep1/data/package.edxml"
    data = read(path)
    if data is None:
        return  # reported as missing by the manifest
    check = verify_package(data)
    if check.code != "valid":
        problems.append(f"{path}: XML signature {check.code}" + (f" ({'; '.join(check.problems)})"
                                                                   if check.problems else ""))


def _verdict(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "?"
    if summary.get("state") not in (None, "done"):
        return f"{summary.get('state')}/{summary.get('code', '')}".rstrip("/")
    sub = summary.get("sub_indication")
    return f"{summary.get('indication')}" + (f"/{sub}" if sub else "")


def _pades(read: Reader, check: PdfChecker, problems: list[str]) -> None:
    from service.archive.aip import attachment_path

    data = read("documentation/verification.json")
    if data is None:
        return  # reported as missing by the manifest
    try:
        recorded = json.loads(data).get("attachments") or []
    except (ValueError, AttributeError):
        problems.append("documentation/verification.json: không đọc được / not readable JSON")
        return
    for entry in recorded:
        before = entry.get("verification")
        if not before or before.get("state") == "pending":
            continue  # not a PDF, or never verified at ingest: nothing to compare with
        path = attachment_path(entry.get("name") or "", int(entry.get("position") or 0))
        content = read(path)
        if content is None:
            continue  # reported as missing by the manifest
        now = check(content)
        was, got = _verdict(before), _verdict(now)
        if now.get("indication") == "TOTAL_FAILED" and before.get("indication") != "TOTAL_FAILED":
            problems.append(f"{path}: chữ ký số PAdES không còn hợp lệ ({got}; lúc lưu trữ: {was}) / PAdES "
                            f"signature no longer verifies ({got}; at ingest: {was})")
        elif (now.get("indication") or now.get("state")) != (before.get("indication") or before.get("state")):
            problems.append(f"{path}: kết quả kiểm tra chữ ký PAdES khác lúc lưu trữ: nay {got}, lúc lưu trữ {was} / "
                            f"PAdES result differs from ingest: now {got}, at ingest {was}")


def verify_aip(read: Reader, check_pdf: PdfChecker | None = None) -> list[str]:
    """Every problem found, one line each (empty: the AIP is intact and consistent); ``check_pdf``: also re-verify
    the PAdES signatures of the PDF attachments (module docstring)."""
    problems: list[str] = []
    _manifest(read, problems)
    _mets(read, problems)
    _xml_signature(read, problems)
    if check_pdf is not None:
        _pades(read, check_pdf, problems)
    try:
        _premis(read, problems)
    except etree.XMLSyntaxError as exc:
        problems.append(f"metadata/preservation/PREMIS.xml: not well-formed XML ({exc})")
    return list(dict.fromkeys(problems))


def verify_folder(folder: Path, check_pdf: PdfChecker | None = None) -> list[str]:
    root = folder.resolve()

    def read(path: str) -> bytes | None:
        target = (root / path).resolve()
        if root not in target.parents or not target.is_file():
            return None
        return target.read_bytes()

    return verify_aip(read, check_pdf)


def _value(element: etree._Element, path: str) -> str | None:
    """The text of the PREMIS element at ``path`` under ``element`` (None if absent)."""
    return element.findtext(path, namespaces=_P)
