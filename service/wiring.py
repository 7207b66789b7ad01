"""Builds the gateway's wiring object (:class:`service.context.Gateway`) from settings, the one place that does.

The exchange core (``service/exchange/``) and the wiring object it receives know nothing of VXP; this module is
where the VXP layer's pieces are handed in: the router (route rules in the database, ``service/vxp/routes.py``)
and the delivery transports of the configured uplinks (``service/vxp/uplink.py``). Keeping that here, above both
layers, is what lets imports flow one way (issue 19, item 2; ``tests/unit/service/test_import_graph.py``).
The app factory (``service/app.py``), the CLI and the worker process call :func:`build_gateway`.
"""

from __future__ import annotations

from service.context import Gateway
from service.settings import Settings
from service.vxp.routes import load_router
from service.vxp.uplink import uplink_transports

__all__ = ["build_gateway"]


def build_gateway(settings: Settings) -> Gateway:
    """The node's wiring for ``settings``, with the VXP router and uplink transports injected."""
    return Gateway.from_settings(
        settings, router=lambda sessions: load_router(settings, sessions), uplinks=uplink_transports
    )
