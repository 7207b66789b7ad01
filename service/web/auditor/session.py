"""The auditors' session: an HttpOnly cookie holding the API key sealed under ``EDOC_SECRET_KEY``, and CSRF.

Why a sealed cookie rather than a server-side table: the gateway runs several processes (and replicas) behind one
address, and a sealed cookie needs no shared store. The key is encrypted and authenticated (Fernet: AES-128-CBC +
HMAC-SHA256, under a key derived with HKDF from the gateway's secret, info ``edoc-gateway/audit-session/v1``), so the
browser can neither read nor alter it; every request authenticates the key again, so a key revoked or a client
disabled (``edoc client disable``) ends its sessions within the auth cache's lifetime. A session lasts at most
:data:`LIFETIME`; signing out clears the cookie.

Cookie attributes: ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (never sent by another site's request),
``Path=/audit``, and ``Secure`` when the page was requested over https (the request's scheme, i.e. behind a proxy
with ``--proxy-headers``).

CSRF: every POST carries a hidden ``csrf`` field equal to the session's token (a per-session random value, compared
in constant time), besides SameSite. Before sign-in the login form uses the same check against a short-lived
random cookie (``edoc_audit_pre``), so a forged cross-site login is refused too.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["COOKIE", "LIFETIME", "PATH", "PRE_COOKIE", "Session", "check_csrf", "open_session", "seal_session"]

COOKIE = "edoc_audit"
PRE_COOKIE = "edoc_audit_pre"
PATH = "/audit"
LIFETIME = 8 * 3600  # a working day


@dataclass(frozen=True, slots=True)
class Session:
    key: str
    csrf: str
    expires: float


def _fernet(secret_key: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"edoc-gateway/audit-session/v1")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8"))))


def seal_session(secret_key: str, api_key: str, *, now: float | None = None) -> tuple[str, Session]:
    """A new session for ``api_key``: (cookie value, session)."""
    session = Session(api_key, secrets.token_urlsafe(24), (now or time.time()) + LIFETIME)
    data = json.dumps({"k": session.key, "c": session.csrf, "e": session.expires}).encode()
    return _fernet(secret_key).encrypt(data).decode("ascii"), session


def open_session(secret_key: str, cookie: str | None, *, now: float | None = None) -> Session | None:
    """The session of a cookie, or None when it is missing, forged, sealed under another key or expired."""
    if not cookie:
        return None
    try:
        data = json.loads(_fernet(secret_key).decrypt(cookie.encode("ascii"), ttl=LIFETIME + 60))
        session = Session(str(data["k"]), str(data["c"]), float(data["e"]))
    except (InvalidToken, ValueError, KeyError, TypeError, UnicodeError):
        return None
    return session if session.expires > (now or time.time()) else None


def check_csrf(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
