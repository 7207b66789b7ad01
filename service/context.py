"""The gateway's wiring: database, object store, node key and router, built once from settings.

Use cases receive this object (or its parts) as an argument; nothing reads settings at import time (STYLE.md 7).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.bus import Bus
from service.bus import from_url as bus_from_url
from service.exchange.directory import AgencyCache, CallerCache
from service.routing import Router
from service.settings import Settings
from signing.keys import KeyMaterial, load_pkcs12
from storage import objects
from storage.blobs import Blobs
from storage.db import create_engine, session_factory, writer_session_factory
from storage.exchange.checks import Checks
from storage.exchange.inbox import Acks
from storage.exchange.statuses import StatusRows
from storage.exchange.submissions import Submissions
from storage.interfaces import ObjectStore

__all__ = ["Gateway"]


@dataclass
class Gateway:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writes: sessionmaker[Session]
    store: ObjectStore
    router: Router
    wakeup: threading.Event = field(default_factory=threading.Event)
    callers: CallerCache = field(default_factory=lambda: CallerCache(0))
    agencies: AgencyCache = field(default_factory=lambda: AgencyCache(0))
    #: Builds the delivery transports of the VXP uplinks from this gateway (injected by service/wiring.py, so
    #: that this module and the exchange core never import the VXP layer); none by default.
    uplinks: Callable[[Gateway], dict[str, Any]] = field(default=lambda gw: {})

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        router: Callable[[sessionmaker[Session]], Router],
        uplinks: Callable[[Gateway], dict[str, Any]],
    ) -> Gateway:
        """The wiring for ``settings``, with the router (built from the session factory) and the uplink
        transports given by the caller: ``service.wiring.build_gateway`` hands in the VXP ones."""
        settings.check_production()
        engine = create_engine(settings.resolved_database_url())
        sessions = session_factory(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            writes=writer_session_factory(engine),
            store=objects.from_url(settings.resolved_storage_url()),
            router=router(sessions),
            callers=CallerCache(settings.auth_cache_seconds),
            agencies=AgencyCache(settings.directory_cache_seconds),
            uplinks=uplinks,
        )

    @cached_property
    def blobs(self) -> Blobs:
        """Every blob the exchange writes or reads: small ones in the database, the rest in ``store``
        (storage/blobs.py)."""
        return Blobs(self.store, self.engine, self.settings.inline_blob_max_bytes)

    @cached_property
    def archive_stores(self) -> tuple[ObjectStore, ...]:
        """The object stores of the archive copies (``EDOC_ARCHIVE_URLS``, in order; none when not set)."""
        return tuple(objects.from_url(url) for url in self.settings.archive_urls)

    @cached_property
    def submissions(self) -> Submissions:
        """Records accepted packages, one statement on PostgreSQL (storage/exchange/submissions.py)."""
        return Submissions(self.engine, self.writes, self.blobs)

    @cached_property
    def status_rows(self) -> StatusRows:
        """Writes batches of status packages, one statement on PostgreSQL (storage/exchange/statuses.py)."""
        return StatusRows(self.engine, self.blobs)

    @cached_property
    def checks(self) -> Checks:
        """Finishes batches of attachment checks, one statement on PostgreSQL (storage/exchange/checks.py)."""
        return Checks(self.engine, self.writes, self.blobs)

    @cached_property
    def acks(self) -> Acks:
        """The transport acknowledgement's writes, one statement on PostgreSQL (storage/exchange/inbox.py)."""
        return Acks(self.engine, self.writes)

    @cached_property
    def archive_copies(self) -> tuple[ObjectStore, ...]:
        """Where the archive writes its copies: :attr:`archive_stores`, or when none is set (development only:
        production requires two) one copy on the file store ``<data dir>/archive``, which cannot enforce a
        retention."""
        if self.archive_stores:
            return self.archive_stores
        return (objects.from_url((self.settings.data_dir / "archive").resolve().as_uri()),)

    @cached_property
    def bus(self) -> Bus:
        """The bus ``EDOC_BUS_URL`` names (service/bus/): ``db://``, the outbox table of this database, or
        ``amqp://``, RabbitMQ fed from that table."""
        return bus_from_url(
            self.settings.bus_url, engine=self.engine, writes=self.writes,
            retry_schedule=self.settings.retry_schedule, lease_seconds=self.settings.worker_lease_seconds,
            prefetch=self.settings.amqp_prefetch, delivery_limit=self.settings.amqp_delivery_limit,
        )

    @cached_property
    def uplink_transports(self) -> dict[str, Any]:
        """The delivery transport of each configured VXP uplink, by route name (service/vxp/uplink.py)."""
        return self.uplinks(self)

    @cached_property
    def node_key(self) -> KeyMaterial:
        """The key this node signs outgoing packages with (a generated demo key outside production)."""
        password = self.settings.node_key_password
        pw = password.get_secret_value().encode() if password else None
        if self.settings.node_key_file is not None:
            return load_pkcs12(self.settings.node_key_file, pw)
        return _demo_node_key(self.settings.data_dir / "keys" / "node-demo.p12", self.settings.node_id)

    def close(self) -> None:
        bus = self.__dict__.get("bus")  # only if built; a broker bus settles and disconnects
        if bus is not None and hasattr(bus, "close"):
            bus.close()
        self.engine.dispose()


_demo_lock = threading.Lock()


def _demo_node_key(path: Path, node_id: str) -> KeyMaterial:
    from signing.demo import create_demo_pkcs12

    with _demo_lock:
        if path.exists():
            return load_pkcs12(path, None)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        create_demo_pkcs12(path, common_name=f"edoc-gateway node {node_id}", organization="edoc-gateway", password=None)
        return load_pkcs12(path, None)
