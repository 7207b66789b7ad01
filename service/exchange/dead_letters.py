"""Dead letters one can act on (issue 22 item 2): list the messages the bus gave up on, requeue one.

The same for every bus: each records a death on its outbox row (``dead_at``, the last error, the attempts;
storage/exchange/outbox.py), whether the worker gave up after the last retry or a permanent refusal, or the
broker's delivery limit killed it (service/bus/amqp.py). A requeue makes the message due again with a fresh
retry schedule (a dead delivery pending again); ``db://`` claims it again, ``amqp://``'s relay publishes it
again. The handlers' idempotence makes the requeued message take effect exactly once. Used by
``GET /api/v1/admin/dead-letters``, ``POST /api/v1/admin/dead-letters/{id}/requeue`` and ``edoc dead-letters``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.exchange import log
from service.exchange.errors import NotFound
from storage.exchange import outbox

__all__ = ["DeadLetterPage", "list_dead_letters", "requeue_dead_letter"]


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def list_dead_letters(session: Session, *, offset: int = 0, limit: int = 50) -> DeadLetterPage:
    """The dead messages, the latest death first, as JSON-ready dicts."""
    rows = outbox.dead_letters(session, offset=offset, limit=limit)
    items = [
        {"id": r.id, "topic": r.topic, "payload": dict(r.payload), "attempts": r.attempts,
         "last_error": r.last_error, "created_at": r.created_at.isoformat(), "dead_at": r.dead_at.isoformat()}
        for r in rows
    ]
    return DeadLetterPage(items, outbox.count_dead_letters(session), offset, limit)


def requeue_dead_letter(session: Session, message_id: int, *, actor: str) -> dict[str, Any]:
    """Make dead message ``message_id`` due again, in ``session``'s transaction, with a ``requeued`` event;
    :class:`NotFound` (``dead_letter_not_found``) if no dead message has that id."""
    message = outbox.requeue(session, message_id)
    if message is None:
        raise NotFound(f"no dead letter with id {message_id}", code="dead_letter_not_found")
    log.record(session, "requeued", actor=actor, message_id=message.id, topic=message.topic)
    return {"id": message.id, "topic": message.topic, "state": "requeued"}
