"""The routing table: agency-code patterns → ``local`` or a named uplink (settings, plus rules set by the admin API).

Order (first match wins): the admin API's rules (table ``route_rule``, by position), then ``EDOC_ROUTES``, then
``EDOC_DEFAULT_ROUTE``. The admin API replaces its whole table at once (``PUT /api/v1/routes``) and swaps the
router of the process that served the call; every other process re-reads the table when it next routes, at most
every :data:`RELOAD_SECONDS` (:class:`LiveRouter`): API replicas run no uplink poller, and a poller backs off
while its remote is away, so neither can be what spreads a change. Targets are checked against the configured
uplinks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from schemas.agency import AgencyCode
from service.exchange.errors import Invalid
from service.routing import LOCAL, Route, Router
from service.settings import Settings
from storage.models import RouteRule, utcnow

__all__ = ["RELOAD_SECONDS", "LiveRouter", "Rule", "load_router", "refresh_router", "replace_rules", "rules_of"]

logger = logging.getLogger("edoc.routes")


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    target: str


#: How long a process routes by the admin rules it last read before reading them again.
RELOAD_SECONDS = 2.0


def _read_rules(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(sa.select(RouteRule).order_by(RouteRule.position)).scalars().all()
        return [(r.pattern, r.target) for r in rows]


def _db_rules(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    try:
        return _read_rules(sessions)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return []  # not migrated yet (edoc db upgrade): the settings alone route


class LiveRouter(Router):
    """A :class:`Router` over the admin rules as last read, then the settings; re-read when older than ``ttl``.

    The table is swapped whole (one attribute assignment), so a concurrent ``resolve`` sees the old or the new
    table, never a mix. If the database cannot be read, the rules last read stay in force until the next try.
    """

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *, ttl: float = RELOAD_SECONDS) -> None:
        object.__setattr__(self, "_settings", settings)
        object.__setattr__(self, "_sessions", sessions)
        object.__setattr__(self, "_ttl", ttl)
        object.__setattr__(self, "_lock", threading.Lock())
        self._install(_db_rules(sessions))

    def resolve(self, code: str) -> str:
        if time.monotonic() >= self._expires:
            self.reload()
        return super().resolve(code)

    def reload(self) -> None:
        with self._lock:
            if time.monotonic() < self._expires:
                return  # another thread just did
            try:
                rules = _read_rules(self._sessions)
            except sa.exc.SQLAlchemyError:
                logger.warning("routing rules not re-read (database unavailable); keeping the last ones")
                object.__setattr__(self, "_expires", time.monotonic() + self._ttl)
                return
            self._install(rules)

    def _install(self, rules: list[tuple[str, str]]) -> None:
        settings: Settings = self._settings
        table = [*rules, *((r.pattern, r.target) for r in settings.routes)]
        object.__setattr__(self, "routes", tuple(Route(p, t) for p, t in table))
        object.__setattr__(self, "fallback", settings.default_route)
        object.__setattr__(self, "_expires", time.monotonic() + self._ttl)

    _settings: Settings
    _sessions: sessionmaker[Session]
    _ttl: float
    _lock: threading.Lock
    _expires: float


def load_router(settings: Settings, sessions: sessionmaker[Session]) -> Router:
    return LiveRouter(settings, sessions)


def refresh_router(gw: object) -> None:
    """Reload the admin API's rules into ``gw.router`` (a new immutable Router replaces the old one)."""
    gw.router = load_router(gw.settings, gw.sessions)  # type: ignore[attr-defined]


def rules_of(sessions: sessionmaker[Session]) -> list[Rule]:
    return [Rule(p, t) for p, t in _db_rules(sessions)]


def _check(rule: Rule, settings: Settings) -> Rule:
    pattern = rule.pattern.strip()
    if not pattern or len(pattern) > 32 or any(c not in "0123456789.*?[]!ABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in pattern):
        raise Invalid(f"not an agency-code pattern: {rule.pattern!r} (e.g. *.H53, 000.00.00.G22, *)", code="bad_route")
    if "*" not in pattern and "?" not in pattern and "[" not in pattern:
        pattern = str(AgencyCode.parse(pattern))
    if rule.target != LOCAL and rule.target not in settings.uplinks:
        known = ", ".join([LOCAL, *settings.uplinks])
        raise Invalid(f"route target {rule.target!r} is not one of: {known}", code="bad_route")
    return Rule(pattern, rule.target)


def replace_rules(gw: object, rules: Sequence[Rule]) -> list[Rule]:
    """Replace the admin API's table with ``rules`` (checked) and swap this process's router."""
    settings: Settings = gw.settings  # type: ignore[attr-defined]
    checked = [_check(r, settings) for r in rules]
    with gw.writes() as session, session.begin():  # type: ignore[attr-defined]
        session.execute(sa.delete(RouteRule))
        for position, rule in enumerate(checked):
            session.add(RouteRule(position=position, pattern=rule.pattern, target=rule.target, updated_at=utcnow()))
    refresh_router(gw)
    return checked
