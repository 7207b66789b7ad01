"""Server-side authentication of a VXP call (STANDARDS.md §8): who is calling, unaltered, fresh, not replayed.

:class:`VxpAuthenticator` checks, in this order, and raises the first failure as a
:class:`~service.vxp.errors.VxpAuthError` subclass with a stable code:

1. the five authentication headers are present (``systemid``, ``timestamp``, ``sign-header-key``,
   ``sign-header``, ``hash-header``);
2. the ``systemid`` is looked up (``lookup_secret`` returns its secret). An unknown one is *not* refused here:
   the checks go on against a random per-process secret nobody holds and end in the same
   ``VXP-401-BAD-SIGNATURE`` as a wrong HMAC at step 5, after the same work (JSON parse, coverage, one HMAC), so
   neither the answer nor its timing tells which system ids exist (issue 17, item 7);
3. ``sign-header`` is a JSON object of strings without duplicate keys (at most 32 KiB, nesting checked before
   parsing), and ``sign-header-key`` a list of distinct names;
4. the JSON's keys are exactly ``XroadVnpt-<name>`` for the names of ``sign-header-key`` (in any order);
   ``systemid``, ``timestamp`` and the operation's required parameters are among them; no other
   ``XroadVnpt-*`` parameter header is sent unsigned; each signed name is sent as a header with exactly the
   signed value (``Content-Type``: ``XroadVnpt-Content-Type`` exactly, plain ``Content-Type`` by media type);
5. ``hash-header`` equals the HMAC over the **exact received bytes** of ``sign-header`` (constant time), under the
   system's secret or, while a rotation's grace lasts, the secret it replaced;
6. the timestamp is within ``window`` of the clock, in both directions;
7. (with a body) ``hash-file`` matches the body: :func:`check_hash_file`;
8. the same ``(systemid, hash-header)`` was not accepted before within the window (``ReplayGuard``).

Header values are taken as ASGI servers give them (raw bytes decoded as Latin-1), so the HMAC is computed over
the bytes that travelled; a value that cannot be Latin-1 is taken as text and encoded as UTF-8.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from service.edge.jsondepth import json_depth_exceeds
from service.vxp.errors import (
    VxpBadSignature,
    VxpBadTimestamp,
    VxpHashMismatch,
    VxpHashMissing,
    VxpHeaderMismatch,
    VxpMalformedSignHeader,
    VxpMissingHeader,
    VxpReplay,
    VxpSignKeyMismatch,
    VxpStaleTimestamp,
    VxpUnsignedHeader,
)
from service.vxp.interfaces import ReplayGuard
from service.vxp.protocol import (
    AUTH_HEADERS,
    HEADER_PREFIX,
    MAX_JSON_HEADER_BYTES,
    VN_TZ,
    hash_file_matches,
    header_name,
    parse_timestamp,
    sign_header_hmac,
)

__all__ = ["DEFAULT_WINDOW", "AuthenticatedCall", "VxpAuthenticator", "check_hash_file"]

DEFAULT_WINDOW = timedelta(seconds=300)
#: XroadVnpt-* headers the SDK sends without signing them.
_NEVER_SIGNED = frozenset({"sign-header-key", "sign-header", "hash-header", "version"})


@dataclass(frozen=True)
class AuthenticatedCall:
    """An authenticated call: read parameters from ``headers`` only (signed values, by short name)."""

    systemid: str
    headers: Mapping[str, str]
    timestamp: datetime
    signature: str
    payload: bytes | None = field(default=None, repr=False)
    """With a body: the bytes ``hash-file`` covers (the body, less the SDK's trailing CRLF if added)."""


class _Headers:
    """Case-insensitive view of request headers keeping wire bytes and noticing duplicates."""

    def __init__(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        self.duplicated: set[str] = set()
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in pairs:
            key = name.lower()
            if key in self.values:
                self.duplicated.add(key)
            self.values.setdefault(key, value)

    def raw(self, name: str) -> bytes | None:
        value = self.values.get(name.lower())
        return None if value is None else _wire(value)

    def text(self, name: str) -> str:
        raw = self.raw(name)
        return "" if raw is None else raw.decode("utf-8", "replace")

    def vxp_names(self) -> set[str]:
        prefix = HEADER_PREFIX.lower()
        return {k[len(prefix) :] for k in self.values if k.startswith(prefix)}


def _wire(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


class VxpAuthenticator:
    """Checks VXP calls against the shared secret of each client system (see the module docstring)."""

    def __init__(
        self,
        *,
        lookup_secret: Callable[[str], str | tuple[str, ...] | None],
        replay_guard: ReplayGuard | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        window: timedelta = DEFAULT_WINDOW,
        zone: tzinfo = VN_TZ,
    ) -> None:
        self._lookup_secret = lookup_secret
        self._replay_guard = replay_guard
        self._clock = clock
        self._window = window
        self._zone = zone
        self._dummy_secret = secrets.token_hex(32)

    def authenticate(
        self,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: bytes | None = None,
        *,
        required: Iterable[str] = (),
        check_replay: bool = True,
    ) -> AuthenticatedCall:
        """The authenticated call, or a :class:`~service.vxp.errors.VxpError` (auth failures first).

        ``headers``: a case-insensitive mapping, or all (name, value) pairs so repeated headers are seen
        (Starlette's ``Headers.items()`` gives every pair).
        ``required``: the operation's parameters that must be present and signed (``Operation.required``).
        ``body``: when given (sendEdoc), ``hash-file`` is checked against it. ``check_replay=False`` lets a
        facade skip the replay guard for read-only calls of SDK clients that reuse one timestamp.
        """
        h = _Headers(headers)
        for name in AUTH_HEADERS:
            if not h.raw(header_name(name)):
                raise VxpMissingHeader(f"missing header {header_name(name)}")
        secret = self._lookup_secret(h.text(header_name("systemid")))
        known = secret is not None
        if secret is None:  # checked on as if known, against a secret nobody has (module docstring, step 2)
            secret = self._dummy_secret
        sign_raw = h.raw(header_name("sign-header")) or b""
        values = _signed_values(sign_raw, h.text(header_name("sign-header-key")))
        _check_coverage(h, values, ("systemid", "timestamp", *required))
        for name, value in values.items():
            _check_sent(h, name, value)
        signature = h.text(header_name("hash-header")).strip().lower()
        candidates = (secret,) if isinstance(secret, str) else secret  # several while a rotation's grace lasts
        if not any(_signed_with(sign_raw, each, signature) for each in candidates) or not known:
            raise VxpBadSignature("hash-header is not the HMAC-SHA256 of sign-header under this secret")
        timestamp = self._fresh_timestamp(values["timestamp"])
        payload = None if body is None else check_hash_file(values, body)
        if check_replay and self._replay_guard is not None:
            expires_at = timestamp + self._window
            if self._replay_guard.seen_before(values["systemid"], signature, expires_at):
                raise VxpReplay("this exact call was already accepted; sign each call with a new timestamp")
        return AuthenticatedCall(values["systemid"], values, timestamp, signature, payload)

    def _fresh_timestamp(self, text: str) -> datetime:
        try:
            timestamp = parse_timestamp(text, self._zone)
        except ValueError as exc:
            raise VxpBadTimestamp(f"timestamp {text!r} is not ddMMyyyyTHHmmss+SSSS") from exc
        skew = timestamp - self._clock()
        if skew < -self._window:
            raise VxpStaleTimestamp(f"timestamp {text!r} is older than {self._window.total_seconds():g} s")
        if skew > self._window:
            raise VxpStaleTimestamp(f"timestamp {text!r} is in the future by more than the allowed window")
        return timestamp


def _signed_with(sign_raw: bytes, secret: str, signature: str) -> bool:
    expected = sign_header_hmac(sign_raw, secret)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8"))


def _signed_values(sign_raw: bytes, key_list: str) -> dict[str, str]:
    """Short name -> signed value, from the sign-header JSON checked against sign-header-key."""
    obj = _parse_sign_header(sign_raw)
    names = key_list.split(";")
    if any(not n for n in names) or len(set(names)) != len(names):
        raise VxpMalformedSignHeader("sign-header-key must be distinct non-empty names joined by ';'")
    if {header_name(n) for n in names} != set(obj):
        raise VxpSignKeyMismatch("sign-header-key does not name exactly the keys of sign-header")
    return {n: obj[header_name(n)] for n in names}


def _parse_sign_header(sign_raw: bytes) -> dict[str, str]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in pairs}) != len(pairs):
            raise VxpMalformedSignHeader("sign-header repeats a key")
        return dict(pairs)

    if len(sign_raw) > MAX_JSON_HEADER_BYTES:
        raise VxpMalformedSignHeader(f"sign-header is longer than {MAX_JSON_HEADER_BYTES} bytes")
    if json_depth_exceeds(sign_raw, 1):  # an object of strings; checked before json recurses into it (issue 17)
        raise VxpMalformedSignHeader("sign-header must be a flat JSON object of strings")
    try:
        obj = json.loads(sign_raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise VxpMalformedSignHeader("sign-header is not UTF-8 JSON") from exc
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise VxpMalformedSignHeader("sign-header must be a JSON object of strings")
    return obj


def _check_coverage(h: _Headers, values: Mapping[str, str], required: Iterable[str]) -> None:
    for name in required:
        if name not in values:
            if h.raw(header_name(name)) is None:
                raise VxpMissingHeader(f"missing header {header_name(name)}")
            raise VxpUnsignedHeader(f"{header_name(name)} must be listed in sign-header-key")
    signed = {n.lower() for n in values}
    for name in sorted(h.vxp_names() - signed - _NEVER_SIGNED):
        raise VxpUnsignedHeader(f"{HEADER_PREFIX}{name} is sent but not signed")


def _check_sent(h: _Headers, name: str, value: str) -> None:
    """The header ``name`` was sent once, with exactly the signed ``value``."""
    if name.lower() == "content-type":
        _check_content_type(h, value)
        return
    wire_name = header_name(name)
    raw = h.raw(wire_name)
    if raw is None:
        raise VxpMissingHeader(f"signed header {wire_name} was not sent")
    if wire_name.lower() in h.duplicated:
        raise VxpHeaderMismatch(f"{wire_name} is sent more than once")
    if raw != value.encode("utf-8"):
        raise VxpHeaderMismatch(f"{wire_name} differs from its signed value")


def _check_content_type(h: _Headers, value: str) -> None:
    vxp, plain = h.raw(header_name("Content-Type")), h.raw("Content-Type")
    if vxp is None and plain is None:
        raise VxpMissingHeader("signed header Content-Type was not sent")
    if vxp is not None and vxp != value.encode("utf-8"):
        raise VxpHeaderMismatch(f"{header_name('Content-Type')} differs from its signed value")
    if plain is not None and _media_type(plain.decode("latin-1")) != _media_type(value):
        raise VxpHeaderMismatch("Content-Type differs from its signed value")


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def check_hash_file(headers: Mapping[str, str], body: bytes) -> bytes:
    """The bytes ``hash-file`` covers: ``body``, or ``body`` less a trailing CRLF; else an error.

    ``headers`` is either the signed values by short name (:attr:`AuthenticatedCall.headers`) or the
    request headers. SDK 2.0.1 hashes the file, then streams it followed by ``\\r\\n`` (the unfinished
    multipart writer of ``MultipartUtility``), so the body may end with two bytes the hash does not cover.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    claimed = lowered.get("hash-file") or lowered.get(header_name("hash-file").lower())
    if not claimed:
        raise VxpHashMissing("sendEdoc needs the hash-file header (SHA-256 of the package)")
    if hash_file_matches(body, claimed):
        return body
    if body.endswith(b"\r\n") and hash_file_matches(memoryview(body)[:-2], claimed):  # no copy just to hash
        return body[:-2]
    raise VxpHashMismatch("hash-file is not the SHA-256 of the body; the package was altered or truncated")
