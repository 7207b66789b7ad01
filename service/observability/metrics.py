"""Prometheus metrics of one gateway process, served at ``GET /metrics`` (text exposition format).

What is measured
    * ``edoc_http_requests_total{method, route, status}`` and ``edoc_http_request_duration_seconds{method, route}``:
      per route *template* (``/api/v1/edocs/{edoc_id}``), never the raw path, so the label set is bounded by the
      routes the application declares; a path no route matches counts as ``route="<unmatched>"``.
    * ``edoc_deliveries{state}``, ``edoc_dead_letters``, ``edoc_outbox_pending``, ``edoc_outbox_ready``,
      ``edoc_outbox_retrying`` and ``edoc_outbox_oldest_pending_seconds`` (the outbox lag): read from the database
      at scrape time by :class:`ExchangeCollector` through :func:`storage.gauges.read_exchange_gauges`, at most once
      per ``EDOC_METRICS_CACHE_SECONDS`` per process (a scrape in between gets the last reading), so no caller can
      make the database compute without bound; they are the database's numbers, the same on every replica.
    * ``process_*`` (memory, CPU, open files) and ``python_gc_*`` / ``python_info``: prometheus-client's collectors.

Who may scrape
    A request from an address in ``EDOC_METRICS_ALLOW`` (addresses or networks; loopback by default), or with the
    API key of a client system of role ``admin``. Anyone else is refused before anything is computed: 401 without a
    key, 403 with another role's key. ``EDOC_METRICS_ENABLED=false`` removes the route.

Processes
    Each process keeps its own registry: the HTTP counters and histograms are per process, so with ``edoc serve
    --workers N`` or several replicas, scrape every process (each its own target) and sum in PromQL; the
    database-derived gauges are the same whichever process answers. A registry per application (not
    prometheus-client's global one) keeps two apps in one process, as the tests make, apart.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from starlette.responses import Response

from service.api.deps import get_caller, get_gateway
from service.context import Gateway
from service.exchange.errors import Forbidden
from storage.gauges import ExchangeGauges, read_exchange_gauges

__all__ = [
    "ExchangeCollector",
    "HttpMetrics",
    "Networks",
    "build_registry",
    "install_metrics",
    "parse_networks",
    "router",
]

#: Latency buckets (seconds) for an API whose acks take about a millisecond and whose submits of large packages
#: and PDF verifications take seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


class HttpMetrics:
    """The per-route request counter and latency histogram of one application."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "edoc_http_requests", "HTTP requests answered, by route template and status",
            ("method", "route", "status"), registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "edoc_http_request_duration_seconds", "Time from the request's arrival to the end of its answer",
            ("method", "route"), buckets=BUCKETS, registry=registry,
        )  # fmt: skip

        # the labelled children, kept: ``labels()`` costs more than the increment and observation together
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class ExchangeCollector(Collector):
    """The exchange's state, read from the database when scraped, at most once per ``min_interval`` seconds."""

    def __init__(self, read: Callable[[], ExchangeGauges], min_interval: float) -> None:
        self._read = read
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self._last: tuple[float, ExchangeGauges] | None = None

    @classmethod
    def for_engine(cls, engine: Engine, min_interval: float) -> ExchangeCollector:
        return cls(lambda: read_exchange_gauges(engine), min_interval)

    def gauges(self) -> ExchangeGauges:
        with self._lock:  # concurrent scrapes wait for one reading instead of each running the queries
            now = time.monotonic()
            if self._last is None or now - self._last[0] >= self._min_interval:
                self._last = (now, self._read())
            return self._last[1]

    def collect(self) -> Iterator[Metric]:
        g = self.gauges()
        deliveries = GaugeMetricFamily("edoc_deliveries", "Deliveries (one per recipient) by state", labels=["state"])
        for state, count in sorted(g.deliveries.items()):
            deliveries.add_metric([state], count)
        yield deliveries
        yield GaugeMetricFamily("edoc_dead_letters", "Deliveries dead after the retry schedule", value=g.dead_letters)
        yield GaugeMetricFamily("edoc_outbox_pending", "Outbox messages not yet completed", value=g.outbox_pending)
        yield GaugeMetricFamily("edoc_outbox_ready", "Pending outbox messages due now", value=g.outbox_ready)
        yield GaugeMetricFamily(
            "edoc_outbox_retrying", "Pending outbox messages that failed at least once", value=g.outbox_retrying
        )
        yield GaugeMetricFamily(
            "edoc_outbox_oldest_pending_seconds", "Age of the oldest pending outbox message (the outbox lag)",
            value=g.outbox_oldest_age_seconds,
        )  # fmt: skip

    def describe(self) -> Iterator[Metric]:
        return iter(())  # registering must not query the database


def build_registry(engine: Engine, *, cache_seconds: float) -> tuple[CollectorRegistry, HttpMetrics]:
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(ExchangeCollector.for_engine(engine, cache_seconds))
    return registry, HttpMetrics(registry)


def parse_networks(entries: Sequence[str]) -> Networks:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _allowed(request: Request, networks: Networks) -> bool:
    host = request.client.host if request.client is not None else None
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


_bearer = HTTPBearer(auto_error=False, description="API key of a client system of role admin")


async def _may_scrape(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Allowed addresses pass; anyone else needs an admin key, checked before anything is computed."""
    if _allowed(request, request.app.state.metrics_allow):
        return
    caller = await get_caller(await get_gateway(request), credentials)
    if caller.role != "admin":
        raise Forbidden("metrics need the role admin or an allowed address", code="wrong_role")


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    dependencies=[Depends(_may_scrape)],
    response_class=Response,
    summary="Prometheus metrics of this process (admin key or an address in EDOC_METRICS_ALLOW)",
)
def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI, gw: Gateway) -> HttpMetrics:
    """Give ``app`` its registry and the allow-list of ``/metrics``; returns the HTTP metrics for the middleware."""
    settings = gw.settings
    registry, http = build_registry(gw.engine, cache_seconds=settings.metrics_cache_seconds)
    app.state.metrics_registry = registry
    app.state.metrics_allow = parse_networks(settings.metrics_allow)
    return http
