"""Exports from the archive (issue 20 item 6, partly): a zip written as a stream, every object checked against
its recorded SHA-256 while it is copied (a damaged copy is skipped for the next one).

- **Transfer** (nộp lưu): an E-ARK SIP (CSIP 2.1 MUSTs, TT 05/2025 SIP) for a set (one AIP, a list, or an
  agency's documents of a year)::

      METS.xml                               the set's METS: OBJID urn:uuid:…, OAISPACKAGETYPE SIP, the SIP profile,
                                             a software CREATOR agent with its version, this node's organisation
                                             as the SUBMITTER agent, a PHYSICAL structMap whose
                                             Representations/<uuid> divisions point (mptr) at each AIP's METS.xml
      metadata/descriptive/transfer.xml      the set: agency + year or the ids asked for, number of documents,
                                             range of issue dates, each document's TT 02/2019 record in order
      metadata/preservation/PREMIS.xml       the sub-packages' METS files as objects, a packing event
      documentation/inventory.json           mục lục: per document its AIP, số/ký hiệu, date, retention, METS
      schemas/premis-v3-0.xsd
      representations/<uuid>/…               each AIP exactly as archived (its own METS.xml, PREMIS, BagIt files)
      bagit.txt, manifest-sha256.txt         BagIt 1.0: every other file of the zip

  Written as a stream: each AIP file is copied in 1 MiB chunks; only the small metadata of the set (each
  document's record, a few KB) is held until the end.
- **DIP** (NĐ 30/2020: the documents and their metadata XML in chronological order): per document, in the order
  the documents were accepted, ``NNN-<số-ký hiệu>/`` with its attachments and ``document.xml`` (the TT 02/2019
  descriptive metadata).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.archive import (
    BAGIT_TXT,
    SIP_PROFILE,
    CsipPackage,
    MetadataRef,
    MetsAgent,
    MetsFile,
    PremisAgent,
    PremisEvent,
    PremisFile,
    SubPackage,
    TransferDocument,
    TransferMetadata,
    manifest_sha256,
    mets_xml,
    premis_xml,
    transfer_xml,
)
from service.archive.aip import PREMIS_XSD, SOFTWARE
from service.archive.archiving import SOFTWARE_VERSION, node_name, store_label
from service.archive.errors import ArchiveError
from storage import archive as repo
from storage.errors import BlobNotFound, StorageError

__all__ = ["export_dip", "export_transfer", "select_aips"]

_CHUNK = 1024 * 1024


def select_aips(gw: Any, *, ids: Sequence[str] = (), agency: str | None = None, year: int | None = None
                ) -> list[repo.AipRow]:
    """AIPs by id (``urn:uuid:…`` or a package id), or an agency's of a year; ``aip_not_found`` for an unknown
    or unfinished one."""
    with gw.sessions() as session:
        found: list[repo.AipRow] = []
        for ident in ids:
            aip = repo.get_aip(session, ident) or repo.aip_of_package(session, ident)
            if aip is None or aip.state != "complete":
                raise ArchiveError(f"{ident}: no archived document or AIP with that id", code="aip_not_found")
            found.append(aip)
        if agency is not None and year is not None:
            found += repo.aips_of_agency_year(session, agency, year)
    if not found:
        raise ArchiveError("nothing archived matches", code="aip_not_found")
    return found


def _intact(store: Any, sha256: str) -> bool:
    digest = hashlib.sha256()
    try:
        with store.open(sha256) as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except (BlobNotFound, StorageError):
        return False
    return digest.hexdigest() == sha256


def _copy_into(gw: Any, aip: repo.AipRow, path: str, zf: zipfile.ZipFile, name: str) -> str:
    """Copy one file of the AIP into the zip from the first copy whose object hashes right (checked by a first
    streaming read, so nothing damaged is ever written into the zip); its SHA-256."""
    stores = {store_label(s): s for s in gw.archive_copies}
    with gw.sessions() as session:
        copies = repo.copies_of(session, aip.id)
    for copy in copies:
        entry, store = copy.files.get(path), stores.get(copy.store_url)
        if entry is None or store is None or not _intact(store, entry["sha256"]):
            continue
        with store.open(entry["sha256"]) as stream, zf.open(name, "w", force_zip64=True) as out:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
        return str(entry["sha256"])
    raise ArchiveError(f"{aip.id} {path}: no copy holds it intact (run edoc archive audit)")


def _files(gw: Any, aip: repo.AipRow) -> dict[str, Any]:
    with gw.sessions() as session:
        copies = repo.copies_of(session, aip.id)
    if not copies:
        raise ArchiveError(f"{aip.id}: no copy recorded", code="aip_not_found")
    return copies[0].files


class _Sip:
    """The root files of a transfer, added to as the AIPs are copied."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.listed: list[tuple[str, str]] = []
        self.documents: list[TransferDocument] = []
        self.inventory: list[dict[str, Any]] = []
        self.mets: list[tuple[str, str, int]] = []  # (uuid, sha256, size) of each sub-package's METS.xml

    def add(self, name: str, data: bytes, mimetype: str) -> MetsFile:
        self.zf.writestr(name, data)
        digest = hashlib.sha256(data).hexdigest()
        self.listed.append((name, digest))
        return MetsFile(name, "", mimetype, len(data), _now(), digest)


def _now() -> datetime:
    return datetime.now(UTC)


def _copy_aip(gw: Any, aip: repo.AipRow, sip: _Sip) -> None:
    folder = aip.id.removeprefix("urn:uuid:")
    files = _files(gw, aip)
    for path in sorted(files):
        name = f"representations/{folder}/{path}"
        sip.listed.append((name, _copy_into(gw, aip, path, sip.zf, name)))
    record = sip.zf.read(f"representations/{folder}/metadata/descriptive/document.xml")
    href = f"representations/{folder}/METS.xml"
    sip.documents.append(TransferDocument(aip.id, href, record))
    sip.mets.append((folder, files["METS.xml"]["sha256"], int(files["METS.xml"]["size"])))
    sip.inventory.append({"aip": aip.id, "package_id": aip.package_id, "document_id": aip.document_id,
                          "retention": aip.retention, "archived_at": aip.created_at.isoformat(), "mets": href})


def _root_files(sip: _Sip, objid: uuid.UUID, created: datetime, agency: str | None, year: int | None,
                ids: Sequence[str], submitter: str) -> None:
    descriptive = sip.add("metadata/descriptive/transfer.xml", transfer_xml(TransferMetadata(
        f"urn:uuid:{objid}", created.isoformat(), tuple(sip.documents), agency, year, tuple(ids))),
        "application/xml")
    objects = [PremisFile(f"representations/{u}/METS.xml", sha, size, "application/xml") for u, sha, size in sip.mets]
    software = f"{SOFTWARE}-{SOFTWARE_VERSION}"
    packing = PremisEvent(str(uuid.uuid5(objid, "packing")), "packing", created, "success",
                          ((software, "executing program"),), tuple(o.identifier for o in objects),
                          f"{len(objects)} archived document(s) packed for transfer (nộp lưu)")
    premis = sip.add("metadata/preservation/PREMIS.xml", premis_xml(
        objects, [packing], [PremisAgent(software, SOFTWARE, "software", version=SOFTWARE_VERSION)]),
        "application/xml")
    inventory = sip.add("documentation/inventory.json", json.dumps(
        {"transfer": f"urn:uuid:{objid}", "documents": sip.inventory}, ensure_ascii=False, indent=2).encode(),
        "application/json")
    xsd = sip.add("schemas/premis-v3-0.xsd", PREMIS_XSD.read_bytes(), "application/xml")
    files = [MetsFile(inventory.href, "Documentation", inventory.mimetype, inventory.size, created, inventory.sha256),
             MetsFile(xsd.href, "Schemas", xsd.mimetype, xsd.size, created, xsd.sha256)]
    files += [MetsFile(f"representations/{u}/METS.xml", f"Representations/{u}", "application/xml", size, created, sha)
              for u, sha, size in sip.mets]
    label = f"Nộp lưu {agency} {year}" if agency is not None else f"Nộp lưu {len(sip.mets)} văn bản"
    sip.add("METS.xml", mets_xml(CsipPackage(
        objid=objid, label=label, created=created, software=SOFTWARE, software_version=SOFTWARE_VERSION,
        files=tuple(files), package_type="SIP", profile=SIP_PROFILE,
        metadata=(
            MetadataRef(descriptive.href, "descriptive", "OTHER", "application/xml", descriptive.size, created,
                        descriptive.sha256, other_mdtype="TT02-2019"),
            MetadataRef(premis.href, "preservation", "PREMIS", "application/xml", premis.size, created,
                        premis.sha256),
        ),
        agents=(MetsAgent(submitter, "OTHER", "ORGANIZATION", other_role="SUBMITTER"),),
        sub_packages=tuple(SubPackage(u, f"representations/{u}/METS.xml", f"urn:uuid:{u}") for u, _s, _n in sip.mets),
    )), "application/xml")


def export_transfer(gw: Any, aips: Sequence[repo.AipRow], out: Path, *, agency: str | None = None,
                    year: int | None = None, ids: Sequence[str] = ()) -> int:
    """The transfer zip, an E-ARK SIP of the set (module docstring); ``agency``/``year``/``ids``: how the set was
    chosen (written to its descriptive metadata). Answers the number of files."""
    objid, created = uuid.uuid4(), _now()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        sip = _Sip(zf)
        for aip in sorted(aips, key=lambda a: (a.created_at, a.id)):
            _copy_aip(gw, aip, sip)
        _root_files(sip, objid, created, agency, year, ids, node_name(gw))
        zf.writestr("bagit.txt", BAGIT_TXT)
        zf.writestr("manifest-sha256.txt", manifest_sha256(sip.listed))
    return len(sip.listed) + 2


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "van-ban"


def export_dip(gw: Any, aips: Sequence[repo.AipRow], out: Path) -> int:
    """The DIP zip (module docstring), documents in the order they were accepted; answers the number of files."""
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for n, aip in enumerate(sorted(aips, key=lambda a: (a.created_at, a.id)), 1):
            files = _files(gw, aip)
            folder = f"{n:03d}-{_slug(aip.document_id.split(',')[-1])}"
            _copy_into(gw, aip, "metadata/descriptive/document.xml", zf, f"{folder}/document.xml")
            count += 1
            for path in sorted(p for p in files if p.startswith("representations/rep1/data/attachments/")):
                _copy_into(gw, aip, path, zf, f"{folder}/{path.rsplit('/', 1)[-1]}")
                count += 1
    return count
