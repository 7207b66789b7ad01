"""The HTTP/1.1 protocol ``edoc serve`` runs: uvicorn's httptools protocol with a bound on request heads.

uvicorn bounds neither the size nor the number of request headers with httptools (llhttp has no limit), nor the
time a client takes to send them: 1 MB and 8 MB heads and 100,000 headers were accepted (issue 17), each held in
memory before the application could refuse it. Its h11 protocol has ``h11_max_incomplete_event_size`` but answers
400, and parses in Python. This subclass counts the bytes received while a request's head is incomplete and
answers **431** (RFC 6585) once they pass ``EDOC_MAX_HEADER_BYTES`` or the headers pass ``EDOC_MAX_HEADER_COUNT``,
and **408** when a head is not complete ``EDOC_HEADER_TIMEOUT_SECONDS`` after its connection opened or its first
byte arrived; then it closes the connection. At most one read (uvicorn reads 64 KiB at a time) is held beyond the
limit. The ASGI guard (:mod:`service.edge.guard`) checks the same limits again for servers started otherwise
(``uvicorn service.asgi:app``), where it can answer but not stop the reading.

Select it with ``uvicorn.run(..., http=PROTOCOL)``. The limits come from the environment (``Settings()``), read
once per process, as ``service.asgi`` reads its settings.
"""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["PROTOCOL", "HeadLimits", "LimitedHttpToolsProtocol", "head_limits"]

PROTOCOL = "service.edge.server:LimitedHttpToolsProtocol"


class HeadLimits:
    __slots__ = ("max_bytes", "max_count", "timeout")

    def __init__(self, max_bytes: int, max_count: int, timeout: float) -> None:
        self.max_bytes, self.max_count, self.timeout = max_bytes, max_count, timeout


@cache
def head_limits() -> HeadLimits:
    from service.settings import Settings

    settings = Settings()
    return HeadLimits(settings.max_header_bytes, settings.max_header_count, settings.header_timeout_seconds)


def _raw_problem(status: int, reason: str, code: str, detail: str) -> bytes:
    body = json.dumps({"type": f"https://edoc-gateway.dev/problems/{code}", "title": reason, "status": status,
                       "code": code, "detail": detail}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that refuses oversized or slow request heads (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = head_limits()
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
            self._arm_head_timer()
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        if self._head_bytes > self._limits.max_bytes:
            self._refuse(431, "Request Header Fields Too Large", "headers_too_large",
                         f"the request line and headers exceed {self._limits.max_bytes} bytes")
        elif self.headers is not None and len(self.headers) > self._limits.max_count:
            self._refuse(431, "Request Header Fields Too Large", "too_many_headers",
                         f"more than {self._limits.max_count} request headers")

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # the next request on this connection; its timer starts with its first byte
        self._head_bytes = 0

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self._limits.timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response is still being made; uvicorn's keep-alive timeout takes over after it
        if self._head_bytes == 0:
            self.transport.close()  # nothing sent at all: no answer owed
            return
        self._refuse(408, "Request Timeout", "header_timeout", "the request headers did not arrive in time")

    def _refuse(self, status: int, reason: str, code: str, detail: str) -> None:
        self._in_head = False
        self._cancel_head_timer()
        self.logger.warning("refused a request head from %s: %s", self.client, code)
        self.transport.write(_raw_problem(status, reason, code, detail))
        self.transport.close()
