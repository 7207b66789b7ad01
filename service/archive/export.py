"""Exports from the archive (issue 20 item 6, partly): a zip written as a stream, every object checked against
its recorded SHA-256 while it is copied (a damaged copy is skipped for the next one).

- **Transfer** (nộp lưu): the AIPs of a set (one AIP, a list, or an agency's documents of a year), each under
  ``<uuid>/`` exactly as archived, plus a top-level ``manifest-sha256.txt`` of every file of the zip. This is the
  E-ARK AIP content; the TT 05/2025 SIP profile's own METS for the set (SIP_hoso) is not built yet.
- **DIP** (NĐ 30/2020: the documents and their metadata XML in chronological order): per document, in the order
  the documents were accepted, ``NNN-<số-ký hiệu>/`` with its attachments and ``document.xml`` (the TT 02/2019
  descriptive metadata).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schemas.archive import manifest_sha256
from service.archive.archiving import store_label
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


def export_transfer(gw: Any, aips: Sequence[repo.AipRow], out: Path) -> int:
    """The transfer zip (module docstring); answers the number of files."""
    listed: list[tuple[str, str]] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for aip in aips:
            folder = aip.id.removeprefix("urn:uuid:")
            for path in sorted(_files(gw, aip)):
                name = f"{folder}/{path}"
                listed.append((name, _copy_into(gw, aip, path, zf, name)))
        zf.writestr("manifest-sha256.txt", manifest_sha256(listed))
    return len(listed)


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
