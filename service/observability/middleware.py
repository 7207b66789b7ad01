"""The outermost ASGI layer: request identity for the logs, W3C trace context, per-route metrics, the access line.

Per HTTP request it opens a :class:`~service.observability.context.RequestContext` (``X-Request-ID`` when the
caller sent a plain one, else a new id, answered in ``X-Request-ID``; the ``traceparent`` trace when valid, else a
fresh trace), and when the answer is done it records the request in the route's counter and histogram and writes
one access line on the ``edoc.access`` logger: method, route template, status, milliseconds, and the request's
identity. The route is the template FastAPI matched (``scope["route"].path``), never the raw path: the raw path
and its query string can carry identifiers and, from a careless client, credentials.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability import context
from service.observability.metrics import HttpMetrics

__all__ = ["UNMATCHED", "ObservabilityMiddleware", "route_of"]

UNMATCHED = "<unmatched>"
#: Path parameters that name a document or package; the access line carries them as ``document_id``.
DOCUMENT_PARAMS = ("edoc_id", "document_id", "doc_id", "package_id")

access_log = logging.getLogger("edoc.access")


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, *, http: HttpMetrics | None = None) -> None:
        self.app = app
        self.http = http

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx, token = context.start(_header(scope, b"traceparent"), _header(scope, b"x-request-id"))
        status = 500  # what the server answers if the application raises before starting its answer
        request_id = ctx.request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._finish(scope, ctx, status, time.perf_counter() - started)
            context.reset(token)

    def _finish(self, scope: Scope, ctx: context.RequestContext, status: int, seconds: float) -> None:
        route, method = route_of(scope), scope.get("method", "")
        if self.http is not None:
            self.http.observe(method, route, status, seconds)
        params = scope.get("path_params") or {}
        document = next((str(params[p]) for p in DOCUMENT_PARAMS if p in params), None)
        if document is not None:
            ctx.document_id = document[:100]
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %d %.1f ms", method, route, status, seconds * 1000,
                extra={"route": route, "status": status, "duration_ms": round(seconds * 1000, 3)},
            )  # fmt: skip
