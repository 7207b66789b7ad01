"""VXP client systems in the database: their secrets (sealed), who they may act for, and replay protection.

* :class:`VxpSystems` looks a ``systemid`` up (``client_system.vxp_systemid``, active only), unseals its secret
  (service/exchange/directory.py) and builds the :class:`~service.exchange.directory.Caller`. Entries are cached
  for ``ttl`` seconds, so a deactivated system is refused within that delay.
* A system with the role ``node`` is a peer gateway or the national axis. It becomes a :class:`PeerCaller`,
  allowed to act for (send as ``From``, read the inbox of) exactly:
  - the agencies explicitly linked to it (``client_agency``: the agencies whose packages it collects from us by
    polling, as a provincial node collects from the axis), and
  - the agencies that *this* node routes to the uplink of the same name as the client system (the routing
    table is the one statement of "these agencies live over there"). A peer can therefore never send in the
    name of an agency this node serves itself, nor of one served through another uplink.
* :class:`DatabaseReplayGuard` is the :class:`~service.vxp.interfaces.ReplayGuard` shared by every process on the
  database: an insert into ``replay_nonce`` that does nothing on conflict, so two concurrent identical calls get
  one "new" and one "seen". Expired rows are purged every ``purge_every`` calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from schemas.errors import SchemaError
from service.exchange.directory import Caller, unseal_secret
from service.exchange.errors import Invalid
from service.routing import Router
from storage.models import ClientSystem, ReplayNonce, utcnow

if TYPE_CHECKING:
    from service.context import Gateway

__all__ = ["DatabaseReplayGuard", "PeerCaller", "VxpSystems"]


@dataclass(frozen=True, slots=True)
class PeerCaller(Caller):
    """A peer node (role ``node``): see the module docstring for what it may act for."""

    route: str = ""
    router: Callable[[], Router] = field(default=Router.local_only, compare=False, repr=False)

    def may_act_for(self, code: str) -> bool:
        if code in self.agencies:
            return True
        if not self.route:
            return False
        try:
            return self.router().resolve(code) == self.route
        except SchemaError:
            return False


@dataclass(frozen=True, slots=True)
class _Entry:
    secret: str
    caller: Caller


class VxpSystems:
    """``systemid`` → secret and caller, from ``client_system`` (see the module docstring)."""

    def __init__(self, gw: Gateway, *, ttl: float = 2.0) -> None:
        self._gw = gw
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, _Entry | None]] = {}

    def secret(self, systemid: str) -> str | None:
        entry = self._entry(systemid)
        return None if entry is None else entry.secret

    def caller(self, systemid: str) -> Caller:
        entry = self._entry(systemid)
        if entry is None:  # deactivated between authentication and use
            raise Invalid(f"unknown system id {systemid!r}", code="unknown_system")
        return entry.caller

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def _entry(self, systemid: str) -> _Entry | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(systemid)
        if cached is not None and cached[0] > now:
            return cached[1]
        entry = self._load(systemid)
        with self._lock:
            self._cache[systemid] = (now + self._ttl, entry)
        return entry

    def _load(self, systemid: str) -> _Entry | None:
        gw = self._gw
        with gw.sessions() as session:
            row = session.execute(
                sa.select(ClientSystem).where(ClientSystem.vxp_systemid == systemid, ClientSystem.active.is_(True))
            ).scalar_one_or_none()
            if row is None or not row.vxp_secret_sealed:
                return None
            secret = unseal_secret(gw.settings.secret_key.get_secret_value(), row.vxp_secret_sealed)
            agencies = frozenset(row.agency_codes)
            if row.role == "node":
                caller: Caller = PeerCaller(
                    row.id, row.name, row.role, agencies, route=row.name, router=lambda: gw.router
                )
            else:
                caller = Caller(row.id, row.name, row.role, agencies)
        return _Entry(secret, caller)


class DatabaseReplayGuard:
    """Replay guard on the ``replay_nonce`` table (atomic across processes; see the module docstring)."""

    def __init__(self, writes: sessionmaker[Session], dialect: str, *, purge_every: int = 500) -> None:
        self._writes = writes
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._purge_every = purge_every
        self._count = 0
        self._lock = threading.Lock()

    def seen_before(self, systemid: str, signature: str, expires_at: datetime) -> bool:
        stmt = (
            self._insert(ReplayNonce)
            .values(systemid=systemid[:100], signature=signature[:128], expires_at=expires_at)
            .on_conflict_do_nothing()
            .returning(ReplayNonce.systemid)  # rowcount is not reliable here (psycopg answers -1)
        )
        with self._writes() as session, session.begin():
            inserted = session.execute(stmt).first() is not None
            if self._due():
                session.execute(sa.delete(ReplayNonce).where(ReplayNonce.expires_at < utcnow()))
        return not inserted

    def _due(self) -> bool:
        with self._lock:
            self._count += 1
            return self._count % self._purge_every == 0
