"""Fixity audits of the archive copies (issue 20 item 5).

Each audit of one copy re-hashes every object of the copy (streaming, 1 MiB reads) and compares it with the SHA-256
and size recorded when the AIP was written. A damaged or missing object is repaired from another copy of the same
AIP whose object still hashes right (the good bytes are verified while they are spooled, then uploaded under the
key: a new object version on S3, a replaced file on the file store), and checked again. One ``fixity_check`` row per
copy audited (``ok``, ``repaired`` or ``damaged``), a log line per problem, and counters for alerting
(:data:`COUNTERS`).

PREMIS: Object Lock makes every object of an AIP immutable, ``PREMIS.xml`` included, so the events of later audits
are **appended as event files**: ``metadata/preservation/events/<time>-fixity-<copy>.xml``, each a PREMIS 3
document with the objects it checked and its events (a failed ``fixity check``, a ``replication`` that repaired
it, the ``fixity check`` that passed after). They are written with the AIP's retention to every copy and added to
each copy's file list in the database, so later audits check them too; the AIP's original ``METS.xml`` and
manifest are never rewritten. An audit that finds nothing wrong writes no event file: its row is the record (one
event file per AIP per month of audits would add nothing an auditor reads).

The worker audits the copies whose last check (or, never checked, whose writing) is older than
``EDOC_FIXITY_DAYS``, a few at a time and the longest waiting first (:func:`audit_due`), so every copy is re-hashed
once per period, spread over the period as the AIPs were written; ``edoc archive audit`` runs it on demand
(``--all``: every copy now).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from schemas.archive import PremisAgent, PremisEvent, PremisFile, premis_xml
from service.archive.aip import SOFTWARE, VN
from service.archive.archiving import SOFTWARE_VERSION, retention_of, store_label
from service.archive.errors import ArchiveError
from storage import archive as repo
from storage.errors import BlobNotFound, StorageError
from storage.interfaces import ObjectStore

__all__ = ["COUNTERS", "AuditSummary", "CopyResult", "audit", "audit_due"]

logger = logging.getLogger("edoc.archive")

_CHUNK = 1024 * 1024
#: Process-wide counts for alerting: copies checked, objects damaged, missing, repaired, left damaged.
COUNTERS: Counter[str] = Counter()


@dataclass
class CopyResult:
    aip_id: str
    store_url: str
    outcome: str  # ok | repaired | damaged | error (not audited: its store did not answer or is gone; no row)
    files: int = 0
    bytes: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AuditSummary:
    copies: list[CopyResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.copies if c.outcome == outcome)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.copies)


def _hash(stream: BinaryIO, out: Any = None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
    return digest.hexdigest(), size


def _check(store: ObjectStore, sha256: str, size: int) -> str | None:
    """None when the object hashes right; else ``missing`` or ``mismatch``."""
    try:
        with store.open(sha256) as stream:
            got = _hash(stream)
    except BlobNotFound:
        return "missing"
    return None if got == (sha256, size) else "mismatch"


def _repair(target: ObjectStore, sources: Sequence[ObjectStore], sha256: str, size: int, retention: Any) -> str | None:
    """Rewrite one object on ``target`` from the first source whose object hashes right; the source used."""
    for source in sources:
        with tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK) as spool:
            try:
                with source.open(sha256) as stream:
                    got = _hash(stream, spool)
            except (BlobNotFound, StorageError):
                continue
            if got != (sha256, size):
                continue
            spool.seek(0)
            rewrite = getattr(target, "rewrite", None)
            if rewrite is not None:
                rewrite(spool, retention=retention)
            else:  # the file store replaces a file whatever was there
                target.put_stream(spool, retention=retention)  # type: ignore[arg-type]
            if _check(target, sha256, size) is None:
                return store_label(source)
    return None


def _stores(gw: Any) -> dict[str, ObjectStore]:
    return {store_label(s): s for s in gw.archive_copies}


def audit_copy(gw: Any, copy: repo.CopyRow, aip: repo.AipRow, siblings: Sequence[repo.CopyRow],
               stores: dict[str, ObjectStore], progress: Callable[[int], None] | None = None) -> CopyResult:
    """Re-hash every object of one copy, repair what is wrong from the sibling copies, record the check."""
    result = CopyResult(aip.id, copy.store_url, "ok")
    store = stores.get(copy.store_url)
    if store is None:
        raise ArchiveError(f"copy of {aip.id} on {copy.store_url}: that store is no longer in EDOC_ARCHIVE_URLS")
    sources = [stores[c.store_url] for c in siblings if c.store_url != copy.store_url and c.store_url in stores]
    at = datetime.now(UTC)
    for path, entry in sorted(copy.files.items()):
        sha256, size = str(entry["sha256"]), int(entry["size"])
        problem = _check(store, sha256, size)
        result.files += 1
        result.bytes += size
        if progress is not None:
            progress(size)
        if problem is None:
            continue
        COUNTERS[problem] += 1
        source = _repair(store, sources, sha256, size, retention_of(aip))
        result.problems.append({"path": path, "sha256": sha256, "problem": problem, "repaired_from": source})
        logger.error("fixity: %s %s on %s is %s; %s", aip.id, path, copy.store_url, problem,
                     f"repaired from {source}" if source else "NOT repaired (no good copy)")
        COUNTERS["repaired" if source else "unrepaired"] += 1
    if result.problems:
        result.outcome = "repaired" if all(p["repaired_from"] for p in result.problems) else "damaged"
    COUNTERS["copies_checked"] += 1
    events: dict[str, Any] = {}
    if result.problems:
        events = _event_file(aip, copy, siblings, stores, result, at)
    with gw.writes() as session, session.begin():
        repo.record_fixity(session, copy, at=at, outcome=result.outcome, files_checked=result.files,
                           bytes_checked=result.bytes, problems=result.problems)
        if events:
            repo.add_files(session, aip.id, events)
    return result


def _event_file(aip: repo.AipRow, copy: repo.CopyRow, siblings: Sequence[repo.CopyRow],
                stores: dict[str, ObjectStore], result: CopyResult, at: datetime) -> dict[str, Any]:
    """The PREMIS event file of an audit that found problems, written to every copy (module docstring)."""
    base = uuid.UUID(aip.id.removeprefix("urn:uuid:"))
    software = f"{SOFTWARE}-{SOFTWARE_VERSION}"
    agents = [PremisAgent(software, SOFTWARE, "software", version=SOFTWARE_VERSION)]
    run = ((software, "executing program"),)
    local = at.astimezone(VN)
    objects = [p["path"] for p in result.problems]
    files = [PremisFile(p["path"], p["sha256"], int(copy.files[p["path"]]["size"]), "application/octet-stream")
             for p in result.problems]
    stamp = local.strftime("%Y%m%dT%H%M%S%f")

    def eid(kind: str) -> str:
        return str(uuid.uuid5(base, f"{stamp}-{copy.store_url}-{kind}"))

    note = "; ".join(f"{p['path']}: {p['problem']}" for p in result.problems)
    events = [PremisEvent(eid("check"), "fixity check", local, "failure", run, tuple(objects),
                          f"SHA-256 re-computed on {copy.store_url}", note)]
    repaired = [p["path"] for p in result.problems if p["repaired_from"]]
    if repaired:
        sources = sorted({p["repaired_from"] for p in result.problems if p["repaired_from"]})
        events.append(PremisEvent(eid("repair"), "replication", local, "success", run, tuple(repaired),
                                  f"repaired on {copy.store_url} from {', '.join(sources)}"))
        events.append(PremisEvent(eid("recheck"), "fixity check", local,
                                  "success" if result.outcome == "repaired" else "failure", run, tuple(repaired),
                                  f"SHA-256 re-computed on {copy.store_url} after the repair"))
    data = premis_xml(files, events, agents)
    path = f"metadata/preservation/events/{stamp}-fixity-{hashlib.sha256(copy.store_url.encode()).hexdigest()[:8]}.xml"
    for c in siblings:
        store = stores.get(c.store_url)
        if store is not None:
            store.put_bytes(data, retention=retention_of(aip))
    return {path: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}}


def audit(gw: Any, *, aip_id: str | None = None, everything: bool = False, limit: int | None = None,
          now: datetime | None = None, progress: Callable[[int], None] | None = None,
          planned: Callable[[list[repo.CopyRow]], None] | None = None) -> AuditSummary:
    """Audit the copies due (last check older than ``EDOC_FIXITY_DAYS``), or every copy (``everything``), or
    those of one AIP; ``planned`` is told which before it starts, ``progress`` the bytes as they are hashed."""
    now = now or datetime.now(UTC)
    due = None if (everything or aip_id) else now - timedelta(days=gw.settings.fixity_days)
    with gw.sessions() as session:
        if aip_id is not None and repo.get_aip(session, aip_id) is None:
            raise ArchiveError(f"no AIP {aip_id}", code="aip_not_found")
        copies = repo.copies_due(session, checked_before=due, aip_id=aip_id, limit=limit)
    if planned is not None:
        planned(copies)
    stores = _stores(gw)
    summary = AuditSummary()
    for copy in copies:
        with gw.sessions() as session:
            aip = repo.get_aip(session, copy.aip_id)
            siblings = repo.copies_of(session, copy.aip_id)
        assert aip is not None
        current = next(c for c in siblings if c.store_url == copy.store_url)  # its file list may have grown
        try:
            summary.copies.append(audit_copy(gw, current, aip, siblings, stores, progress))
        except (ArchiveError, StorageError) as exc:  # a store down or gone: the other copies are still audited
            logger.error("fixity: %s on %s could not be audited: %s", aip.id, copy.store_url, exc)
            COUNTERS["audit_errors"] += 1
            summary.copies.append(CopyResult(aip.id, copy.store_url, "error",
                                             problems=[{"path": "", "problem": str(exc), "repaired_from": None}]))
    return summary


def audit_due(gw: Any, *, limit: int = 20) -> AuditSummary:
    """The worker's share of the rolling schedule: at most ``limit`` copies per call."""
    return audit(gw, limit=limit)
