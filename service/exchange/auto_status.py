"""Automatic statuses in batches: the 01 (đã đến) that a recipient's transport ack implies (QĐ 28/2018).

A busy node acks many documents a second, and each ack owes the sender a signed status package. Sending them one
by one through the generic status use case costs three transactions and some twenty statements each; here a
batch is read with two queries, each status is built and signed as this node, and all of them are recorded in
ONE transaction of about six statements, whatever the batch size, with the same effects as
:func:`service.exchange.answers.send_status`: a status package row, its delivery towards the document's sender
(delivered at once when this node serves the sender, else with an outbox row for its route), the status history
entry, and the log events.

Exactly once: the recipient's delivery moves from "no status" to 01 with a conditional UPDATE under a row lock,
so a second worker, a redelivered outbox message or a status the recipient sent itself in the meantime makes the
update match nothing and the automatic status is dropped. The status package's idempotency key
(``auto:<delivery>:<code>``) backs this with the database's unique constraint.

Dropping it is right because a recorded status implies a recorded 01: a recipient whose first status is not 01
(it reported 03 before the worker came round, or a VXP system skipped 01) has its 01 recorded first, in the same
transaction as that status, by :func:`send_arrival_first` (issue 16 item 5). So the sender sees 01 before any
later status of each recipient, in its history and in the order its status packages arrive, whichever of the
worker and the recipient comes first; on SQLite and PostgreSQL alike, since both record through
:func:`_record_all`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from schemas.edxml import build_status
from service.context import Gateway
from service.exchange import log
from service.exchange.compose import DocumentFacts, sign_built, status_about
from service.exchange.statuses import LABELS_VI, staff_json
from service.routing import LOCAL
from storage.blobs import PendingBlob
from storage.exchange import messages as leased
from storage.exchange import statuses as status_rows
from storage.exchange.statuses import StatusBatch
from storage.interfaces import BlobRef
from storage.models import (
    new_id,
    utcnow,
)

__all__ = ["send_arrival_first", "send_automatic_statuses"]

logger = logging.getLogger("edoc.delivery")
_SKIP_RECALL = ("recalled", "updated", "replaced")


@dataclass
class _Job:
    message_id: int
    delivery_id: str
    code: str
    agency: str
    original: _Original
    package_id: str = ""
    blob: BlobRef | None = None
    pending: PendingBlob | None = None  # the signed package, when small enough to go in with the rows
    summary: dict[str, Any] | None = None


def send_automatic_statuses(
    gw: Gateway, message_ids: list[int], *, worker: str, payloads: Mapping[int, dict[str, Any]] | None = None
) -> list[tuple[int, str]]:
    """Send the automatic statuses of these leased outbox messages; returns (message id, error) to retry.

    ``payloads`` are the messages' payloads when the caller has just leased them (the worker's claim read them);
    without them they are read again, from the messages still leased by ``worker``."""
    jobs, finished = _load(gw, message_ids, worker, payloads)
    failures: list[tuple[int, str]] = []
    ready = []
    for job in jobs:
        try:
            _build(gw, job)
            ready.append(job)
        except Exception as exc:  # a signing or storage problem: retried on the schedule
            logger.exception("automatic status for delivery %s could not be built", job.delivery_id)
            failures.append((job.message_id, f"{exc.__class__.__name__}: {exc}"))
    with gw.writes() as session, session.begin():
        if ready:
            _record_all(gw, session, ready, f"worker:{worker}")
        done = finished + [job.message_id for job in ready]
        if done:
            gw.bus.ack(done, worker=worker, session=session)
    if ready or failures:
        gw.wakeup.set()
    return failures


@dataclass(frozen=True, slots=True)
class _Original:
    """The original document, as much as a status about it needs (service.exchange.compose.status_about)."""

    id: str
    from_code: str
    document_id: str
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Message:
    id: int
    payload: dict[str, Any]


def _load(
    gw: Gateway, message_ids: list[int], worker: str, payloads: Mapping[int, dict[str, Any]] | None
) -> tuple[list[_Job], list[int]]:
    """The jobs still to do, and the messages that need nothing more (gone, or already answered)."""
    with gw.sessions() as session:
        if payloads is not None:
            found = [(mid, payloads[mid]) for mid in message_ids]
        else:
            found = leased.leased_payloads(session, message_ids, worker)
        messages = [_Message(mid, payload) for mid, payload in found]
        wanted = {m.payload.get("delivery_id"): m for m in messages}
        rows = status_rows.owing(session, [k for k in wanted if k])
        agencies = gw.agencies.lookup(session, sorted({r.to_code for r in rows}))
    jobs, finished = [], []
    seen = set()
    for row in rows:
        message = wanted[row.delivery_id]
        seen.add(message.id)
        agency = agencies.get(row.to_code)
        if row.business_status is not None or row.recall_state in _SKIP_RECALL or agency is None:
            finished.append(message.id)  # the recipient already reported, the document was taken back, or the
            continue  # recipient left the directory: nothing automatic to send
        original = _Original(row.id, row.from_code, row.document_id, row.summary or {})
        job = _Job(message.id, row.delivery_id, str(message.payload.get("code", "01")), agency.code, original)
        job.summary = {"sender": agency.organization}
        jobs.append(job)
    finished += [m.id for m in messages if m.id not in seen]
    return jobs, finished


def _build(gw: Gateway, job: _Job) -> None:
    assert job.summary is not None
    status = status_about(job.original, sender=job.summary["sender"], code=job.code, description=None, staff=None)
    job.blob, job.pending = gw.blobs.stage(sign_built(build_status(status), gw.node_key))
    job.package_id = new_id()
    job.summary = {"status_code": job.code, "description": status.description, "staff": staff_json(None)}


def send_arrival_first(
    gw: Gateway,
    session: Session,
    *,
    original: DocumentFacts,
    delivery_id: str,
    agency_code: str,
    actor: str,
    before: str,
) -> bool:
    """Record the 01 of a recipient that has no status yet, in the caller's transaction, ahead of the status
    package ``before`` that this recipient is sending (:func:`service.exchange.status_effects.apply_effects`,
    which holds the delivery's row lock): the sender sees 01 before any later status of that recipient (issue 16
    item 5).

    The rows are those of the worker's automatic 01 (same idempotency key ``auto:<delivery>:01``), so the worker,
    when it comes round, finds a status recorded and sends nothing more. A sender behind an uplink is reached
    through the outbox, in message order: ``before``'s messages are queued again after the 01's, so the 01 is
    pushed first. Returns whether the 01 was recorded (not when the recipient has left the directory)."""
    agency = gw.agencies.lookup(session, [agency_code]).get(agency_code)
    if agency is None:
        return False
    facts = _Original(original.id, original.from_code, original.document_id, original.summary or {})
    job = _Job(0, delivery_id, "01", agency.code, facts, summary={"sender": agency.organization})
    _build(gw, job)
    if delivery_id not in _record_all(gw, session, [job], actor):
        return False
    if gw.router.resolve(original.from_code) != LOCAL:
        _queue_again(gw, session, before)
    return True


def _queue_again(gw: Gateway, session: Session, package_id: str) -> None:
    """Move the pending delivery messages of ``package_id`` (queued earlier in this transaction) behind the ones
    queued since: the worker drains the bus in order."""
    later = leased.take_deliver_messages(session, package_id)
    if later:
        gw.bus.publish_many(session, later)


def _record_all(gw: Gateway, session: Session, jobs: list[_Job], actor: str) -> set[str]:
    """Record a batch of built statuses in a few set-based statements (one per table, whatever the batch size).

    The conditional UPDATE ... RETURNING tells which deliveries still owed their automatic status; a job whose
    delivery moved meanwhile (the recipient sent a status itself, or the copy was recalled) is dropped. A status
    package for an agency this node serves is delivered here, in the same transaction, as the delivery worker
    would (its claiming transaction completes local deliveries the same way); any other route gets a bus message
    (storage.exchange.statuses.StatusRows writes the batch).
    Returns the ids of the deliveries whose status was recorded.
    """
    now = utcnow()
    moved: set[str] = set()
    for code in sorted({job.code for job in jobs}):
        ids = [job.delivery_id for job in jobs if job.code == code]
        moved |= status_rows.take_owed(session, ids, code, now)
    batch = StatusBatch()
    for job in jobs:
        if job.delivery_id in moved:
            _add_status(gw, batch, job, actor, now)
            batch.pending.append(job.pending)
    gw.status_rows.insert(session, batch, now)
    return moved


def _add_status(gw: Gateway, batch: StatusBatch, job: _Job, actor: str, now: datetime) -> None:
    """The rows of one built status: its package, its delivery towards the document's sender (delivered at once
    when this node serves the sender, else a ``deliver`` message), the history entry and the log events."""
    assert job.blob is not None and job.summary is not None
    original, key = job.original, f"auto:{job.delivery_id}:{job.code}"
    sender = original.from_code
    batch.packages.append(_package_row(job, key, now))
    delivery_id, route = new_id(), gw.router.resolve(sender)
    delivery = {"id": delivery_id, "package_id": job.package_id, "to_code": sender, "route": route,
                "state": "pending", "attempts": 0, "delivered_at": None, "created_at": now, "updated_at": now}
    batch.entries.append(
        {"package_id": original.id, "agency_code": job.agency, "code": job.code,
         "description": job.summary["description"], "staff": None, "status_package_id": job.package_id,
         "created_at": now}
    )
    batch.events.append(log.event("status_submitted", package_id=job.package_id, document_id=original.document_id,
                                  agency=job.agency, actor=actor, to=[sender], status_code=job.code, automatic=True))
    batch.events.append(log.event("status", package_id=original.id, document_id=original.document_id,
                                  agency=job.agency, actor=actor, status_code=job.code,
                                  label=LABELS_VI.get(job.code), via_package=job.package_id))
    if route == LOCAL:
        delivery.update(state="delivered", attempts=1, delivered_at=now)
        batch.events.append(log.event("delivered", package_id=job.package_id, document_id=original.document_id,
                                      agency=sender, actor=actor, route=LOCAL, kind="status", status_code=job.code))
    else:
        batch.messages.append(("deliver", {"delivery_id": delivery_id}))
    batch.deliveries.append(delivery)


def _package_row(job: _Job, key: str, now: datetime) -> dict[str, Any]:
    assert job.blob is not None
    return {
        "id": job.package_id,
        "kind": "status",
        "document_id": job.original.document_id,
        "from_code": job.agency,
        "business_type": 0,
        "subject": None,
        "status_code": job.code,
        "response_for_id": job.original.id,
        "blob_sha256": job.blob.sha256,
        "size": job.blob.size,
        "request_sha256": hashlib.sha256(key.encode()).hexdigest(),
        "idempotency_key": key,
        "submitted_by": None,
        "channel": "auto",
        "summary": job.summary,
        "signature": {"incoming": {"code": "built", "problems": []}},
        "oddities": [],
        "created_at": now,
    }
