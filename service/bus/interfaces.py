"""The bus port (STYLE.md 1): how work travels from the transaction that decides it to the worker that does it.

A message is published *inside* the transaction that makes it necessary (the submit, an ack that owes an automatic
status), claimed by a worker for a lease, then acknowledged, retried on a finite schedule or dead-lettered after
the last attempt (ARCHITECTURE.md, "The exchange", step 3). Delivery is at least once: a claimer that dies loses
its lease and the message is claimed again, so handlers are idempotent (a redelivered message finds its effect
already there). Every backend publishes the same way: outbox rows inserted in the caller's transaction
(storage/exchange/outbox.py ``insert_messages``). ``db://`` claims that table directly and also joins the caller's
transaction for ``ack``, ``retry`` and ``dead_letter``, which makes the effect and the acknowledgement commit
together; a broker backend's relay drains the table to the broker after commit, and the broker's consumers rely on
the handlers' idempotence (docs/architecture.md, "The bus and the outbox").

Backends are chosen by ``EDOC_BUS_URL`` through :data:`service.bus.BACKENDS`; each passes the contract in
tests/contract/test_bus.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session

__all__ = ["BrokerUnavailable", "Bus", "Claimed", "Failed", "Message"]


@dataclass(frozen=True, slots=True)
class Message:
    """One unit of work: ``topic`` picks its handler (service/exchange/handlers/), ``payload`` is JSON."""

    id: int
    topic: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Claimed:
    """What one claim answered: the messages leased to the claimer (in publication order), and how many the
    backend completed during the claim without handing them out (``db://``: local deliveries, see
    service/bus/db.py); 0 for a backend without such a shortcut."""

    messages: tuple[Message, ...]
    settled: int = 0

    def __len__(self) -> int:
        return len(self.messages) + self.settled


@dataclass(frozen=True, slots=True)
class Failed:
    """A failed attempt as recorded: ``dead`` once the schedule is exhausted or the failure was permanent (the
    message is then never handed out again), else it comes back after the schedule's next delay."""

    message: Message
    attempts: int
    dead: bool
    error: str


class BrokerUnavailable(RuntimeError):
    """A broker bus cannot reach its broker (``/readyz`` names it ``broker``; the API still accepts work: the
    outbox keeps it until the broker is back)."""

    code = "broker_unavailable"


@runtime_checkable
class Bus(Protocol):
    """Publish, claim, ack, retry, dead-letter (see the module docstring)."""

    url: str
    #: Set by the delivery worker: called with each failed attempt the backend records by itself (a broker's
    #: delivery limit), in the transaction that records it, so the topic's handler does its bookkeeping as for a
    #: failure it reported (a dead delivery row, its log event). Never called by ``db://``, which has no such case.
    on_own_failure: Callable[[Session, Failed], None] | None

    def publish(self, session: Session, topic: str, payload: Mapping[str, Any]) -> None:
        """Queue a message as part of ``session``'s transaction: it exists if and only if that commits."""
        ...

    def publish_many(self, session: Session, messages: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Queue ``(topic, payload)`` messages in this order as part of ``session``'s transaction (one round trip
        where the backend can: a submit to 50 recipients publishes 50 messages)."""
        ...

    def claim(self, limit: int, *, worker: str) -> Claimed:
        """Lease up to ``limit`` ready messages to ``worker``; a message is leased to one claimer at a time."""
        ...

    def ack(self, ids: Sequence[int], *, worker: str, session: Session | None = None) -> set[int]:
        """Complete the messages still leased by ``worker`` (one another worker took over is left to it) and
        answer their ids; with ``session``, as part of its transaction where the backend can."""
        ...

    def retry(self, session: Session, message_id: int, error: str) -> Failed | None:
        """Record a failed attempt: the message comes back after the schedule's next delay, or is dead-lettered
        after the last attempt; None if the message is gone."""
        ...

    def dead_letter(self, session: Session, message_id: int, error: str) -> Failed | None:
        """Record a failure no retry can cure: the message is dead at once; None if the message is gone."""
        ...
