"""Topic ``verify_attachment``: the PDF signatures of a received attachment, verified after the submit answered
(ETSI EN 319 102-1 report kept with the attachment), as one batch per round (service/signatures.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from service.bus.interfaces import Failed, Message
from service.exchange.handlers.base import Failure, Work
from service.signatures import verify_attachment_messages

__all__ = ["VerifyAttachmentHandler"]

logger = logging.getLogger("edoc.delivery")


class VerifyAttachmentHandler:
    topic = "verify_attachment"

    def handle(self, work: Work, messages: Sequence[Message]) -> list[Failure]:
        ids = [m.id for m in messages]
        try:
            failures = verify_attachment_messages(
                work.gw, ids, worker=work.worker, payloads={m.id: dict(m.payload) for m in messages}
            )
        except Exception as exc:  # storage or network trouble: retried on the schedule, then buried
            logger.exception("verifying attachments (messages %s) failed", ids)
            return [Failure(i, f"{exc.__class__.__name__}: {exc}") for i in ids]
        return [Failure(i, error) for i, error in failures]

    def on_failure(self, session: Session, failed: Failed, worker: str) -> None:
        """Nothing of its own to record: an attachment not yet verified simply has no report."""
