"""JSON over HTTP for the provider adapters that speak plain JSON (VNPT SmartCA, Viettel MySign).

One place translates httpx's exceptions and HTTP statuses into :class:`RemoteSigningError` codes, so every adapter
reports "provider unreachable" the same way. Request bodies carry secrets (client secrets, passwords): they are
never put in an exception message or a log line; only the path and the status are.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from signing.remote.interfaces import RemoteSigningError

__all__ = ["JsonClient", "Unauthorized"]

DEFAULT_TIMEOUT = 20.0


class Unauthorized(RemoteSigningError):
    """HTTP 401: the bearer token expired or was revoked (an adapter logs in again once)."""

    code = "remote_auth_failed"


class JsonClient:
    """POST JSON to ``base_url + path`` and return the decoded object; errors become RemoteSigningError."""

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT, verify: bool | str = True) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout, verify=verify, follow_redirects=False)

    def __repr__(self) -> str:
        return f"JsonClient({self.base_url!r})"

    def post(self, path: str, body: dict[str, Any], *, token: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._http.post(self.base_url + path, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise RemoteSigningError(f"{path}: the provider did not answer in time", code="remote_unreachable") from exc
        except httpx.HTTPError as exc:
            raise RemoteSigningError(
                f"{path}: cannot reach the provider ({type(exc).__name__})", code="remote_unreachable"
            ) from exc
        return _decode(path, response)

    def close(self) -> None:
        self._http.close()


def _decode(path: str, response: httpx.Response) -> Any:
    status = response.status_code
    if status == 401:
        raise Unauthorized(f"{path}: the provider refused the credentials (401)")
    if status == 403:
        raise RemoteSigningError(f"{path}: the provider refused the credentials (403)", code="remote_auth_failed")
    if status >= 500 or status in (408, 429):
        raise RemoteSigningError(f"{path}: the provider failed ({status})", code="remote_unreachable")
    if status == 404:
        raise RemoteSigningError(f"{path}: not found (404)", code="remote_unknown_transaction")
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RemoteSigningError(f"{path}: the answer is not JSON ({status})", code="remote_protocol") from exc
    if status >= 400:
        raise RemoteSigningError(f"{path}: the provider refused the request ({status})", code="remote_bad_request")
    return data


def unb64(value: Any, what: str) -> bytes:
    """Base64 (with or without line breaks, as providers send it) → bytes; anything else is a protocol error."""
    import base64
    import binascii

    if not isinstance(value, str) or not value.strip():
        raise RemoteSigningError(f"the provider sent no {what}", code="remote_protocol")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RemoteSigningError(f"the provider's {what} is not base64", code="remote_protocol") from exc


def key_algorithm(der: bytes) -> str:
    """``"RSA"`` or ``"EC"`` from a DER certificate's public key (protocol error if it does not parse)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except ValueError as exc:
        raise RemoteSigningError("the provider's certificate does not parse", code="remote_protocol") from exc
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC"
    raise RemoteSigningError("the provider's certificate has an unsupported key type", code="remote_protocol")


def split_credential(credential_id: str) -> tuple[str, str]:
    """``USER/CERT`` → (user, cert); a bare ``USER`` → (user, "") meaning "the user's only valid certificate".

    The Vietnamese services sign for many officials under one service-provider account: the official is a user id
    (often the citizen id number) and the certificate is chosen among that user's ones."""
    user, _, cert = credential_id.partition("/")
    if not user or len(credential_id) > 300:
        raise RemoteSigningError("a credential id is USER or USER/CERTIFICATE", code="remote_bad_request")
    return user, cert
