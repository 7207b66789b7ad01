"""Archiving a completed exchange (issue 20 items 2-4), in two steps that never run on the request path:

1. :func:`sweep` (the worker, every ``EDOC_ARCHIVE_SWEEP_SECONDS``): documents with no AIP whose exchange is
   complete (every recipient 06, 02, taken back, or dead) or older than ``EDOC_ARCHIVE_AFTER_DAYS`` (marked
   incomplete) get a ``pending`` AIP row (id, retention from the table) and an ``archive`` bus message, in one
   transaction per document. A sweep rather than a publish where statuses are recorded: completeness depends on
   several paths (statuses, recalls, dead letters, the age limit) and one query finds them all; a sweep is also
   what catches documents accepted before the archive existed.
2. :func:`archive` (the ``archive`` handler): builds the AIP (service/archive/aip.py), writes every file to every
   archive store with the AIP's retention (content-addressed: a rewrite after a crash puts the same bytes under
   the same keys), then in one transaction records every copy, marks the AIP complete and acknowledges the
   message. A worker killed while writing leaves the AIP ``pending`` with no copy row; the message comes back
   after its lease and the AIP is written again, complete once.

Object layout: the stores are content-addressed (the ``ObjectStore`` port), so an AIP is the set of its files'
blobs plus its ``manifest-sha256.txt`` blob, which maps every path to its SHA-256: the manifest's digest
(``aip.manifest_sha256``) names the whole AIP, and ``aip_copy.files`` holds the same map per copy. Individual
objects rather than one zip: the package's and attachments' blobs are shared with the exchange store's layout
(a 100 MB attachment is streamed once per copy, never zipped in memory or on disk), a fixity audit re-hashes each
object by its key, and a repair rewrites one object, not the whole AIP.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.edxml.parser import parse_package
from service.archive.aip import BuiltAip, Context, build_aip
from service.archive.errors import ArchiveError
from service.archive.formats import identifier, pronom_id
from service.archive.retention import Period, RetentionTable
from storage import archive as repo
from storage.interfaces import ObjectStore, Retention
from storage.objects import redact

__all__ = ["archive", "node_name", "retention_of", "store_label", "sweep"]

logger = logging.getLogger("edoc.archive")

TOPIC = "archive"
SOFTWARE_VERSION = "0.1.0"
#: A package larger than this is not parsed again for the header fields the summary lacks (page count, priority).
HEADER_PARSE_MAX_BYTES = 8 * 1024 * 1024


def store_label(store: ObjectStore) -> str:
    """The store's URL as recorded and shown: without credentials."""
    return redact(store.url)


def retention_of(aip: repo.AipRow) -> Retention:
    return Retention.permanent() if aip.permanent else Retention(until=aip.retain_until)


def _table(gw: Any) -> RetentionTable:
    return RetentionTable.load(gw.settings.retention_table, gw.settings.retention_default)


def sweep(gw: Any, *, now: datetime | None = None, limit: int = 200) -> int:
    """Queue an AIP for each document ready to be archived (module docstring); answers how many."""
    now = now or datetime.now(UTC)
    table = _table(gw)
    with gw.sessions() as session:
        candidates = repo.find_candidates(session, now=now, after_days=gw.settings.archive_after_days, limit=limit)
    queued = 0
    for candidate in candidates:
        with gw.writes() as session, session.begin():
            record = repo.document_record(session, candidate.package_id)
            if record is None:
                continue
            summary = record.package.get("summary") or {}
            period: Period = table.period_for(summary.get("type_name"), record.package["from_code"])
            aip_id = f"urn:uuid:{uuid.uuid4()}"
            if repo.queue_aip(session, aip_id=aip_id, candidate=candidate, retention=period.label,
                              retain_until=period.until(now), permanent=period.years is None, now=now):
                gw.bus.publish(session, TOPIC, {"aip": aip_id, "package_id": candidate.package_id})
                queued += 1
    if queued:
        logger.info("archive: %d document(s) queued", queued)
    return queued


@dataclass(frozen=True, slots=True)
class Written:
    aip: repo.AipRow
    built: BuiltAip
    copies: list[dict[str, Any]]


def _header(gw: Any, package: dict[str, Any]) -> Any:
    if package["size"] > HEADER_PARSE_MAX_BYTES:
        return None
    try:
        parsed = parse_package(gw.blobs.read(package["blob_sha256"], package["size"]))
    except Exception:  # the summary still has the main fields; the header only adds a few
        logger.warning("archive: package %s could not be parsed again for its header", package["id"])
        return None
    return parsed.edoc.header if parsed.edoc is not None else None


def _original(gw: Any, package: dict[str, Any]) -> tuple[str, int] | None:
    sha = (package.get("signature") or {}).get("original_sha256")
    if not sha or sha == package["blob_sha256"] or not gw.blobs.exists(sha):
        return None
    size = 0
    with gw.blobs.open(sha) as fh:
        while chunk := fh.read(1 << 20):
            size += len(chunk)
    return sha, size


def node_name(gw: Any) -> str:
    with gw.sessions() as session:
        entry = gw.agencies.lookup(session, [gw.settings.node_id]).get(gw.settings.node_id)
    return (entry.organization.organ_name if entry is not None else None) or f"node {gw.settings.node_id}"


def write_copy(gw: Any, store: ObjectStore, built: BuiltAip, retention: Retention) -> dict[str, Any]:
    """Every file of ``built`` on ``store`` (idempotent), checked against its recorded digest."""
    files: dict[str, Any] = {}
    for item in built.files:
        if item.data is not None:
            ref = store.put_bytes(item.data, retention=retention)
        else:
            assert item.blob is not None
            with gw.blobs.open(item.blob) as stream:
                ref = store.put_stream(stream, retention=retention)
        if ref.sha256 != item.sha256 or ref.size != item.size:
            raise ArchiveError(f"{item.path}: the gateway's blob {item.blob} does not hash to its recorded digest")
        files[item.path] = {"sha256": item.sha256, "size": item.size}
    return files


def _formats(gw: Any, record: repo.DocumentRecord) -> dict[str, str]:
    """PRONOM ids of the attachments by SHA-256 (the packages are edXML: their format needs no identifier)."""
    found = {}
    for a in record.attachments:
        suffix = "." + a["name"].rsplit(".", 1)[-1] if "." in a["name"] else ""
        pronom = pronom_id(functools.partial(gw.blobs.open, a["blob_sha256"]), a["size"], suffix)
        if pronom:
            found[a["blob_sha256"]] = pronom
    return found


def build(gw: Any, aip: repo.AipRow, record: repo.DocumentRecord, stores: Sequence[ObjectStore]) -> BuiltAip:
    ctx = Context(SOFTWARE_VERSION, gw.settings.node_id, node_name(gw), tuple(store_label(s) for s in stores),
                  format_tool=identifier())
    return build_aip(aip, record, ctx, _header(gw, record.package), _original(gw, record.package),
                     _formats(gw, record))


def archive(gw: Any, aip_id: str, *, ack: Any = None) -> bool:
    """Build and write AIP ``aip_id`` to every archive store, then record it (module docstring). ``ack(session)``
    runs in the recording transaction (the bus message). Answers False when it was already complete."""
    with gw.sessions() as session:
        aip = repo.get_aip(session, aip_id)
        record = repo.document_record(session, aip.package_id) if aip is not None else None
    if aip is None or record is None:
        raise ArchiveError(f"no AIP {aip_id} to write", code="aip_not_found")
    if aip.state == "complete":
        if ack is not None:
            with gw.writes() as session, session.begin():
                ack(session)
        return False
    stores = gw.archive_copies
    built = build(gw, aip, record, stores)
    retention = retention_of(aip)
    copies = [
        {"store_url": store_label(store), "position": n, "files": write_copy(gw, store, built, retention)}
        for n, store in enumerate(stores, 1)
    ]
    with gw.writes() as session, session.begin():
        done = repo.complete_aip(session, aip_id, manifest_sha256=built.manifest_sha256, copies=copies,
                                 now=datetime.now(UTC))
        if ack is not None:
            ack(session)
    if done:
        logger.info("archive: %s (%s) written to %d store(s), %d files each, retention %s",
                    aip_id, aip.document_id, len(copies), len(built.files), aip.retention)
    return done
