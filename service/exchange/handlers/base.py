"""What a worker handler is (service/exchange/handlers/__init__.py explains how to add one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from service.bus.interfaces import Bus, Failed, Message
from storage.models import Delivery

if TYPE_CHECKING:  # the wiring object; handlers receive it, they do not build it
    from service.context import Gateway

__all__ = ["DeliveryError", "Failure", "Handler", "Transport", "Work"]


class DeliveryError(Exception):
    """A hop failed; the message is retried on the schedule, unless ``permanent`` (a refusal that a retry cannot
    change, e.g. the remote node answered that the package is invalid there): then it is dead at once."""

    def __init__(self, *args: object, permanent: bool = False) -> None:
        super().__init__(*args)
        self.permanent = permanent


# A transport delivers one delivery row over one route; returns an optional remote id.
Transport = Callable[[Session, Delivery], str | None]


@dataclass(frozen=True, slots=True)
class Failure:
    """A message a handler could not complete: retried on the bus's schedule, or dead at once if ``permanent``."""

    message_id: int
    error: str
    permanent: bool = False


@dataclass(frozen=True, slots=True)
class Work:
    """What a handler works with: the node's wiring, the bus its messages came from, the claiming worker's name
    (leases and acks are per worker; log events name it) and the delivery transports by route."""

    gw: Gateway
    bus: Bus
    worker: str
    transports: Mapping[str, Transport]


class Handler(Protocol):
    """Completes the messages of one topic. Idempotent: a message handed out again (a lease that expired after
    the effect committed, a broker's redelivery) finds its effect already there and is only acknowledged."""

    topic: str

    def handle(self, work: Work, messages: Sequence[Message]) -> list[Failure]:
        """Do the work of these leased messages, acknowledging each (``work.bus.ack``, in the transaction of its
        effect where the bus allows); answer those that failed."""
        ...

    def on_failure(self, session: Session, failed: Failed, worker: str) -> None:
        """Record a failed attempt on the handler's own rows, in the transaction where the bus recorded it."""
        ...
