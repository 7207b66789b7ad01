"""Topic ``archive``: build and write the AIP of a completed exchange (service/archive/archiving.py); the worker's
sweep publishes one message per document."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from service.archive.archiving import archive
from service.archive.errors import ArchiveError
from service.bus.interfaces import Failed, Message
from service.exchange.handlers.base import Failure, Work

__all__ = ["ArchiveHandler"]

logger = logging.getLogger("edoc.archive")


class ArchiveHandler:
    topic = "archive"

    def handle(self, work: Work, messages: Sequence[Message]) -> list[Failure]:
        failures = []
        for message in messages:
            def ack(session: Session, message_id: int = message.id) -> None:
                work.bus.ack([message_id], worker=work.worker, session=session)

            try:
                archive(work.gw, str(message.payload["aip"]), ack=ack)
            except ArchiveError as exc:
                permanent = exc.code == "aip_not_found"
                logger.error("archive %s failed: %s", message.payload, exc)
                failures.append(Failure(message.id, f"{exc.code}: {exc}", permanent=permanent))
            except Exception as exc:  # a store down, a database error: retried on the schedule
                logger.exception("archive %s failed", message.payload)
                failures.append(Failure(message.id, f"{exc.__class__.__name__}: {exc}"))
        return failures

    def on_failure(self, session: Session, failed: Failed, worker: str) -> None:
        """Nothing of its own: the AIP stays ``pending`` until a retry writes it."""
