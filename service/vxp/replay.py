"""In-memory :class:`~service.vxp.interfaces.ReplayGuard`: for tests and single-process deployments only.

It forgets everything on restart and is not shared between replicas; production uses a database-backed guard.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["InMemoryReplayGuard"]


class InMemoryReplayGuard:
    """Signatures kept until their expiry, purged lazily (oldest first) on each call; thread-safe."""

    def __init__(self, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[tuple[str, str], datetime] = {}
        self._heap: list[tuple[datetime, tuple[str, str]]] = []

    def seen_before(self, systemid: str, signature: str, expires_at: datetime) -> bool:
        key = (systemid, signature)
        with self._lock:
            self._purge(self._clock())
            if key in self._expiry:
                return True
            self._expiry[key] = expires_at
            heapq.heappush(self._heap, (expires_at, key))
            return False

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._expiry)

    def _purge(self, now: datetime) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires_at, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]
