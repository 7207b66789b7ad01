"""The national-axis wire protocol (VXP, STANDARDS.md §8), framework-free: names, formats, hashes, envelope.

Everything a VXP server and a VXP client must agree on byte for byte lives here; HTTP itself does not.
Where §8 leaves a detail open, the choice follows the Java SDK (``SDKVXP 2.0.1``, ``com.vpcp.services``) as
it behaves on the wire, and the reason is written next to the code:

* The signed-header JSON is written the way Gson's ``JsonObject.toString()`` writes it: compact (``,`` and
  ``:`` without spaces), non-ASCII characters raw (UTF-8 on the wire), only ``"`` ``\\``, control characters
  and U+2028/U+2029 escaped. A server never re-serialises: the HMAC is checked over the exact received bytes.
* The SDK keeps its headers in a ``java.util.HashMap``, so the order of ``sign-header-key`` (and of the JSON)
  is that map's iteration order, not the order the caller gave. :func:`java_hashmap_order` reproduces it, so
  this client's headers are identical to the SDK's (e.g. ``systemid;servicetype;messagetype;timestamp;
  Content-Type`` for ``getReceivedEdocList``, the very example §8 quotes). A server accepts any order.
* ``timestamp`` is ``SimpleDateFormat("ddMMyyyy'T'HHmmss+SSSS")`` in the JVM's local zone: no zone on the
  wire; the digits after ``+`` are milliseconds padded to 4. Deployments are in Việt Nam, so the default zone
  is UTC+7 (:data:`VN_TZ`); it is a parameter everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

__all__ = [
    "AUTH_HEADERS",
    "HEADER_PREFIX",
    "OPERATIONS",
    "SDK_USER_AGENT",
    "SDK_VERSION",
    "TRANSPORT_STATUSES",
    "UPDATE_STATUS_TO_STATUS_CODE",
    "VN_TZ",
    "Operation",
    "fail_envelope",
    "format_timestamp",
    "gson_array",
    "gson_object",
    "hash_file_hex",
    "hash_file_matches",
    "hash_file_sdk",
    "header_name",
    "java_hashmap_order",
    "ok_envelope",
    "parse_header_json",
    "parse_timestamp",
    "sign_header_hmac",
]

HEADER_PREFIX = "XroadVnpt-"
SDK_VERSION = "3.0.201608"
SDK_USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
VN_TZ: tzinfo = timezone(timedelta(hours=7), "ICT")

#: Short names of the headers that carry authentication (each sent as ``XroadVnpt-<name>``).
AUTH_HEADERS = ("systemid", "timestamp", "sign-header-key", "sign-header", "hash-header")


def header_name(short: str) -> str:
    """``systemid`` -> ``XroadVnpt-systemid`` (the SDK prefixes every parameter, even ``Content-Type``)."""
    return HEADER_PREFIX + short


# --- JSON in headers ---

#: The largest header value parsed as JSON (``sign-header``, ``to``): a whole request head is at most
#: ``EDOC_MAX_HEADER_BYTES`` anyway; this bounds the parse of one value below it.
MAX_JSON_HEADER_BYTES = 32 * 1024


def parse_header_json(raw: bytes | str, *, max_depth: int, max_bytes: int = MAX_JSON_HEADER_BYTES) -> Any:
    """A header value parsed as JSON, or ``ValueError`` if it is longer than ``max_bytes`` or nests deeper than
    ``max_depth`` (checked before parsing: CPython's parser recurses per level, and 100,000 ``[`` end in
    ``RecursionError``, issue 17) or is not JSON. The shapes VXP sends are flat: an object or array of strings."""
    from service.edge.jsondepth import json_depth_exceeds

    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise ValueError(f"the JSON header is {len(data)} bytes; at most {max_bytes} are read")
    if json_depth_exceeds(data, max_depth):
        raise ValueError(f"the JSON header nests deeper than {max_depth} levels")
    return json.loads(data.decode("utf-8"))


# --- timestamp ---

_TIMESTAMP = re.compile(r"(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{3,4})")


def format_timestamp(moment: datetime, zone: tzinfo = VN_TZ) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS`` of an aware ``moment`` seen in ``zone``; milliseconds padded to 4."""
    if moment.tzinfo is None:
        raise ValueError("format_timestamp needs an aware datetime")
    local = moment.astimezone(zone)
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


def parse_timestamp(text: str, zone: tzinfo = VN_TZ) -> datetime:
    """The aware instant of a VXP timestamp read in ``zone``; 3 or 4 millisecond digits ("+123", "+0123")."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"not a VXP timestamp (ddMMyyyyTHHmmss+SSSS): {text!r}")
    day, month, year, hour, minute, second, millis = (int(g) for g in match.groups())
    if millis > 999:
        raise ValueError(f"milliseconds out of range in VXP timestamp: {text!r}")
    return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=zone)


# --- signed-header JSON and HMAC ---

_GSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\t": "\\t",
    "\b": "\\b",
    "\n": "\\n",
    "\r": "\\r",
    "\f": "\\f",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


# What Gson escapes: the quote, the backslash, control characters and the two JavaScript line separators. Most
# header values (codes, timestamps, ids) have none, and are written without a look at each character.
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\u2028\u2029]')


def _gson_string(value: str) -> str:
    if _NEEDS_ESCAPE.search(value) is None:
        return '"' + value + '"'
    parts = (_GSON_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in value)
    return '"' + "".join(parts) + '"'


def gson_object(pairs: Iterable[tuple[str, str]]) -> str:
    """A JSON object of strings, in the given order, byte-identical to Gson's ``JsonObject.toString()``."""
    return "{" + ",".join(f"{_gson_string(k)}:{_gson_string(v)}" for k, v in pairs) + "}"


def gson_array(values: Iterable[str]) -> str:
    """A JSON array of strings as Gson writes it (the SDK sends ``to`` this way: ``["000.00.00.G22"]``)."""
    return "[" + ",".join(_gson_string(v) for v in values) + "]"


def _java_string_hash(text: str) -> int:
    units = text.encode("utf-16-le")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i : i + 2], "little")) & 0xFFFFFFFF
    return h


def java_hashmap_order(names: Sequence[str]) -> list[str]:
    """``names`` (in insertion order) in the iteration order of a fresh ``java.util.HashMap`` holding them.

    HashMap (Java 8+) iterates bucket by bucket, ``(h ^ h >>> 16) & (n - 1)`` with ``n`` the table size (16,
    doubled whenever more than 3/4 full), and in insertion order within a bucket. The sort below is stable.
    """
    size = 16
    while len(names) > size * 3 // 4:
        size *= 2

    def bucket(name: str) -> int:
        h = _java_string_hash(name)
        return (h ^ (h >> 16)) & (size - 1)

    return sorted(dict.fromkeys(names), key=bucket)


def sign_header_hmac(sign_header: bytes | str, secret: str) -> str:
    """Lowercase hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, over the exact sign-header bytes."""
    data = sign_header.encode("utf-8") if isinstance(sign_header, str) else sign_header
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


# --- hash-file ----------------------------------------------------------------------------------------------


def hash_file_hex(data: bytes | memoryview) -> str:
    """The normal form: SHA-256 as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def hash_file_sdk(data: bytes | memoryview) -> str:
    """The SDK form: SHA-256, each byte as ``Integer.toHexString(b & 0xff)`` (leading zero dropped)."""
    return _sdk_form(hashlib.sha256(data).digest())


def _sdk_form(digest: bytes) -> str:
    return "".join(format(b, "x") for b in digest)


def hash_file_matches(data: bytes | memoryview, claimed: str) -> bool:
    """Whether ``claimed`` is either form of the SHA-256 of ``data`` (case-insensitive).

    The SDK form cannot be parsed back (``"1a"`` is 0x1a or 0x01 0x0a), so both forms are written from the one
    digest (the body is hashed once, not once per form: packages reach 150 MB) and compared, each in constant
    time, without short-circuit.
    """
    digest = hashlib.sha256(data).digest()
    claim = claimed.strip().lower().encode("utf-8")
    sdk = hmac.compare_digest(claim, _sdk_form(digest).encode("ascii"))
    full = hmac.compare_digest(claim, digest.hex().encode("ascii"))
    return sdk | full


# --- response envelope ---


def ok_envelope(**fields: Any) -> dict[str, Any]:
    """``{"status": "OK", "ErrorCode": "0", "ErrorDesc": "Success", ...fields}``."""
    return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Success", **fields}


def fail_envelope(code: str, desc: str, operation: str | None = None) -> dict[str, Any]:
    """A FAIL envelope; with ``operation``, the fields the SDK reads unconditionally are present too.

    The SDK calls ``get("DocId").getAsString()`` on every sendEdoc answer, FAIL included: without ``DocId`` it
    throws and the DMS sees ``null`` instead of our error. :attr:`Operation.fail_fields` lists such fields.
    """
    extra = dict(OPERATIONS[operation].fail_fields) if operation else {}
    return {"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc, **extra}


# --- operations ---

#: ``updateStatus`` values that are a transport acknowledgement of a fetched package.
TRANSPORT_STATUSES = frozenset({"done", "fail"})
#: ``updateStatus`` values that are business statuses, and the STANDARDS §3 status code each stands for.
UPDATE_STATUS_TO_STATUS_CODE: Mapping[str, str] = {
    "inbox": "01",
    "rejection": "02",
    "acceptance": "03",
    "processing": "05",
}


@dataclass(frozen=True)
class Operation:
    """One VXP operation: ``POST|GET {endpoint}/{name}``.

    ``params`` are the parameter headers (short names) a request may carry, ``required`` those it must carry.
    The SDK signs every header it sends (its parameters, ``systemid``, ``timestamp``, ``Content-Type``), so a
    server requires every parameter it reads to be signed (see :mod:`service.vxp.auth`).
    """

    name: str
    method: str
    params: tuple[str, ...]
    required: tuple[str, ...]
    content_type: str
    response_fields: tuple[str, ...]
    accepted_methods: frozenset[str]
    fail_fields: Mapping[str, Any] = field(default_factory=dict)
    body: str = "none"  # "none" | "edxml" | "json"


def _op(name: str, method: str, params: tuple[str, ...], response: tuple[str, ...], **kw: Any) -> Operation:
    kw.setdefault("content_type", "application/json")
    kw.setdefault("accepted_methods", frozenset({method}))
    kw.setdefault("required", params)
    return Operation(name=name, method=method, params=params, response_fields=response, **kw)


OPERATIONS: Mapping[str, Operation] = {
    op.name: op
    for op in (
        # "to" may be absent: then the package's own To list is the recipient list (§8).
        _op(
            "sendEdoc",
            "POST",
            ("from", "to", "servicetype", "messagetype", "hash-file"),
            ("DocId",),
            required=("from", "servicetype", "messagetype", "hash-file"),
            content_type="application/octet-stream",
            fail_fields={"DocId": ""},
            body="edxml",
        ),
        _op("getReceivedEdocList", "POST", ("servicetype", "messagetype"), ("data",)),
        # filePath is the SDK's client-side folder: some DMS send it; a server ignores it.
        _op("getEdoc", "POST", ("docId", "filePath"), ("data",), required=("docId",)),
        _op("updateStatus", "POST", ("docId", "status"), ()),
        _op("getSentEdocList", "POST", ("servicetype", "messagetype", "docId"), ("data",), required=()),
        _op("getAgenciesList", "POST", (), ("data",)),
        _op("registerAgency", "POST", (), (), body="json"),
        _op("deleteAgency", "POST", ("AgencyCode",), ()),
        # §8 says GET; SDK 2.0.1 means GET but its overload actually POSTs the body "{}". Accept both.
        _op("countReceiveEdoc", "GET", (), ("count",), accepted_methods=frozenset({"GET", "POST"})),
        _op("countReceiveStatus", "GET", (), ("count",), accepted_methods=frozenset({"GET", "POST"})),
    )
}
