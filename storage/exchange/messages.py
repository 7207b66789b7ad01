"""What the exchange reads and moves of the messages queued on the ``db://`` bus besides claiming them: the
payloads of the messages leased to a worker (a handler called without them), and the pending deliveries of a
package taken back to be queued again behind another message. Belongs with the outbox repository."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import DELIVERIES, OUTBOX

__all__ = ["leased_payloads", "take_deliver_messages"]

_O = OUTBOX.c
_LEASED = sa.select(_O.id, _O.payload).where(
    _O.id.in_(sa.bindparam("ids", expanding=True)), _O.locked_by == sa.bindparam("worker"), _O.done_at.is_(None)
).order_by(_O.id)


def leased_payloads(session: Session, message_ids: Sequence[int], worker: str) -> list[tuple[int, dict[str, Any]]]:
    """(id, payload) of those of ``message_ids`` still leased by ``worker`` and not done, by id."""
    if not message_ids:
        return []
    rows = session.execute(_LEASED, {"ids": list(message_ids), "worker": worker})
    return [(row.id, row.payload) for row in rows]


_D = DELIVERIES.c
_DELIVER_MESSAGES_OF = sa.select(_O.id, _O.topic, _O.payload).where(
    _O.done_at.is_(None),
    _O.topic == "deliver",
    _O.payload["delivery_id"].as_string().in_(sa.select(_D.id).where(_D.package_id == sa.bindparam("package_id"))),
).order_by(_O.id)


def take_deliver_messages(session: Session, package_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Remove the pending ``deliver`` messages of ``package_id``'s deliveries and answer them as (topic, payload),
    in their order, for the caller to publish again behind messages it queues first."""
    found = session.execute(_DELIVER_MESSAGES_OF, {"package_id": package_id}).all()
    if found:
        session.execute(sa.delete(OUTBOX).where(_O.id.in_([row.id for row in found])))
    return [(row.topic, row.payload) for row in found]
