"""The worker's handlers, one per bus topic (ARCHITECTURE.md, "The worker").

The delivery worker (service/exchange/delivery.py) is a loop: claim a batch from the bus, group it by topic, hand
each group to the handler registered for that topic, and record each failure on the bus (retry on the schedule,
or dead-letter) together with the handler's own bookkeeping (``on_failure``). Groups run in the order of
:data:`HANDLERS`; a message whose topic has no handler is dead-lettered with an error that names the topic.

Adding a topic (the archive, a log checkpoint, a fixity audit) is one handler file and one line here:

1. ``service/exchange/handlers/<topic>.py`` with a class that has ``topic = "<topic>"`` (at most 32 characters,
   the ``outbox.topic`` column), ``handle(work, messages) -> list[Failure]`` and ``on_failure(session, failed,
   worker)`` (:class:`~service.exchange.handlers.base.Handler`). ``handle`` gets the batch of leased messages
   of its topic; it does the work and acknowledges each message with ``work.bus.ack([...], worker=work.worker,
   session=session)`` in the transaction that commits the effect, and answers a :class:`Failure` for each it
   could not complete (``permanent=True`` when a retry cannot help). It must be idempotent: a message can be
   handed out again after its effect committed, and must then find the effect and only acknowledge.
2. Append an instance to :data:`HANDLERS` below.
3. Publish messages of the topic with ``gw.bus.publish(session, "<topic>", payload)`` in the transaction that
   makes the work necessary.
"""

from __future__ import annotations

from service.exchange.handlers.archive import ArchiveHandler
from service.exchange.handlers.auto_status import AutoStatusHandler
from service.exchange.handlers.base import DeliveryError, Failure, Handler, Transport, Work
from service.exchange.handlers.deliver import DeliverHandler, deliver_local
from service.exchange.handlers.verify_attachment import VerifyAttachmentHandler

__all__ = ["HANDLERS", "DeliveryError", "Failure", "Handler", "Transport", "Work", "deliver_local"]

#: In the order a round runs them: the batched topics first, then the deliveries (each possibly a network call).
HANDLERS: tuple[Handler, ...] = (AutoStatusHandler(), VerifyAttachmentHandler(), DeliverHandler(), ArchiveHandler())
