"""The ASGI guard in front of every route: what a caller may make the gateway hold before anything else runs.

An attack run against the gateway (issue 17) found that, without any credential, a caller could make it hold a
whole oversized body (chunked bodies have no Content-Length to refuse up front, and Starlette's multipart parser
spools everything to a temporary file before the route sees the size), send headers of megabytes, keep a
request open by sending its body slowly, crash JSON parsing with deep nesting, and put NUL characters into
values that PostgreSQL refuses with an error of its own. The guard answers all of these itself, the same way for
every route, before authentication and routing:

* request line and headers over ``max_header_bytes``, or more than ``max_header_count`` headers: **431**
  (``edoc serve`` also stops reading them at the server: :mod:`service.edge.server`);
* a NUL character in the path or the query: **400** ``nul_character``;
* a body over the route's limit (:meth:`EdgeLimits.body_limit`), declared or counted as it streams: **413**,
  without reading further;
* a body that pauses longer than ``body_idle_timeout_seconds`` or lasts longer than ``body_timeout_seconds``:
  **408**;
* a JSON body nesting deeper than ``max_json_depth``: **400** ``json_too_deep``;
* ``POST /verify`` more often than ``verify_rate_per_minute`` per address, or any VXP call from an address whose
  refused calls passed ``vxp_refusals_per_minute``: **429** with ``Retry-After``.

Answers are problem+json (RFC 9457, service/errors.py), or the VXP FAIL envelope under ``/vxp/`` (the SDK reads
the body of every answer), with ``Connection: close`` when the body was not read to its end. Once the guard has
answered, the route is told the client went away (``http.disconnect``) and whatever it sends is dropped.
Requests without a body pass with the header checks only (a few microseconds).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.edge.jsondepth import NUL_ESCAPE, TOO_DEEP, DepthScanner
from service.edge.ratelimit import RateLimiter

__all__ = ["DRAIN_BYTES", "EdgeGuard", "EdgeLimits", "Refusal", "unread_body_is_large"]

#: Routes whose body is a package (the native submit, multipart included, and every VXP operation).
PACKAGE_PATHS = ("/api/v1/edocs",)
#: Routes whose body is a PDF (with multipart framing and, for signing, two images of at most 2 MiB).
PDF_PATHS = ("/verify", "/api/v1/verify", "/api/v1/sign")
#: Routes whose body is not JSON when it comes without a Content-Type (FastAPI reads an untyped body as JSON).
RAW_BODY_PATHS = PACKAGE_PATHS + PDF_PATHS
MULTIPART_SLACK = 1024 * 1024
SIGN_SLACK = 5 * 1024 * 1024
#: A body up to this size, unread when a request is refused, is read and dropped by the server after the answer.
DRAIN_BYTES = 64 * 1024
#: The VXP codes of the guard's refusals where the facade already had one (service/vxp/README.md).
_VXP_CODES = {"body_too_large": "VXP-413-TOO-LARGE"}


@dataclass(frozen=True)
class EdgeLimits:
    """The guard's limits, from settings (service/settings.py; docs/security.md lists them)."""

    package_bytes: int
    pdf_bytes: int
    other_bytes: int
    header_bytes: int
    header_count: int
    body_idle_seconds: float
    body_total_seconds: float
    json_depth: int
    verify_limiter: RateLimiter = field(compare=False)
    vxp_refusals: RateLimiter = field(compare=False)

    @classmethod
    def from_settings(cls, settings: Any) -> EdgeLimits:
        return cls(
            package_bytes=settings.max_package_bytes,
            pdf_bytes=settings.verify_max_bytes,
            other_bytes=settings.max_body_bytes,
            header_bytes=settings.max_header_bytes,
            header_count=settings.max_header_count,
            body_idle_seconds=settings.body_idle_timeout_seconds,
            body_total_seconds=settings.body_timeout_seconds,
            json_depth=settings.max_json_depth,
            verify_limiter=RateLimiter(
                settings.verify_rate_per_minute, burst=max(5.0, settings.verify_rate_per_minute / 3)
            ),
            vxp_refusals=RateLimiter(settings.vxp_refusals_per_minute),
        )

    def body_limit(self, path: str) -> int:
        if path.startswith("/vxp/"):
            return self.package_bytes
        if path in PACKAGE_PATHS:
            return self.package_bytes + MULTIPART_SLACK
        if path in PDF_PATHS:
            return self.pdf_bytes + SIGN_SLACK
        return self.other_bytes


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    title: str
    detail: str
    retry_after: int | None = None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _is_json(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    value = headers.get(b"content-type")
    media = "" if value is None else value.split(b";", 1)[0].strip().lower().decode("latin-1")
    if not media:
        return scope["path"] not in RAW_BODY_PATHS and not scope["path"].startswith("/vxp/")
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


class EdgeGuard:
    """Pure ASGI middleware (``app.add_middleware(EdgeGuard, limits=...)``); see the module docstring."""

    def __init__(self, app: ASGIApp, limits: EdgeLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        refusal = self._check_head(scope)
        length = headers.get(b"content-length")
        chunked = b"transfer-encoding" in headers
        if refusal is not None:
            await _answer(scope, send, refusal, close=unread_body_is_large(scope))
            return
        if not chunked and (length is None or length == b"0"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.body_limit(scope["path"])
        if length is not None and length.isdigit() and int(length) > limit:
            await _answer(scope, send, _too_large(limit), close=True)
            return
        scanner = DepthScanner(self.limits.json_depth) if _is_json(scope, headers) else None
        watch = _BodyWatch(self.limits, limit, scanner)
        await watch.run(self.app, scope, receive, send)

    def _check_head(self, scope: Scope) -> Refusal | None:
        headers = scope["headers"]
        limits = self.limits
        if len(headers) > limits.header_count:
            return Refusal(431, "too_many_headers", "Request header fields too large",
                           f"more than {limits.header_count} request headers")
        size = len(scope.get("raw_path") or b"") + len(scope["query_string"]) + 4 * len(headers)
        size += sum(map(len, chain.from_iterable(headers)))
        if size > limits.header_bytes:
            return Refusal(431, "headers_too_large", "Request header fields too large",
                           f"the request line and headers exceed {limits.header_bytes} bytes")
        if "\x00" in scope["path"] or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            return Refusal(400, "nul_character", "Invalid request", "the path or query contains a NUL character")
        return self._check_rate(scope)

    def _check_rate(self, scope: Scope) -> Refusal | None:
        path = scope["path"]
        if path.startswith("/vxp/"):
            limiter = self.limits.vxp_refusals
            if limiter.exhausted(_client(scope)):
                return Refusal(429, "too_many_refusals", "Too many requests",
                               "too many refused calls from this address; try again later",
                               retry_after=limiter.retry_after(_client(scope)))
        elif path == "/verify" and scope["method"] == "POST":
            limiter = self.limits.verify_limiter
            if not limiter.allow(_client(scope)):
                return Refusal(429, "too_many_requests", "Too many requests",
                               "too many verifications from this address; try again later",
                               retry_after=limiter.retry_after(_client(scope)))
        return None


def unread_body_is_large(scope: Scope) -> bool:
    """Whether a request answered without reading its body should have its connection closed (``Connection:
    close``): a body of unknown (chunked) or large size; the server would read it to its end to reach the next
    request. A small one is left to the server, which reads and drops it after the answer, so that a client still
    writing its body gets the answer rather than a reset connection."""
    if _header(scope, b"transfer-encoding") is not None:
        return True
    length = _header(scope, b"content-length")
    return length is not None and (not length.isdigit() or int(length) > DRAIN_BYTES)


def _too_large(limit: int) -> Refusal:
    return Refusal(413, "body_too_large", "Request body too large", f"the request body exceeds {limit} bytes")


class _BodyWatch:
    """One request's body, watched as it streams in (size, pace, JSON nesting); see the module docstring."""

    def __init__(self, limits: EdgeLimits, limit: int, scanner: DepthScanner | None) -> None:
        self.limits = limits
        self.limit = limit
        self.scanner = scanner
        self.size = 0
        self.complete = False
        self.answered = False
        self.started = False
        self.deadline = time.monotonic() + limits.body_total_seconds

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        async def guarded_receive() -> Message:
            if self.complete:
                return await receive()
            if self.answered:
                return {"type": "http.disconnect"}
            return await self._next(scope, receive, send)

        async def guarded_send(message: Message) -> None:
            if self.answered:
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await app(scope, guarded_receive, guarded_send)
        except Exception:
            if not self.answered:
                raise

    async def _next(self, scope: Scope, receive: Receive, send: Send) -> Message:
        wait = min(self.limits.body_idle_seconds, self.deadline - time.monotonic())
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                message = await receive()
        except TimeoutError:
            return await self._refuse(scope, send, Refusal(
                408, "body_timeout", "Request timeout", "the request body did not arrive in time"))
        if message["type"] != "http.request":
            return message
        chunk = message.get("body", b"")
        self.size += len(chunk)
        if self.size > self.limit:
            return await self._refuse(scope, send, _too_large(self.limit))
        problem = self.scanner.feed(chunk) if self.scanner is not None else None
        if problem == TOO_DEEP:
            return await self._refuse(scope, send, Refusal(
                400, TOO_DEEP, "Invalid request", f"the JSON body nests deeper than {self.limits.json_depth} levels"))
        if problem == NUL_ESCAPE:
            return await self._refuse(scope, send, Refusal(
                400, NUL_ESCAPE, "Invalid request", "a string of the JSON body contains a NUL character (\\u0000)"))
        if not message.get("more_body", False):
            self.complete = True
        return message

    async def _refuse(self, scope: Scope, send: Send, refusal: Refusal) -> Message:
        if not self.started:
            await _answer(scope, send, refusal, close=True)
        self.answered = True
        return {"type": "http.disconnect"}


async def _answer(scope: Scope, send: Send, refusal: Refusal, *, close: bool) -> None:
    from service.errors import problem, vxp_problem

    if scope["path"].startswith("/vxp/"):
        code = _VXP_CODES.get(refusal.code) or f"VXP-{refusal.status}-{refusal.code.upper().replace('_', '-')}"
        response = vxp_problem(refusal.status, code, refusal.detail)
    else:
        response = problem(refusal.status, refusal.title, refusal.code, refusal.detail)
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(refusal.retry_after)
    if close:
        response.headers["Connection"] = "close"

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)
