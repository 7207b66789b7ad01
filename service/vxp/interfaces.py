"""Ports of :mod:`service.vxp`: what the authenticator needs from the rest of the node."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["ReplayGuard"]


@runtime_checkable
class ReplayGuard(Protocol):
    """Remembers the signatures of accepted calls until they expire, so a captured call cannot be replayed.

    Implementations: :class:`service.vxp.replay.InMemoryReplayGuard` (tests, one process); a database-backed
    one (a unique key on ``(systemid, signature)`` with an expiry column) for several replicas.
    """

    def seen_before(self, systemid: str, signature: str, expires_at: datetime) -> bool:
        """Atomically record ``(systemid, signature)`` until ``expires_at``; say whether it was already there.

        Atomic across every process sharing the guard: two concurrent calls with the same pair get one
        ``False`` and one ``True``.
        """
        ...
