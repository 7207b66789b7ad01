"""The FastAPI application factory: ``create_app(settings)`` (STYLE.md 7); nothing is read at import time."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api import admin, edocs
from service.context import Gateway
from service.errors import install_error_handlers
from service.settings import Settings
from service.vxp import http as vxp_http

__all__ = ["create_app"]

DESCRIPTION = """Exchange official electronic documents between Vietnamese state agencies (edXML, QCVN 102:2016;
QĐ 28/2018/QĐ-TTg). Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 problem+json with a
stable `code`."""


def create_app(settings: Settings | None = None, *, gateway: Gateway | None = None) -> FastAPI:
    gw = gateway or Gateway.from_settings(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        pollers: list[threading.Thread] = []
        if gw.settings.embedded_worker:
            from service.exchange.delivery import DeliveryWorker

            thread = threading.Thread(
                target=DeliveryWorker(gw).run_forever, args=(stop,), name="edoc-delivery", daemon=True
            )
            thread.start()
            from service.vxp.uplink import start_pollers

            pollers = start_pollers(gw, stop)
        try:
            yield
        finally:
            stop.set()
            gw.wakeup.set()
            if thread is not None:
                thread.join(timeout=10)
            for poller in pollers:
                poller.join(timeout=10)

    app = FastAPI(title="edoc-gateway", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.gateway = gw
    install_error_handlers(app)
    app.include_router(edocs.router)
    app.include_router(admin.router)
    app.include_router(admin.health)
    from service.api import signatures  # PDF verify/sign API and the clerks' /verify page (issue 3)

    app.include_router(signatures.router)
    app.include_router(signatures.page)
    app.include_router(vxp_http.router)
    return app
