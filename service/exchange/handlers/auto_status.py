"""Topic ``auto_status``: the statuses a transport ack implies (01 đã đến, QĐ 28/2018), sent as the recipient
agency, as one batch per round (service/exchange/auto_status.py does the work)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from service.bus.interfaces import Failed, Message
from service.exchange.auto_status import send_automatic_statuses
from service.exchange.handlers.base import Failure, Work

__all__ = ["AutoStatusHandler"]

logger = logging.getLogger("edoc.delivery")


class AutoStatusHandler:
    topic = "auto_status"

    def handle(self, work: Work, messages: Sequence[Message]) -> list[Failure]:
        ids = [m.id for m in messages]
        try:
            failures = send_automatic_statuses(
                work.gw, ids, worker=work.worker, payloads={m.id: dict(m.payload) for m in messages}
            )
        except Exception as exc:  # the batch's transaction failed: every message is retried on the schedule
            logger.exception("automatic statuses failed")
            return [Failure(i, f"{exc.__class__.__name__}: {exc}") for i in ids]
        return [Failure(i, error) for i, error in failures]

    def on_failure(self, session: Session, failed: Failed, worker: str) -> None:
        """Nothing of its own to record: the delivery keeps its transport ack whatever the status does."""
