"""Per-client-address token buckets for what anyone can call without a credential (the ``/verify`` page, VXP
calls that fail authentication), so one address cannot take the gateway's CPU or fill its log for everyone.

In memory, per process: an HTTP process with ``--workers N`` lets each address N times the rate, which is still a
bound. Addresses are the ones the ASGI server reports (``scope["client"]``): behind a reverse proxy, start uvicorn
with ``--proxy-headers``/``forwarded_allow_ips`` so that they are the clients' and not the proxy's. An IPv6 client
is counted by its /64 (one host usually holds a whole /64). The table is bounded: past ``max_clients`` addresses
the least recently seen are forgotten, so a spray of addresses costs memory up to that bound only.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["RateLimiter", "client_key"]


def client_key(address: str | None) -> str:
    """The key an address is counted under: itself (IPv4), its /64 (IPv6), ``"?"`` when unknown."""
    if not address:
        return "?"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class RateLimiter:
    """``per_minute`` events per address on average, at most ``burst`` at once; ``per_minute <= 0`` disables it."""

    def __init__(
        self,
        per_minute: float,
        *,
        burst: float | None = None,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst if burst is not None else max(1.0, per_minute))
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self._burst, now))
        return min(self._burst, tokens + (now - at) * self._rate)

    def allow(self, address: str | None, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens for ``address`` if it has them (True), else take nothing (False)."""
        if not self.enabled:
            return True
        key, now = client_key(address), self._clock()
        with self._lock:
            tokens = self._tokens(key, now)
            allowed = tokens >= cost
            self._store(key, (tokens - cost if allowed else tokens, now))
            return allowed

    def exhausted(self, address: str | None) -> bool:
        """Whether ``address`` has less than one token left (nothing is taken)."""
        if not self.enabled:
            return False
        key, now = client_key(address), self._clock()
        with self._lock:
            return key in self._buckets and self._tokens(key, now) < 1.0

    def retry_after(self, address: str | None) -> int:
        """Whole seconds until ``address`` has one token again (at least 1)."""
        if not self.enabled:
            return 1
        key, now = client_key(address), self._clock()
        with self._lock:
            missing = max(0.0, 1.0 - self._tokens(key, now))
        return max(1, int(missing / self._rate + 0.999))

    def _store(self, key: str, value: tuple[float, float]) -> None:
        self._buckets[key] = value
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
