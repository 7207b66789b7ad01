"""The Cloud Signature Consortium (CSC) API adapter, v1.0.4.0 and v2: a :class:`RemoteSigner` over httpx.

URL (secrets are keyword arguments, never in the URL)::

    csc+https://rssp.example.vn/path?version=2&client_id=gateway[&token_url=...][&timeout=30][&poll_path=...]

``https://rssp.example.vn/path`` is the service URL that precedes ``/csc/v1/...`` or ``/csc/v2/...`` (as pyHanko's
``CSCServiceSessionInfo`` counts it). Authentication: OAuth2 client credentials (``client_id`` in the URL,
``client_secret=`` secret; the token is fetched from ``token_url``, default ``<service>/oauth2/token``, renewed
before it expires and once more on a 401) or a user's bearer token (``access_token=`` secret; a 401 is then final).
``csc+http://`` is accepted for loopback hosts only (the test server).

Flow of :meth:`CscSigner.start`: ``credentials/authorize`` (PIN/OTP from ``SignRequest.authorization``; the hashes
are sent so an SCAL-2 service binds the SAD to them; ``numSignatures`` = number of hashes) then
``signatures/signHash``. v1 answers synchronously (DONE). v2 is asked for ``operationMode: "A"``; a service that
answers with a ``responseID`` is PENDING and :meth:`poll` asks ``signatures/signPolling`` with it.

Confirmed against the CSC API specifications v1.0.4.0 and v2.0.0.2 (request/response field names of info,
oauth2/token, credentials/list|info|authorize, signatures/signHash). **Unconfirmed**: the name and answer shape of
the v2 polling endpoint (``signatures/signPolling`` answering ``{"signatures": [...]}`` when done, HTTP 202 or
``{"status": "pending"}`` while waiting, CSC error ``access_denied`` when the signer refused and an error naming
``expired`` when the window closed), configurable with ``poll_path``.

Errors map to RemoteSigningError codes (interfaces.py). Secrets never appear in ``repr``, logs or messages.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signing.remote.interfaces import Credential, RemoteResult, RemoteSigningError, RemoteState, SignRequest

__all__ = ["CscSigner"]

log = logging.getLogger(__name__)

_REFUSED = {"access_denied", "rejected", "user_rejected", "cancelled", "canceled"}
_AUTH_ERRORS = {"invalid_token", "invalid_client", "unauthorized_client", "invalid_grant", "invalid_pin", "invalid_otp"}


class CscSigner:
    """A CSC API service (see the module docstring)."""

    name = "csc"

    def __init__(
        self,
        service_url: str,
        *,
        version: int = 2,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        token_url: str | None = None,
        timeout: float = 30.0,
        poll_interval: float = 2.0,
        poll_path: str = "signatures/signPolling",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if version not in (1, 2):
            raise RemoteSigningError(f"CSC API version {version} unsupported (1 or 2)", code="remote_bad_request")
        if access_token is None and (client_id is None or client_secret is None):
            raise RemoteSigningError(
                "CSC needs client_id (in the URL) and client_secret, or an access_token", code="remote_auth_failed"
            )
        self.service_url = service_url.rstrip("/")
        self.version = version
        self._client_id = client_id
        self._secrets = {"client_secret": client_secret, "access_token": access_token}
        self._token_url = token_url or f"{self.service_url}/oauth2/token"
        self._token: str | None = access_token
        self._token_expiry = float("inf") if access_token else 0.0
        self._poll_interval = poll_interval
        self._poll_path = poll_path
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self._info_cache: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_url(cls, url: str, **secrets: Any) -> CscSigner:
        parts = urlsplit(url)
        scheme = parts.scheme.removeprefix("csc+")
        if parts.username is not None or parts.password is not None:
            raise RemoteSigningError(
                "CSC URL: no credentials in the URL (pass client_secret= or access_token=)", code="remote_bad_request"
            )
        if scheme == "http" and not _loopback(parts.hostname):
            raise RemoteSigningError("csc+http:// is for loopback test servers only", code="remote_bad_request")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            version = int(query.get("version", "2").split(".")[0])
            timeout = float(query.get("timeout", "30"))
        except ValueError:
            raise RemoteSigningError(
                "CSC URL: version and timeout must be numbers", code="remote_bad_request"
            ) from None
        unknown = set(secrets) - {"client_secret", "access_token", "transport"}
        if unknown:
            raise RemoteSigningError(f"CSC: unknown parameter(s) {sorted(unknown)}", code="remote_bad_request")
        return cls(
            urlunsplit((scheme, parts.netloc, parts.path, "", "")),
            version=version,
            client_id=query.get("client_id"),
            token_url=query.get("token_url"),
            timeout=timeout,
            poll_path=query.get("poll_path", "signatures/signPolling"),
            **secrets,
        )

    def __repr__(self) -> str:
        return f"CscSigner({self.service_url!r}, version={self.version}, client_id={self._client_id!r})"

    def close(self) -> None:
        self._http.close()

    def info(self) -> dict[str, Any]:
        """The service's ``info`` answer (specs, name, authType, oauth2 base URL, methods); needs no token."""
        url = f"{self.service_url}/csc/v{self.version}/info"
        response = self._send(url, json={"lang": "vi-VN"})
        if response.status_code >= 400:
            raise RemoteSigningError(f"CSC info: HTTP {response.status_code}", code="remote_unreachable")
        return self._json(response, "info")

    # -- the port ---------------------------------------------------------------------------------------------

    def credentials(self) -> Sequence[Credential]:
        body = {"maxResults": 100} if self.version == 1 else {"credentialInfo": False}
        answer = self._call("credentials/list", body)
        ids = answer.get("credentialIDs")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise RemoteSigningError("CSC credentials/list: no credentialIDs list", code="remote_protocol")
        return [self.credential(i) for i in ids]

    def credential(self, credential_id: str) -> Credential:
        info = self._credential_info(credential_id, fresh=True)
        return _credential(credential_id, info)

    def start(self, request: SignRequest) -> RemoteResult:
        if not request.hashes:
            raise RemoteSigningError("nothing to sign", code="remote_bad_request")
        info = self._credential_info(request.credential_id)
        multisign = _int(info.get("multisign", 1))
        if len(request.hashes) > max(multisign, 1):
            raise RemoteSigningError(
                f"credential signs {multisign} hash(es) per authorisation, {len(request.hashes)} asked",
                code="remote_bad_request",
            )
        hashes = [base64.b64encode(h).decode("ascii") for h in request.hashes]
        sad = self._authorize(request, hashes)
        return self._sign_hash(request, info, sad, hashes)

    def poll(self, transaction: str) -> RemoteResult:
        if self.version == 1:
            raise RemoteSigningError(
                "CSC API v1 has no asynchronous signing to poll", code="remote_unknown_transaction"
            )
        status, answer = self._request(self._poll_path, {"responseID": transaction}, allow_errors=True)
        if status == 202 or str(answer.get("status", "")).lower() in ("pending", "waiting", "processing"):
            return RemoteResult(RemoteState.PENDING, transaction=transaction, retry_after=self._poll_interval)
        if status >= 400:
            return self._poll_error(transaction, answer)
        return RemoteResult(RemoteState.DONE, transaction=transaction, signatures=_signatures(answer))

    # -- steps ------------------------------------------------------------------------------------------------

    def _credential_info(self, credential_id: str, *, fresh: bool = False) -> dict[str, Any]:
        if fresh or credential_id not in self._info_cache:
            body = {"credentialID": credential_id, "certificates": "chain", "certInfo": False, "authInfo": True}
            self._info_cache[credential_id] = self._call("credentials/info", body)
        return self._info_cache[credential_id]

    def _authorize(self, request: SignRequest, hashes: list[str]) -> str:
        body: dict[str, Any] = {"credentialID": request.credential_id, "numSignatures": len(hashes)}
        auth = dict(request.authorization)
        if self.version == 1:
            body["hash"] = hashes
            body.update({k: v for k, v in (("PIN", auth.get("PIN")), ("OTP", auth.get("OTP"))) if v is not None})
        else:
            body["hashes"] = hashes
            body["hashAlgorithmOID"] = _digest_oid(request.digest_algorithm)
            data = [{"id": k, "value": v} for k, v in auth.items()]
            if data:
                body["authData"] = data
        if request.description:
            body["description"] = request.description[:500]
        answer = self._call("credentials/authorize", body)
        sad = answer.get("SAD")
        if not isinstance(sad, str) or not sad:
            raise RemoteSigningError("CSC credentials/authorize: no SAD in the answer", code="remote_protocol")
        return sad

    def _sign_hash(self, request: SignRequest, info: dict[str, Any], sad: str, hashes: list[str]) -> RemoteResult:
        algorithm, params = _sign_algo(request, info)
        body: dict[str, Any] = {"credentialID": request.credential_id, "SAD": sad, "signAlgo": algorithm}
        if params is not None:
            body["signAlgoParams"] = params
        if self.version == 1:
            body.update({"hash": hashes, "hashAlgo": _digest_oid(request.digest_algorithm)})
        else:
            body.update(
                {"hashes": hashes, "hashAlgorithmOID": _digest_oid(request.digest_algorithm), "operationMode": "A"}
            )
            if request.callback_url:
                body["response_uri"] = request.callback_url
        answer = self._call("signatures/signHash", body)
        if "signatures" not in answer and isinstance(answer.get("responseID"), str):
            return RemoteResult(RemoteState.PENDING, transaction=answer["responseID"], retry_after=self._poll_interval)
        values = _signatures(answer)
        if len(values) != len(hashes):
            raise RemoteSigningError(
                f"CSC signHash: {len(values)} signature(s) for {len(hashes)} hash(es)", code="remote_protocol"
            )
        return RemoteResult(RemoteState.DONE, signatures=values)

    def _poll_error(self, transaction: str, answer: dict[str, Any]) -> RemoteResult:
        error = str(answer.get("error", ""))
        text = str(answer.get("error_description", ""))
        if error in _REFUSED:
            return RemoteResult(RemoteState.REJECTED, transaction=transaction, message=text or error)
        if "expired" in error.lower() or "expired" in text.lower():
            return RemoteResult(RemoteState.EXPIRED, transaction=transaction, message=text or error)
        if "responseid" in text.lower() or error in ("invalid_response_id", "not_found"):
            raise RemoteSigningError(
                f"CSC does not know transaction {transaction!r}", code="remote_unknown_transaction"
            )
        raise self._error(400, answer)

    # -- HTTP -------------------------------------------------------------------------------------------------

    def _call(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request(endpoint, body)[1]

    def _request(
        self, endpoint: str, body: dict[str, Any], *, allow_errors: bool = False
    ) -> tuple[int, dict[str, Any]]:
        url = f"{self.service_url}/csc/v{self.version}/{endpoint}"
        for attempt in (0, 1):
            response = self._send(url, json=body, headers={"Authorization": f"Bearer {self._bearer()}"})
            if response.status_code == 401 and attempt == 0 and self._secrets["client_secret"] is not None:
                log.info("CSC %s: token refused, fetching a new one", endpoint)
                self._token_expiry = 0.0
                continue
            break
        status = response.status_code
        answer = self._json(response, endpoint)
        if status == 401:
            raise RemoteSigningError(f"CSC {endpoint}: access token refused", code="remote_auth_failed")
        if status >= 500:
            raise RemoteSigningError(f"CSC {endpoint}: service error HTTP {status}", code="remote_unreachable")
        if status >= 400 and not allow_errors:
            raise self._error(status, answer, endpoint)
        return status, answer

    def _send(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.post(url, **kwargs)
        except httpx.TimeoutException as exc:
            raise RemoteSigningError(f"CSC service {self.service_url} timed out", code="remote_unreachable") from exc
        except httpx.TransportError as exc:
            raise RemoteSigningError(
                f"CSC service {self.service_url} unreachable ({type(exc).__name__})", code="remote_unreachable"
            ) from exc

    def _json(self, response: httpx.Response, endpoint: str) -> dict[str, Any]:
        if response.status_code == 202 and not response.content:
            return {}
        try:
            answer = response.json()
        except ValueError:
            if response.status_code >= 400:  # a refusal with an HTML or empty body: the status says enough
                return {}
            raise RemoteSigningError(
                f"CSC {endpoint}: answer is not JSON (HTTP {response.status_code})", code="remote_protocol"
            ) from None
        if not isinstance(answer, dict):
            raise RemoteSigningError(f"CSC {endpoint}: answer is not a JSON object", code="remote_protocol")
        return answer

    def _error(self, status: int, answer: dict[str, Any], endpoint: str = "") -> RemoteSigningError:
        error = str(answer.get("error", f"HTTP {status}"))
        text = self._scrub(str(answer.get("error_description", "")))
        code = "remote_auth_failed" if error in _AUTH_ERRORS else "remote_bad_request"
        where = f"CSC {endpoint}" if endpoint else "CSC"
        return RemoteSigningError(f"{where} refused: {error}{': ' + text if text else ''}", code=code)

    def _scrub(self, text: str) -> str:
        for secret in (*self._secrets.values(), self._token):
            if secret:
                text = text.replace(secret, "***")
        return text[:300]

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._token_expiry:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _fetch_token(self) -> None:
        if self._secrets["client_secret"] is None:
            raise RemoteSigningError("CSC access token expired", code="remote_auth_failed")
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id or "",
            "client_secret": self._secrets["client_secret"],
        }
        response = self._send(self._token_url, data=form)
        if response.status_code >= 500:
            raise RemoteSigningError(f"CSC token endpoint: HTTP {response.status_code}", code="remote_unreachable")
        answer = self._json(response, "oauth2/token")
        token = answer.get("access_token")
        if response.status_code >= 400 or not isinstance(token, str):
            raise RemoteSigningError(
                f"CSC token refused for client {self._client_id!r}: {answer.get('error', response.status_code)}",
                code="remote_auth_failed",
            )
        lifetime = _int(answer.get("expires_in", 3600))
        self._token = token
        self._token_expiry = time.monotonic() + max(lifetime - 30, lifetime / 2)


def _loopback(host: str | None) -> bool:
    if host is None or host == "localhost":
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RemoteSigningError(f"CSC: {value!r} is not a number", code="remote_protocol") from None


def _digest_oid(digest: str) -> str:
    from asn1crypto import algos

    return str(algos.DigestAlgorithmId(digest).dotted)


def _sign_algo(request: SignRequest, info: dict[str, Any]) -> tuple[str, str | None]:
    """(signAlgo OID, base64 DER signAlgoParams or None) for the request."""
    from signing.pdf.keysources import signature_algorithm

    name = request.signature_algorithm
    if not name:
        cert = _certificates(info)[0]
        key = x509.load_der_x509_certificate(cert).public_key()
        name = f"{request.digest_algorithm}_{'ecdsa' if isinstance(key, ec.EllipticCurvePublicKey) else 'rsa'}"
    if name == "rsassa_pss":
        mechanism = signature_algorithm("rsa", request.digest_algorithm, True)
        return str(mechanism["algorithm"].dotted), base64.b64encode(mechanism["parameters"].dump()).decode("ascii")
    from asn1crypto import algos

    try:
        return str(algos.SignedDigestAlgorithmId(name).dotted), None
    except ValueError:
        raise RemoteSigningError(f"signature algorithm {name!r} unknown", code="remote_bad_request") from None


def _certificates(info: dict[str, Any]) -> list[bytes]:
    cert = info.get("cert")
    values = cert.get("certificates") if isinstance(cert, dict) else None
    if not isinstance(values, list) or not values:
        raise RemoteSigningError("CSC credentials/info: no certificates", code="remote_protocol")
    try:
        return [base64.b64decode(v, validate=True) for v in values]
    except (ValueError, TypeError):
        raise RemoteSigningError("CSC credentials/info: certificates are not base64", code="remote_protocol") from None


def _credential(credential_id: str, info: dict[str, Any]) -> Credential:
    certs = _certificates(info)
    try:
        cert = x509.load_der_x509_certificate(certs[0])
    except ValueError:
        raise RemoteSigningError("CSC credentials/info: the certificate is not DER", code="remote_protocol") from None
    key = cert.public_key()
    algorithm = (
        "EC" if isinstance(key, ec.EllipticCurvePublicKey) else "RSA" if isinstance(key, rsa.RSAPublicKey) else ""
    )
    label = str(info.get("description") or cert.subject.rfc4514_string())
    return Credential(
        id=credential_id,
        certificate=certs[0],
        chain=tuple(certs[1:]),
        key_algorithm=algorithm,
        max_signatures=_int(info.get("multisign", 1)),
        label=label,
    )


def _signatures(answer: dict[str, Any]) -> tuple[bytes, ...]:
    values = answer.get("signatures")
    if not isinstance(values, list) or not values:
        raise RemoteSigningError("CSC: the answer carries no signatures", code="remote_protocol")
    try:
        return tuple(base64.b64decode(v, validate=True) for v in values)
    except (ValueError, TypeError):
        raise RemoteSigningError("CSC: signature values are not base64", code="remote_protocol") from None
