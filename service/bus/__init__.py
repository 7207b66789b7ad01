"""The bus port and its backends, chosen by ``EDOC_BUS_URL`` through an alias table (STYLE.md 1–2).

``BACKENDS`` maps a URL scheme to ``"module:Class"``; the class builds itself with ``from_url(url, **wiring)``
and satisfies :class:`service.bus.interfaces.Bus`. Only the named backend's module is imported, so a broker client
(``amqp://`` RabbitMQ through aio-pika) is needed only where it is used. To add a backend: one module beside
``db.py``, one line here, and a subclass of the contract in tests/contract/test_bus.py.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from service.bus.interfaces import Bus, Claimed, Failed, Message

__all__ = ["BACKENDS", "Bus", "Claimed", "Failed", "Message", "UnknownBus", "check_url", "from_url"]

BACKENDS: dict[str, str] = {"db": "service.bus.db:DatabaseBus", "amqp": "service.bus.amqp:AmqpBus"}


class UnknownBus(ValueError):
    """``EDOC_BUS_URL`` names no known backend (a ValueError, so that settings validation reports it)."""


def check_url(url: str) -> str:
    """``url`` if its scheme is a known backend's; else :class:`UnknownBus`, one line naming the known ones."""
    scheme = urlsplit(url).scheme
    if scheme not in BACKENDS:
        known = ", ".join(f"{name}://" for name in BACKENDS)
        raise UnknownBus(f"unknown bus URL scheme {scheme!r}; known: {known}")  # the URL may hold a password
    return url


def from_url(url: str, **wiring: Any) -> Bus:
    """Build the bus a URL names; ``wiring`` is what the backend needs from the node (``db://``: ``engine``,
    ``writes``, ``retry_schedule``, ``lease_seconds``; ``amqp://`` also ``prefetch``, ``delivery_limit``); a
    backend ignores the options it does not use."""
    module, _, name = BACKENDS[urlsplit(check_url(url)).scheme].partition(":")
    bus: Bus = getattr(import_module(module), name).from_url(url, **wiring)
    return bus
