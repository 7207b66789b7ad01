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
  database: one prebuilt ``INSERT … ON CONFLICT DO NOTHING RETURNING`` into ``replay_nonce`` (unique key
  ``(systemid, signature)``), so two concurrent identical calls get one "new" and one "seen". It is every VXP
  call's only statement before the operation, so it runs alone: on PostgreSQL in autocommit (one round trip, no
  BEGIN/COMMIT) and without waiting for the WAL flush (see ``_INSERT_WITHOUT_WAITING_FOR_THE_WAL``), without a
  session or ORM. Expired rows are purged at most every ``purge_seconds`` per process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, object_session

from schemas.errors import SchemaError
from service.exchange.directory import Caller, unseal_secret
from service.exchange.errors import Invalid
from service.routing import Router
from storage.db import run_on_driver
from storage.models import ClientAgency, ClientSystem, ReplayNonce, utcnow

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


# One row per agency link (none: one row with a NULL code); plain columns, no ORM objects.
_SYSTEM = (
    sa.select(
        ClientSystem.id,
        ClientSystem.name,
        ClientSystem.role,
        ClientSystem.vxp_secret_sealed,
        ClientSystem.vxp_previous_secret_sealed,
        ClientSystem.vxp_previous_secret_expires_at,
        ClientAgency.agency_code,
    )
    .outerjoin(ClientAgency, ClientAgency.client_id == ClientSystem.id)
    .where(ClientSystem.vxp_systemid == sa.bindparam("systemid"), ClientSystem.active.is_(True))
)


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
            rows = session.execute(_SYSTEM, {"systemid": systemid}).all()
        if not rows or not rows[0].vxp_secret_sealed:
            return None
        row = rows[0]
        sealing_key = gw.settings.secret_key.get_secret_value()
        secret = unseal_secret(sealing_key, row.vxp_secret_sealed)
        previous = row.vxp_previous_secret_sealed and unseal_secret(sealing_key, row.vxp_previous_secret_sealed)
        agencies = frozenset(r.agency_code for r in rows if r.agency_code is not None)
        if row.role == "node":
            caller: Caller = PeerCaller(row.id, row.name, row.role, agencies, route=row.name, router=lambda: gw.router)
        else:
            caller = Caller(row.id, row.name, row.role, agencies)
        return _Entry(secret, caller, previous or None, row.vxp_previous_secret_expires_at)


_NONCES = cast(sa.Table, ReplayNonce.__table__)


# PostgreSQL: the nonce's INSERT is its own transaction (autocommit) and does not wait for its WAL record to reach
# the disk (``synchronous_commit`` off for this transaction only, set by the statement itself). Every VXP call makes
# one, and waiting for the flush was the largest part of a call's authentication time. The price: if the database
# server itself crashes, the nonces of the last fraction of a second (wal_writer_delay, 200 ms by default) may be
# lost, and a call captured then could be replayed once within its timestamp window. Whatever such a replay could
# repeat is idempotent anyway: a package is accepted once per DocumentId and sender, an ack or a status once per
# delivery, and the reads give nothing the captured answer did not. The operations' own writes stay synchronous.
_INSERT_WITHOUT_WAITING_FOR_THE_WAL = """
    WITH no_wait AS (SELECT set_config('synchronous_commit', 'off', true))
    INSERT INTO replay_nonce (systemid, signature, expires_at)
    SELECT %(systemid)s, %(signature)s, %(expires_at)s FROM no_wait
    ON CONFLICT DO NOTHING
    RETURNING systemid
"""  # run by the driver itself (psycopg's placeholders): storage.db.run_on_driver


class DatabaseReplayGuard:
    """Replay guard on the ``replay_nonce`` table (atomic across processes; see the module docstring)."""

    def __init__(self, engine: Engine, *, purge_seconds: float = 60.0) -> None:
        self._insert: Any = None
        self._postgresql = engine.dialect.name == "postgresql"
        self._pool_engine = engine
        if self._postgresql:  # the INSERT goes through the driver (run_on_driver); the purge through this
            self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        else:  # SQLite: a write transaction taken up front, as every writer of the node does (storage/db.py)
            self._engine = engine.execution_options(sqlite_begin="IMMEDIATE")
            # rowcount is not reliable for ON CONFLICT DO NOTHING (psycopg answers -1): RETURNING says it.
            self._insert = sqlite.insert(_NONCES).on_conflict_do_nothing().returning(_NONCES.c.systemid)
        self._purge = sa.delete(_NONCES).where(_NONCES.c.expires_at < sa.bindparam("now"))
        self._purge_seconds = purge_seconds
        self._next_purge = time.monotonic() + purge_seconds
        self._lock = threading.Lock()

    def seen_before(self, systemid: str, signature: str, expires_at: datetime) -> bool:
        params = {"systemid": systemid[:100], "signature": signature[:128], "expires_at": expires_at}
        if self._postgresql:  # one statement every VXP call makes: through the driver (storage/db.py)
            inserted = bool(run_on_driver(self._pool_engine, _INSERT_WITHOUT_WAITING_FOR_THE_WAL, params))
        else:
            with self._engine.begin() as conn:
                inserted = conn.execute(self._insert, params).first() is not None
        if self._due():
            with self._engine.begin() as conn:
                conn.execute(self._purge, {"now": utcnow()})
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
