"""Lays one document out as an AIP (E-ARK CSIP as TT 05/2025 profiles it, issue 20 item 2) from what the database
and the object store hold: pure apart from reading blobs' bytes through ``open_blob``; every time comes from the
rows (the AIP row's ``created_at``) and every event id from the AIP id, so building the same AIP twice (a worker
killed half way, a redelivered message) gives the same bytes and the same object keys.

Layout::

    METS.xml                                   root METS (schemas/archive/mets.py)
    metadata/descriptive/document.xml          TT 02/2019 document metadata
    metadata/preservation/PREMIS.xml           PREMIS 3 objects, events, agents
    representations/rep1/data/package.edxml    the package as delivered (TraceHeader appended, node-signed)
    representations/rep1/data/package-as-received.edxml   when the node kept the original
    representations/rep1/data/attachments/NN-<name>       each attachment
    documentation/verification.json            XML-DSig result and each PDF's verification report
    documentation/status-history.json          every status of every recipient
    documentation/exchange-log.json            the exchange-log events of this document
    schemas/premis-v3-0.xsd                    the schema PREMIS.xml follows (CSIP: the package carries it)
    bagit.txt, manifest-sha256.txt             BagIt 1.0 declaration and manifest of every other file
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from schemas.archive import (
    BAGIT_TXT,
    CsipPackage,
    DocumentMetadata,
    MetadataRef,
    MetsFile,
    PremisAgent,
    PremisEvent,
    PremisFile,
    descriptive_xml,
    manifest_sha256,
    mets_xml,
    premis_xml,
)
from storage.archive import AipRow, DocumentRecord

__all__ = ["AipFile", "BuiltAip", "Context", "attachment_path", "build_aip"]

VN = timezone(timedelta(hours=7), "ICT")
SOFTWARE = "edoc-gateway"
PREMIS_XSD = Path(__file__).resolve().parents[2] / "schemas" / "xsd" / "premis" / "premis-v3-0.xsd"
_PRIORITY = {0: "Thường", 1: "Khẩn", 2: "Thượng khẩn", 3: "Hỏa tốc", 4: "Hỏa tốc hẹn giờ"}
_DATA = "representations/rep1/data"


@dataclass(frozen=True, slots=True)
class AipFile:
    """One file of the AIP: its bytes (``data``) or a blob of the gateway's store (``blob``, streamed)."""

    path: str
    sha256: str
    size: int
    mimetype: str
    data: bytes | None = None
    blob: str | None = None


@dataclass(frozen=True, slots=True)
class BuiltAip:
    files: tuple[AipFile, ...]
    manifest_sha256: str  # of manifest-sha256.txt: one digest that names the whole AIP


@dataclass(frozen=True, slots=True)
class Context:
    """What the AIP says about who made it."""

    software_version: str
    node_id: str
    node_name: str
    store_urls: tuple[str, ...]  # the copies (a replication event each), without credentials
    format_tool: str | None = None  # e.g. "Siegfried 1.11.9 (pygfried)"; None: declared content types only


def _bytes_file(path: str, data: bytes, mimetype: str) -> AipFile:
    return AipFile(path, hashlib.sha256(data).hexdigest(), len(data), mimetype, data=data)


def _safe_name(name: str, position: int) -> str:
    """An ASCII file name for an attachment (the original name is kept in PREMIS ``originalName``)."""
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "attachment"
    return f"{position + 1:02d}-{text[:80]}"


def attachment_path(name: str, position: int) -> str:
    """Where attachment ``position`` (original name ``name``) lies in the AIP."""
    return f"{_DATA}/attachments/{_safe_name(name, position)}"


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode("utf-8")


def _when(value: Any) -> datetime:
    return value.astimezone(VN) if isinstance(value, datetime) else datetime.fromisoformat(str(value)).astimezone(VN)


def descriptive_metadata(record: DocumentRecord, header: Any, retention_label: str) -> DocumentMetadata:
    """TT 02/2019 metadata from the package row's summary and, where parsed, its MessageHeader."""
    p, summary = record.package, record.package.get("summary") or {}
    issued = summary.get("promulgation_date")
    issued_date = date.fromisoformat(issued) if issued else _when(p["created_at"]).date()
    number = summary.get("code_number") or ""
    identifier = f"{p['from_code']}.{issued_date.year}.{number}" if number else ""
    if not number or len(identifier) > 25:  # TT 02/2019: at most 25 characters, never cut
        identifier = f"{p['from_code']}.{issued_date.year}"
    other = getattr(header, "other_info", None)
    signer = getattr(header, "signer_info", None)
    priority = getattr(other, "priority", None)
    return DocumentMetadata(
        identifier=identifier,
        code_number=number,
        code_notation=summary.get("code_notation") or "",
        issued_date=issued_date,
        type_name=summary.get("type_name") or "",
        subject=p.get("subject") or "",
        organ_name=summary.get("from_name") or p["from_code"],
        retention=retention_label,
        page_amount=getattr(other, "page_amount", None),
        description=f"DocumentId {p['document_id']}"[:500],
        use_mode="Công khai",
        priority=_PRIORITY.get(priority) if priority is not None else None,
        signer_position=getattr(signer, "position", None) or None,
        signer_name=getattr(signer, "full_name", None) or summary.get("signer"),
    )


def _documentation(record: DocumentRecord) -> list[AipFile]:
    p = record.package
    verification = {
        "xml_signature": p.get("signature") or {},
        "oddities": p.get("oddities") or [],
        "attachments": [
            {"position": a["position"], "name": a["name"], "sha256": a["blob_sha256"],
             "verification": a["verification"]}
            for a in record.attachments
        ],
    }
    statuses = {
        "deliveries": [
            {k: d[k] for k in ("to_code", "route", "state", "business_status", "recall_state", "delivered_at",
                               "acked_at", "attempts", "last_error")}
            for d in record.deliveries
        ],
        "statuses": [
            {k: s[k] for k in ("agency_code", "code", "description", "staff", "status_package_id", "created_at")}
            for s in record.statuses
        ],
    }
    events = [{k: e[k] for k in ("id", "at", "kind", "agency_code", "actor", "detail")} for e in record.events]
    return [
        _bytes_file("documentation/verification.json", _json(verification), "application/json"),
        _bytes_file("documentation/status-history.json", _json(statuses), "application/json"),
        _bytes_file("documentation/exchange-log.json", _json(events), "application/json"),
    ]


def _payload(
    record: DocumentRecord, original: tuple[str, int] | None
) -> list[tuple[AipFile, str | None]]:
    """The representation's files, each with its original name (attachments)."""
    p = record.package
    delivered = AipFile(f"{_DATA}/package.edxml", p["blob_sha256"], p["size"], "application/xml",
                        blob=p["blob_sha256"])
    files: list[tuple[AipFile, str | None]] = [(delivered, None)]
    if original is not None and original[0] != p["blob_sha256"]:
        files.append((AipFile(f"{_DATA}/package-as-received.edxml", original[0], original[1], "application/xml",
                              blob=original[0]), None))
    for a in record.attachments:
        path = attachment_path(a["name"], a["position"])
        files.append((AipFile(path, a["blob_sha256"], a["size"], a["content_type"], blob=a["blob_sha256"]),
                      a["name"]))
    return files


def _events(aip: AipRow, record: DocumentRecord, ctx: Context, subjects: Sequence[str],
            payload: Sequence[str]) -> tuple[list[PremisEvent], list[PremisAgent]]:
    base = uuid.UUID(aip.id.removeprefix("urn:uuid:"))
    p = record.package
    software = f"{SOFTWARE}-{ctx.software_version}"
    agents = [PremisAgent(software, SOFTWARE, "software", version=ctx.software_version),
              PremisAgent(ctx.node_id, ctx.node_name, "organization")]
    sender = p.get("submitted_by") or f"agency:{p['from_code']}"
    agents.append(PremisAgent(sender, f"client system of {p['from_code']}" if p.get("submitted_by")
                              else p["from_code"], "software" if p.get("submitted_by") else "organization"))
    run = (software, "executing program")
    node = (ctx.node_id, "implementer")
    created, archived = _when(p["created_at"]), _when(aip.created_at)

    def event(name: str, kind: str, at: datetime, outcome: str, objects: Sequence[str], detail: str,
              note: str | None = None, extra: tuple[tuple[str, str], ...] = ()) -> PremisEvent:
        return PremisEvent(str(uuid.uuid5(base, name)), kind, at, outcome, (run, node, *extra), tuple(objects),
                           detail, note)

    incoming = (p.get("signature") or {}).get("incoming") or {}
    code = incoming.get("code")
    outcome = {"valid": "success", "built": "not applicable", "unsigned": "warning"}.get(code or "", "failure")
    events = [
        event("ingestion", "ingestion", created, "success", payload,
              f"package {p['id']} accepted from {p['from_code']} ({p.get('channel', 'api')})",
              extra=((sender, "submitter"),)),
        event("validation-xmldsig", "validation", created, outcome, payload[:1],
              "XML-DSig of the edXML package as received (built: made by this node from a native submit); the "
              "package as delivered is signed by this node",
              note=json.dumps(incoming, ensure_ascii=False, default=str)[:2000]),
    ]
    for a in record.attachments:
        if a.get("verification"):
            state = (a["verification"] or {}).get("indication") or (a["verification"] or {}).get("state", "")
            path = next((s for s in payload if s.endswith(_safe_name(a["name"], a["position"]))), payload[0])
            events.append(event(f"validation-pades-{a['position']}", "validation", created,
                                "success" if str(state).upper() in ("TOTAL_PASSED", "PASSED", "VALID") else "warning",
                                [path], "PAdES signatures of the attachment", note=str(state)[:2000]))
    events += [
        event("digest", "message digest calculation", archived, "success", subjects, "SHA-256 of every file"),
        event("format", "format identification", archived, "success", subjects,
              f"PRONOM identification by {ctx.format_tool}; declared content type otherwise" if ctx.format_tool
              else "format from the declared content type (no PRONOM identifier installed)"),
    ]
    for n, url in enumerate(ctx.store_urls, 1):
        events.append(event(f"replication-{n}", "replication", archived, "success", subjects,
                            f"copy {n} written to {url}"))
    return events, agents


def build_aip(aip: AipRow, record: DocumentRecord, ctx: Context, header: Any = None,
              original: tuple[str, int] | None = None, formats: dict[str, str] | None = None) -> BuiltAip:
    """Every file of the AIP (the payload by reference to its blob; the rest as bytes) and the manifest digest.
    ``header``: the package's parsed MessageHeader when available; ``original``: (sha256, size) of the package as
    received when the node kept it; ``formats``: PRONOM ids by SHA-256 (service/archive/formats.py)."""
    formats = formats or {}
    created = _when(aip.created_at)
    payload = _payload(record, original)
    documentation = _documentation(record)
    xsd = _bytes_file("schemas/premis-v3-0.xsd", PREMIS_XSD.read_bytes(), "application/xml")
    descriptive = _bytes_file("metadata/descriptive/document.xml",
                              descriptive_xml(descriptive_metadata(record, header, aip.retention)), "application/xml")
    subjects = [f.path for f, _n in payload] + [f.path for f in documentation] + [descriptive.path]
    events, agents = _events(aip, record, ctx, subjects, [f.path for f, _n in payload])
    premis_files = [PremisFile(f.path, f.sha256, f.size, f.mimetype, pronom_id=formats.get(f.sha256),
                               original_name=name) for f, name in payload]
    premis_files += [PremisFile(f.path, f.sha256, f.size, f.mimetype) for f in (*documentation, descriptive)]
    premis = _bytes_file("metadata/preservation/PREMIS.xml", premis_xml(premis_files, events, agents),
                         "application/xml")
    summary = record.package.get("summary") or {}
    label = f"{summary.get('type_name') or 'Văn bản'} {summary.get('code_number') or ''}/" \
            f"{summary.get('code_notation') or ''}".strip()
    mets_files = [MetsFile(f.path, "Representations/rep1", f.mimetype, f.size, created, f.sha256) for f, _n in payload]
    mets_files += [MetsFile(f.path, "Documentation", f.mimetype, f.size, created, f.sha256) for f in documentation]
    mets_files.append(MetsFile(xsd.path, "Schemas", xsd.mimetype, xsd.size, created, xsd.sha256))
    metadata = (
        MetadataRef(descriptive.path, "descriptive", "OTHER", "application/xml", descriptive.size, created,
                    descriptive.sha256, other_mdtype="TT02-2019"),
        MetadataRef(premis.path, "preservation", "PREMIS", "application/xml", premis.size, created, premis.sha256),
    )
    mets = _bytes_file("METS.xml", mets_xml(CsipPackage(
        objid=uuid.UUID(aip.id.removeprefix("urn:uuid:")), label=label, created=created, software=SOFTWARE,
        software_version=ctx.software_version, files=tuple(mets_files), metadata=metadata,
    )), "application/xml")
    files = [f for f, _n in payload] + [*documentation, xsd, descriptive, premis, mets]
    bagit = _bytes_file("bagit.txt", BAGIT_TXT, "text/plain")
    manifest = _bytes_file("manifest-sha256.txt", manifest_sha256((f.path, f.sha256) for f in files),
                           "text/plain")
    return BuiltAip((*files, bagit, manifest), manifest.sha256)
