"""A VXP client (STANDARDS.md §8) that puts on the wire what the national axis' Java SDK puts there.

Used by the uplink (node to node, node to axis), by tests as "a client written from §8 alone", and by
``bench/vxp.py``. Per call it sends, as ``XroadVnpt-<name>`` headers, ``systemid``, ``timestamp``,
``Content-Type`` and the operation's parameters, signs **all** of them (as the SDK does: it signs every
entry of its header map), in the SDK's HashMap order, with the Gson-compact JSON; plus ``User-Agent``,
``XroadVnpt-version`` and a plain ``Content-Type``. Two deliberate differences from the SDK:

* every call gets a fresh timestamp (the SDK stamps once per service object), strictly increasing per client,
  so two identical calls never share a signature and are not refused as replays;
* the sendEdoc body is exactly the hashed package (the SDK appends a stray CRLF), and count operations use
  GET as §8 says (SDK 2.0.1 means GET but POSTs ``{}``).

Errors: a ``FAIL`` envelope raises :class:`~service.vxp.errors.VxpRemoteError`; no answer (connection,
timeout, 5xx without an envelope) :class:`~service.vxp.errors.VxpTransportError` (retryable); anything else
unreadable :class:`~service.vxp.errors.VxpResponseError`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from types import TracebackType
from typing import Any

import httpx

from service.observability.context import outgoing_traceparent
from service.vxp.errors import VxpRemoteError, VxpResponseError, VxpTransportError
from service.vxp.protocol import (
    OPERATIONS,
    SDK_USER_AGENT,
    SDK_VERSION,
    TRANSPORT_STATUSES,
    UPDATE_STATUS_TO_STATUS_CODE,
    VN_TZ,
    format_timestamp,
    gson_array,
    gson_object,
    hash_file_sdk,
    header_name,
    java_hashmap_order,
    sign_header_hmac,
)

__all__ = ["Agency", "ReceivedItem", "SentItem", "VxpClient"]


@dataclass(frozen=True)
class ReceivedItem:
    """One row of ``getReceivedEdocList``: a package (or status) not yet acknowledged by this system."""

    doc_id: str
    service_type: str
    message_type: str
    from_code: str
    to: str
    status: str
    status_desc: str
    created_time: str
    updated_time: str


@dataclass(frozen=True)
class SentItem:
    """One per-recipient row of ``getSentEdocList``."""

    service_type: str
    sender_doc_id: str
    receiver_doc_id: str
    from_code: str
    to_code: str
    send_status: str
    send_status_desc: str
    receive_status: str
    receive_status_desc: str
    title: str
    notation: str
    sent_time: str
    received_time: str
    message_type: str


@dataclass(frozen=True)
class Agency:
    """One row of ``getAgenciesList``."""

    id: str
    pid: str
    code: str
    name: str
    mail: str
    mobile: str
    fax: str


_RECEIVED_KEYS = (
    "docId",
    "serviceType",
    "messageType",
    "from",
    "to",
    "status",
    "status_desc",
    "created_time",
    "updated_time",
)
_SENT_KEYS = (
    "serviceType",
    "senderDocId",
    "receiverDocId",
    "fromCode",
    "toCode",
    "sendStatus",
    "sendStatusDesc",
    "receiveStatus",
    "receiveStatusDesc",
    "title",
    "notation",
    "sentTime",
    "receivedTime",
    "messageType",
)
_AGENCY_KEYS = ("id", "pid", "code", "name", "mail", "mobile", "fax")


class VxpClient:
    """One client system (``systemid`` + shared ``secret``) talking to one VXP ``endpoint``."""

    def __init__(
        self,
        endpoint: str,
        systemid: str,
        secret: str,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        zone: tzinfo = VN_TZ,
        timeout: float = 60.0,
    ) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._systemid = systemid
        self._secret = secret
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._clock = clock
        self._zone = zone
        self._last: datetime | None = None

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> VxpClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # --- operations ---

    def send_edoc(
        self,
        edxml: bytes,
        *,
        from_code: str,
        to_codes: Sequence[str] = (),
        messagetype: str = "edoc",
        servicetype: str = "eDoc",
    ) -> str:
        """Submit a package (``messagetype="edoc"``) or a status package (``"status"``); returns the DocId."""
        if messagetype not in ("edoc", "status"):
            raise ValueError(f"messagetype must be 'edoc' or 'status', not {messagetype!r}")
        params = {
            "from": from_code,
            "to": gson_array(to_codes),
            "servicetype": servicetype,
            "messagetype": messagetype,
            "hash-file": hash_file_sdk(edxml),
        }
        doc_id = self.call("sendEdoc", params, body=edxml).get("DocId")
        if not isinstance(doc_id, str | int) or str(doc_id) == "":
            raise VxpResponseError("sendEdoc answered OK without a DocId")
        return str(doc_id)

    def get_received_edoc_list(self, messagetype: str = "edoc", *, servicetype: str = "eDoc") -> list[ReceivedItem]:
        params = {"servicetype": servicetype, "messagetype": messagetype}
        rows = self._rows(self.call("getReceivedEdocList", params))
        return [ReceivedItem(*(_text(r.get(k)) for k in _RECEIVED_KEYS)) for r in rows]

    def get_edoc(self, doc_id: str) -> bytes:
        """The package, base64-decoded (the SDK's ``filePath`` is a client-side folder and is not sent)."""
        data = self.call("getEdoc", {"docId": doc_id}).get("data")
        if not isinstance(data, str):
            raise VxpResponseError("getEdoc answered OK without base64 data")
        try:
            return base64.b64decode("".join(data.split()), validate=True)
        except binascii.Error as exc:
            raise VxpResponseError("getEdoc data is not base64") from exc

    def update_status(self, doc_id: str, status: str) -> None:
        """``done``/``fail`` acknowledge transport; ``inbox``/``acceptance``/``rejection``/``processing``."""
        if status not in TRANSPORT_STATUSES and status not in UPDATE_STATUS_TO_STATUS_CODE:
            raise ValueError(f"unknown updateStatus value {status!r}")
        self.call("updateStatus", {"docId": doc_id, "status": status})

    def get_sent_edoc_list(
        self, doc_id: str | None = None, *, messagetype: str = "edoc", servicetype: str = "eDoc"
    ) -> list[SentItem]:
        params = {"servicetype": servicetype, "messagetype": messagetype}
        if doc_id is not None:
            params["docId"] = doc_id
        rows = self._rows(self.call("getSentEdocList", params))
        return [SentItem(*(_text(r.get(k)) for k in _SENT_KEYS)) for r in rows]

    def get_agencies_list(self) -> list[Agency]:
        rows = self._rows(self.call("getAgenciesList", {}))
        return [Agency(*(_text(r.get(k)) for k in _AGENCY_KEYS)) for r in rows]

    def register_agency(
        self,
        *,
        code: str,
        name: str,
        pcode: str = "",
        id: str = "",
        mail: str = "",
        mobile: str = "",
        fax: str = "",
    ) -> None:
        record = {"id": id, "pcode": pcode, "code": code, "name": name, "mail": mail, "mobile": mobile, "fax": fax}
        body = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.call("registerAgency", {}, body=body)

    def delete_agency(self, code: str) -> None:
        self.call("deleteAgency", {"AgencyCode": code})

    def count_receive_edoc(self) -> int:
        return _count(self.call("countReceiveEdoc", {}))

    def count_receive_status(self) -> int:
        return _count(self.call("countReceiveStatus", {}))

    # --- the wire ---

    def signed_headers(self, operation: str, params: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
        """The request headers of one call, signed; public so benchmarks and tests can inspect them."""
        op = OPERATIONS[operation]
        values = {
            "timestamp": self._next_timestamp(),
            "systemid": self._systemid,
            "Content-Type": op.content_type,
            **params,
        }
        order = java_hashmap_order(list(values))
        sign_header = gson_object((header_name(n), values[n]) for n in order)
        headers = [("Content-Type", op.content_type)]
        headers += [(header_name(n), values[n]) for n in order]
        headers += [
            (header_name("sign-header-key"), ";".join(order)),
            (header_name("sign-header"), sign_header),
            (header_name("hash-header"), sign_header_hmac(sign_header, self._secret)),
            ("User-Agent", SDK_USER_AGENT),
            (header_name("version"), SDK_VERSION),
        ]
        return [(name.encode("ascii"), value.encode("utf-8")) for name, value in headers]

    def call(self, operation: str, params: Mapping[str, str], *, body: bytes = b"") -> dict[str, Any]:
        """One signed call; the OK envelope, or the errors the module docstring lists."""
        op = OPERATIONS[operation]
        headers = [*self.signed_headers(operation, params), (b"traceparent", outgoing_traceparent().encode())]
        url = f"{self._endpoint}/{operation}"
        try:
            response = self._http.request(op.method, url, headers=headers, content=body or None)
        except httpx.TransportError as exc:
            raise VxpTransportError(f"{operation}: {type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise VxpResponseError(f"{operation}: {type(exc).__name__}: {exc}") from exc
        return _envelope(operation, response)

    def _next_timestamp(self) -> str:
        # Compared after truncation to the millisecond the wire carries: two calls within one millisecond
        # would otherwise share a timestamp (and, with equal parameters, a signature the server refuses as a replay).
        now = self._clock()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last is not None and now <= self._last:
            now = self._last + timedelta(milliseconds=1)
        self._last = now
        return format_timestamp(self._last, self._zone)

    @staticmethod
    def _rows(envelope: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        data = envelope.get("data")
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise VxpResponseError("data is not a list of objects")
        return data


def _envelope(operation: str, response: httpx.Response) -> dict[str, Any]:
    try:
        envelope = response.json()
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or "status" not in envelope:
        message = f"{operation}: HTTP {response.status_code} without a VXP envelope"
        if response.status_code >= 500 or response.status_code == 429:
            raise VxpTransportError(message)
        raise VxpResponseError(message)
    code = _text(envelope.get("ErrorCode"))
    if envelope.get("status") != "OK" or code not in ("0", ""):
        raise VxpRemoteError(code or "FAIL", _text(envelope.get("ErrorDesc")))
    return envelope


def _count(envelope: Mapping[str, Any]) -> int:
    try:
        return int(envelope["count"])
    except (KeyError, TypeError, ValueError) as exc:
        raise VxpResponseError("count operation answered OK without an integer count") from exc


def _text(value: Any) -> str:
    """A field as Gson's ``getAsString`` would give it ('' when absent)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
