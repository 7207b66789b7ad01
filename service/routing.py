"""Where a recipient's package goes: this node's local inboxes or a named uplink (another node, the national axis).

A routing table maps agency-code patterns (``*.H53``, ``000.00.00.G22``, ``*``) to a target; the first match in
declaration order wins, then the default. ``local`` is the only target until uplinks are configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.agency import AgencyCode

__all__ = ["LOCAL", "Route", "Router"]

LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Route:
    pattern: str
    target: str


@dataclass(frozen=True)
class Router:
    routes: tuple[Route, ...] = ()
    fallback: str = LOCAL

    @classmethod
    def local_only(cls) -> Router:
        return cls()

    @classmethod
    def from_table(cls, rules: Iterable[tuple[str, str]], fallback: str = LOCAL) -> Router:
        """A router from ``(pattern, target)`` pairs in priority order (settings, then the admin API's table)."""
        return cls(tuple(Route(pattern, target) for pattern, target in rules), fallback)

    def resolve(self, code: str) -> str:
        agency = AgencyCode.parse(code)
        for route in self.routes:
            if agency.matches(route.pattern):
                return route.target
        return self.fallback
