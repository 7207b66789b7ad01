"""VXP client systems in the database: their secrets (sealed), who they may act for, and replay protection.

* :class:`VxpSystems` looks a ``systemid`` up (``client_system.vxp_systemid``, active only), unseals its secret
  (service/exchange/directory.py) and builds the :class:`~service.exchange.directory.Caller`. The same bargain
  as the native API key cache (:class:`~service.exchange.directory.CallerCache`): a found system is kept, secret
  unsealed, for ``EDOC_AUTH_CACHE_SECONDS`` (0: never), so a deactivated system or a replaced secret is refused
  within that delay on every replica; an unknown ``systemid`` is never cached (a new system works at once); and
  any ORM write of a client system or of its agency links in *this* process clears the cache at once.
  Unsealing (HKDF + Fernet) and the lookup are thus paid once per system per ``ttl``, not per call.
* A system with the role ``node`` is a peer gateway or the national axis. It becomes a :class:`PeerCaller`,
  allowed to act for (send as ``From``, read the inbox of) exactly:
  - the agencies explicitly linked to it (``client_agency``: the agencies whose packages it collects from us by
    polling, as a provincial node collects from the axis), and
  - the agencies that *this* node routes to the uplink of the same name as the client system (the routing
    table is the one statement of "these agencies live over there"). A peer can therefore never send in the
    name of an agency this node serves itself, nor of one served through another uplink.
* :class:`DatabaseReplayGuard` is the :class:`~service.vxp.interfaces.ReplayGuard` shared by every process on the
  database: one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` into ``replay_nonce`` (unique key
  ``(systemid, signature)``), so two concurrent identical calls get one "new" and one "seen". It is every VXP
  call's only statement before the operation, so it runs alone (storage/vxp.py ``NonceStore``: on PostgreSQL in
  autocommit and without waiting for the WAL flush). Expired rows are purged at most every ``purge_seconds`` per
  process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, object_session

from schemas.errors import SchemaError
from service.exchange.directory import Caller, unseal_secret
from service.exchange.errors import Invalid
from service.routing import Router
from storage import vxp as store
from storage.models import ClientAgency, ClientSystem, utcnow

if TYPE_CHECKING:
    from service.context import Gateway

__all__ = ["DatabaseReplayGuard", "PeerCaller", "VxpSystems"]

# Bumped whenever a session of this process writes a client system or an agency link (and again when it commits),
# so every VxpSystems of the process forgets what it holds: a deactivation or a new secret made here is seen at once.
_generation = [0]


def _clients_written(*args: Any) -> None:
    _generation[0] += 1
    session = object_session(args[-1]) if args else None
    if session is not None:
        session.info["edoc_vxp_systems_written"] = True


def _after_commit(session: Session) -> None:
    if session.info.pop("edoc_vxp_systems_written", False):
        _generation[0] += 1


for _model in (ClientSystem, ClientAgency):
    for _event in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _event, _clients_written)
event.listen(Session, "after_commit", _after_commit)


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
    previous: str | None = None  # the secret a rotation replaced (service/exchange/clients.py), until …
    previous_until: datetime | None = None

    def secrets(self) -> str | tuple[str, ...]:
        if self.previous is None or self.previous_until is None or self.previous_until <= utcnow():
            return self.secret
        return (self.secret, self.previous)


class VxpSystems:
    """``systemid`` → secret and caller, from ``client_system`` (see the module docstring)."""

    def __init__(self, gw: Gateway, *, ttl: float | None = None) -> None:
        self._gw = gw
        self._ttl = gw.settings.auth_cache_seconds if ttl is None else ttl
        self._lock = threading.Lock()
        # Unknown ids are cached too (as None): a lookup then costs the same whether the id exists or not, so its
        # timing does not tell which ids exist (issue 17, item 7); a system added in this process is seen at once
        # (the generation), one added elsewhere within the cache's lifetime, as a revocation is.
        self._cache: dict[str, tuple[float, _Entry | None]] = {}
        self._generation = _generation[0]

    def secret(self, systemid: str) -> str | tuple[str, ...] | None:
        """The secret of ``systemid``; with the one a rotation replaced while its grace lasts."""
        entry = self._entry(systemid)
        return None if entry is None else entry.secrets()

    def caller(self, systemid: str) -> Caller:
        entry = self._entry(systemid)
        if entry is None:  # deactivated between authentication and use
            raise Invalid(f"unknown system id {systemid!r}", code="unknown_system")
        return entry.caller

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
            self._generation = _generation[0]

    def _entry(self, systemid: str) -> _Entry | None:
        now = time.monotonic()
        if self._generation != _generation[0]:
            self.forget()
        cached = self._cache.get(systemid)  # a dict read is atomic; writers hold the lock
        if cached is not None and cached[0] > now:
            return cached[1]
        generation = _generation[0]
        entry = self._load(systemid)
        if self._ttl > 0:
            with self._lock:
                if generation == _generation[0]:  # not read across a change made meanwhile
                    if len(self._cache) > 10_000:
                        self._cache.clear()
                    self._cache[systemid] = (now + self._ttl, entry)
        return entry

    def _load(self, systemid: str) -> _Entry | None:
        gw = self._gw
        with gw.sessions() as session:
            rows = store.system_rows(session, systemid)
        row = rows[0] if rows else None
        if row is None or not row.vxp_secret_sealed:
            return None
        sealing_key = gw.settings.secret_key.get_secret_value()
        secret = unseal_secret(sealing_key, row.vxp_secret_sealed)
        previous = row.vxp_previous_secret_sealed and unseal_secret(sealing_key, row.vxp_previous_secret_sealed)
        agencies = frozenset(r.agency_code for r in rows if r.agency_code is not None)
        if row.role == "node":
            caller: Caller = PeerCaller(row.id, row.name, row.role, agencies, route=row.name, router=lambda: gw.router)
        else:
            caller = Caller(row.id, row.name, row.role, agencies)
        return _Entry(secret, caller, previous or None, row.vxp_previous_secret_expires_at)


class DatabaseReplayGuard:
    """Replay guard on the ``replay_nonce`` table (atomic across processes; see the module docstring)."""

    def __init__(self, engine: Engine, *, purge_seconds: float = 60.0) -> None:
        self._nonces = store.NonceStore.for_engine(engine)
        self._purge_seconds = purge_seconds
        self._next_purge = time.monotonic() + purge_seconds
        self._lock = threading.Lock()

    def seen_before(self, systemid: str, signature: str, expires_at: datetime) -> bool:
        inserted = self._nonces.insert(systemid[:100], signature[:128], expires_at)
        if self._due():
            self._nonces.purge(utcnow())
        return not inserted

    def _due(self) -> bool:
        now = time.monotonic()
        if now < self._next_purge:
            return False
        with self._lock:
            if now < self._next_purge:
                return False  # another thread just took it
            self._next_purge = now + self._purge_seconds
            return True
