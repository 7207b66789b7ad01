"""Test kit for the VXP tests: a clock, an independent signer written from STANDARDS §8, a tiny ASGI server.

The server is a real (if minimal) ASGI application that authenticates every call with ``VxpAuthenticator`` and
answers VXP envelopes, so the client and the authenticator prove each other through httpx's ASGI transport.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from service.vxp.auth import VxpAuthenticator
from service.vxp.errors import VxpAuthError, VxpError
from service.vxp.protocol import OPERATIONS, fail_envelope, ok_envelope
from service.vxp.replay import InMemoryReplayGuard

SENDER, SENDER_SECRET = "vxp.saas.02", "bí-mật-02"
RECEIVER, RECEIVER_SECRET = "vxp.saas.07", "secret-07"
SECRETS = {SENDER: SENDER_SECRET, RECEIVER: RECEIVER_SECRET}
START = datetime(2025, 3, 14, 2, 30, 0, tzinfo=UTC)  # 09:30 in Hà Nội


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def vn_timestamp(moment: datetime) -> str:
    """§8 timestamp written independently of service.vxp: Hà Nội wall time, 4-digit milliseconds."""
    local = moment.astimezone(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


def sign(values: dict[str, str], secret: str, *, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a call signed from §8 alone, as an ASGI server would hand them over (Latin-1 decoded)."""
    sign_header = json.dumps({f"XroadVnpt-{k}": v for k, v in values.items()}, ensure_ascii=False,
                             separators=(",", ":"))
    digest = hmac.new(secret.encode(), sign_header.encode(), hashlib.sha256).hexdigest()
    wire = {f"XroadVnpt-{k}": v for k, v in values.items() if k != "Content-Type"}
    if "Content-Type" in values:
        wire["Content-Type"] = wire["XroadVnpt-Content-Type"] = values["Content-Type"]
    wire |= {"XroadVnpt-sign-header-key": ";".join(values), "XroadVnpt-sign-header": sign_header,
             "XroadVnpt-hash-header": digest, "XroadVnpt-version": "3.0.201608"}
    wire |= extra or {}
    return {k: v.encode("utf-8").decode("latin-1") for k, v in wire.items()}


@dataclass
class TinyVxpServer:
    """An in-memory VXP node: enough of every operation to exercise the client."""

    clock: Clock
    authenticator: VxpAuthenticator = field(init=False)
    packages: dict[str, bytes] = field(default_factory=dict)
    inbox: list[dict[str, str]] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    agencies: list[dict[str, Any]] = field(default_factory=list)
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.authenticator = VxpAuthenticator(lookup_secret=SECRETS.get, clock=self.clock,
                                              replay_guard=InMemoryReplayGuard(clock=self.clock))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        self.seen_headers.append(dict(pairs))
        status, payload = self.handle(scope["method"], scope["path"].rsplit("/", 1)[-1], pairs, body)
        data = json.dumps(payload, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8")]})
        await send({"type": "http.response.body", "body": data})

    def handle(self, method: str, name: str, pairs: list[tuple[str, str]], body: bytes) -> tuple[int, dict]:
        op = OPERATIONS.get(name)
        if op is None or method not in op.accepted_methods:
            return 404, fail_envelope("VXP-404-NO-OPERATION", f"no operation {method} {name}")
        try:
            call = self.authenticator.authenticate(pairs, body if op.body == "edxml" else None,
                                                   required=op.required)
            return 200, getattr(self, "op_" + name)(call.systemid, call.headers, call.payload, body)
        except VxpError as exc:
            return (401 if isinstance(exc, VxpAuthError) else 400), fail_envelope(exc.code, exc.message, name)

    def op_sendEdoc(self, systemid: str, h: dict, payload: bytes, body: bytes) -> dict:
        doc_id = f"doc-{len(self.packages) + 1}"
        self.packages[doc_id] = payload
        self.inbox.append({"docId": doc_id, "serviceType": h["servicetype"], "messageType": h["messagetype"],
                           "from": h["from"], "to": h["to"], "status": "initial", "status_desc": "Chờ nhận",
                           "created_time": "2025-03-14 09:30:00", "updated_time": "2025-03-14 09:30:00"})
        return ok_envelope(DocId=doc_id)

    def op_getReceivedEdocList(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        unread = [r for r in self.inbox if r["docId"] not in self.statuses]
        rows = [r for r in unread if r["messageType"] == h["messagetype"]]
        return ok_envelope(data=rows)

    def op_getEdoc(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        if h["docId"] not in self.packages:
            return fail_envelope("VXP-404-NO-DOCUMENT", "no such document")
        return ok_envelope(data=base64.b64encode(self.packages[h["docId"]]).decode())

    def op_updateStatus(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        self.statuses[h["docId"]] = h["status"]
        return ok_envelope()

    def op_getSentEdocList(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        sent = [r for r in self.inbox if r["docId"] == h.get("docId", r["docId"])]
        rows = [{"senderDocId": r["docId"], "toCode": code, "fromCode": r["from"], "sendStatus": "done",
                 "receiveStatus": self.statuses.get(r["docId"], "initial"), "messageType": r["messageType"]}
                for r in sent for code in json.loads(r["to"])]
        return ok_envelope(data=rows)

    def op_getAgenciesList(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        return ok_envelope(data=self.agencies)

    def op_registerAgency(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        self.agencies.append(json.loads(body))
        return ok_envelope()

    def op_deleteAgency(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        self.agencies = [a for a in self.agencies if a["code"] != h["AgencyCode"]]
        return ok_envelope()

    def op_countReceiveEdoc(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        return ok_envelope(count=sum(1 for r in self.inbox if r["docId"] not in self.statuses))

    def op_countReceiveStatus(self, systemid: str, h: dict, payload: None, body: bytes) -> dict:
        return ok_envelope(count=sum(1 for r in self.inbox if r["messageType"] == "status"))


class SyncASGITransport(httpx.BaseTransport):
    """httpx's ASGI transport (async only) driven from the synchronous client under test."""

    def __init__(self, app: Any) -> None:
        self._transport = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def run() -> httpx.Response:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=request.read())
            response = await self._transport.handle_async_request(copy)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(run())
