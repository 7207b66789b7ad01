"""What a log line knows about the request it belongs to: request id, W3C trace context, agency, document id.

The middleware (:mod:`service.observability.middleware`) opens one :class:`RequestContext` per HTTP request and
keeps it in a context variable; code that learns more (the caller's agencies once the API key is checked, a
document id) calls :func:`bind`, which fills in the same object. Binding mutates the object rather than setting
the variable, so what a route learns in the thread pool (FastAPI runs plain ``def`` code there with a *copy* of the
context) still reaches the request's last log line.

Trace context is W3C Trace Context level 1 (https://www.w3.org/TR/trace-context/): ``traceparent`` is
``00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>``. An incoming header is accepted only in that form
(version 00, lower-case hex, neither id all zeros); anything else is replaced by a fresh trace, as the
specification asks of a receiver that cannot parse it. Outgoing calls (the VXP uplink client) carry the request's
trace id with a new parent id, or start a trace of their own when no request is in progress (the delivery worker,
the uplink pollers).

Leaf module: imports nothing from :mod:`service`, so any layer may call it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

__all__ = [
    "RequestContext",
    "TraceParent",
    "bind",
    "continued",
    "current",
    "current_traceparent",
    "new_request_id",
    "outgoing_traceparent",
    "parse_traceparent",
    "reset",
    "start",
]

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True, slots=True)
class TraceParent:
    trace_id: str
    parent_id: str
    flags: str = "01"

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.parent_id}-{self.flags}"


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The trace context of a ``traceparent`` header, or None when absent or malformed."""
    match = _TRACEPARENT.match(value.strip()) if value else None
    if match is None:
        return None
    trace_id, parent_id, flags = match.groups()
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return TraceParent(trace_id, parent_id, flags)


def _hex(bits: int) -> str:
    """A random id, never all zeros (W3C: invalid). Ids name a request, they are not secrets: the fast generator
    is enough (a few tenths of a microsecond against a microsecond for ``secrets``, on every request)."""
    return f"{random.getrandbits(bits) or 1:0{bits // 4}x}"


def _new_trace() -> TraceParent:
    return TraceParent(_hex(128), _hex(64))


def new_request_id(offered: str | None = None) -> str:
    """The caller's ``X-Request-ID`` when it is short and plain (it ends up in log lines), else a new one."""
    if offered and _REQUEST_ID.match(offered):
        return offered
    return _hex(64)


@dataclass(slots=True)
class RequestContext:
    """One request's identity in the logs; the ``span_id`` is this gateway's hop (the parent of its calls)."""

    request_id: str
    trace_id: str
    span_id: str
    flags: str = "01"
    agency: str | None = None
    client: str | None = None
    document_id: str | None = None

    def outgoing(self) -> TraceParent:
        return TraceParent(self.trace_id, _hex(64), self.flags)


_current: ContextVar[RequestContext | None] = ContextVar("edoc_request_context", default=None)


def start(
    traceparent: str | None, request_id: str | None = None
) -> tuple[RequestContext, Token[RequestContext | None]]:
    """Open the context of a request: the caller's trace when its header is valid, else a fresh one."""
    parent = parse_traceparent(traceparent) or _new_trace()
    ctx = RequestContext(new_request_id(request_id), parent.trace_id, _hex(64), parent.flags)
    return ctx, _current.set(ctx)


def reset(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def current() -> RequestContext | None:
    return _current.get()


def bind(*, agency: str | None = None, client: str | None = None, document_id: str | None = None) -> None:
    """Record what is known about the request in progress (no-op outside a request)."""
    ctx = _current.get()
    if ctx is None:
        return
    if agency is not None:
        ctx.agency = agency
    if client is not None:
        ctx.client = client
    if document_id is not None:
        ctx.document_id = document_id


def current_traceparent() -> str | None:
    """The ``traceparent`` naming the request in progress as the parent (its own hop), None outside a request: what
    the outbox keeps for work done later on the request's behalf (an uplink delivery), see :func:`continued`."""
    ctx = _current.get()
    return None if ctx is None else TraceParent(ctx.trace_id, ctx.span_id, ctx.flags).header()


@contextmanager
def continued(traceparent: str | None) -> Iterator[RequestContext]:
    """The context of work done later for a request (the delivery worker's uplink push of a submitted document):
    the request's trace, a hop of its own; a fresh trace when ``traceparent`` is None or malformed."""
    ctx, token = start(traceparent)
    try:
        yield ctx
    finally:
        reset(token)


def outgoing_traceparent() -> str:
    """The ``traceparent`` header of an outgoing call: the current trace with a new parent id, or a new trace."""
    ctx = _current.get()
    return (ctx.outgoing() if ctx is not None else _new_trace()).header()
