"""The routing table: agency-code patterns → ``local`` or a named uplink (settings, plus rules set by the admin API).

Order (first match wins): the admin API's rules (table ``route_rule``, by position), then ``EDOC_ROUTES``, then
``EDOC_DEFAULT_ROUTE``. The admin API replaces its whole table at once (``PUT /api/v1/routes``) and swaps the
router of the process that served the call; other processes pick the table up when their uplink poller next
runs (:func:`refresh_router`), or at their next start. Targets are checked against the configured uplinks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from schemas.agency import AgencyCode
from service.exchange.errors import Invalid
from service.routing import LOCAL, Router
from service.settings import Settings
from storage.models import RouteRule, utcnow

__all__ = ["Rule", "load_router", "refresh_router", "replace_rules", "rules_of"]


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    target: str


def _db_rules(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    try:
        with sessions() as session:
            rows = session.execute(sa.select(RouteRule).order_by(RouteRule.position)).scalars().all()
            return [(r.pattern, r.target) for r in rows]
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return []  # not migrated yet (edoc db upgrade): the settings alone route


def load_router(settings: Settings, sessions: sessionmaker[Session]) -> Router:
    rules = [*_db_rules(sessions), *((r.pattern, r.target) for r in settings.routes)]
    return Router.from_table(rules, settings.default_route)


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
