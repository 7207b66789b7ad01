"""A Cloud Signature Consortium (CSC) API server for the tests, on 127.0.0.1 (free port), keys in SoftHSM2.

TEST ONLY. It speaks CSC API v1.0.4.0 and v2 closely enough that pyHanko's own CSC client (``CSCSigner``) signs
against it (tests/integration/test_remote_signing_csc.py), so it is a real peer, not shaped to our adapter:

* ``POST /oauth2/token``: OAuth2 client credentials (form or HTTP Basic), bearer tokens with an expiry;
* ``POST /csc/v{1,2}/info``, ``credentials/list``, ``credentials/info`` (``cert.certificates`` = the chain,
  ``key.algo`` OIDs, ``multisign``, ``SCAL`` "2", PIN required), ``credentials/authorize`` (PIN as v1 ``PIN`` or
  v2 ``authData``; the SAD is bound to the exact hashes, to ``numSignatures`` and to an expiry);
* ``signatures/signHash``: v1 (``hash``, ``hashAlgo``) and v2 (``hashes``, ``hashAlgorithmOID``); v2 with
  ``operationMode: "A"`` answers a ``responseID`` and stays pending until the signer "confirms on the phone";
* ``signatures/signPolling`` (``responseID``): 202 pending, 200 ``signatures``, 400 ``access_denied`` (rejected),
  400 ``expired`` (the window closed);
* test controls ``POST /_test/{confirm,reject,expire}`` (``{"responseID": ...}``), ``/_test/expire_tokens``,
  ``/_test/mode`` (``{"mode": "normal" | "corrupt" | "wrong_key" | "http500" | "garbage"}``), the same
  as methods of :class:`CscTestServer`.

The key stays in the token: hashes are signed with PKCS#11 (``CKM_RSA_PKCS`` over a DigestInfo, ``CKM_RSA_PKCS_PSS``,
``CKM_ECDSA``). :class:`SoftwareKey` is the same for a key in memory (benchmarks, EC credentials).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from asn1crypto import algos
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from tests.support.pki.server import LocalHttpServer

__all__ = ["CscTestServer", "HashKey", "SoftHsmKey", "SoftwareKey", "running_csc_server"]

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class HashKey(Protocol):
    """A key that signs a precomputed hash: ``scheme`` is ``"pkcs1"``, ``"pss"`` or ``"ecdsa"`` (DER out)."""

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes: ...


class SoftwareKey:
    """A private key in memory (TEST ONLY)."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        algorithm = utils.Prehashed(_HASHES[hash_name]())
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(digest, ec.ECDSA(algorithm))
        assert isinstance(self._key, rsa.RSAPrivateKey)
        if scheme == "pss":
            pad: padding.AsymmetricPadding = padding.PSS(
                mgf=padding.MGF1(_HASHES[hash_name]()), salt_length=_HASHES[hash_name]().digest_size
            )
        else:
            pad = padding.PKCS1v15()
        return self._key.sign(digest, pad, algorithm)


class SoftHsmKey:
    """A private RSA key inside a SoftHSM2 token (python-pkcs11); the key never leaves the token."""

    def __init__(self, module_path: str, token_label: str, pin: str, key_label: str) -> None:
        import pkcs11

        self._token = pkcs11.lib(module_path).get_token(token_label=token_label)
        try:
            self._session = self._token.open(user_pin=pin)
        except pkcs11.exceptions.UserAlreadyLoggedIn:
            # PKCS#11 login is per process and token: a key source of the same test process (pyHanko's session,
            # kept open by the key-source cache) logged in first; this session shares that login.
            self._session = self._token.open()
        self._key = self._session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=key_label)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._session.close()

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        from pkcs11 import MGF, Mechanism

        with self._lock:
            if scheme == "pss":
                mech = {"sha256": Mechanism.SHA256, "sha384": Mechanism.SHA384, "sha512": Mechanism.SHA512}[hash_name]
                mgf = {"sha256": MGF.SHA256, "sha384": MGF.SHA384, "sha512": MGF.SHA512}[hash_name]
                return bytes(
                    self._key.sign(digest, mechanism=Mechanism.RSA_PKCS_PSS, mechanism_param=(mech, mgf, len(digest)))
                )
            info = algos.DigestInfo({"digest_algorithm": {"algorithm": hash_name}, "digest": digest}).dump()
            return bytes(self._key.sign(info, mechanism=Mechanism.RSA_PKCS))


@dataclass
class _Credential:
    key: HashKey
    certificates: list[bytes]  # signer first, then the chain (CSC order)
    pin: str
    multisign: int
    wrong_key: HashKey | None = None


@dataclass
class _Sad:
    credential_id: str
    hashes: list[str] | None
    remaining: int
    expires: float


@dataclass
class _Pending:
    credential_id: str
    hashes: list[bytes]
    hash_name: str
    scheme: str
    expires: float
    state: str = "pending"  # pending | done | rejected
    signatures: list[str] = field(default_factory=list)


class CscError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


_SIGN_ALGOS = {
    "1.2.840.113549.1.1.1": ("pkcs1", None),  # rsaEncryption: hash from hashAlgo
    "1.2.840.113549.1.1.11": ("pkcs1", "sha256"),
    "1.2.840.113549.1.1.12": ("pkcs1", "sha384"),
    "1.2.840.113549.1.1.13": ("pkcs1", "sha512"),
    "1.2.840.113549.1.1.10": ("pss", None),
    "1.2.840.10045.2.1": ("ecdsa", None),  # ecPublicKey: hash from hashAlgo
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
}
_RSA_ALGOS = [
    "1.2.840.113549.1.1.11",
    "1.2.840.113549.1.1.12",
    "1.2.840.113549.1.1.13",
    "1.2.840.113549.1.1.10",
    "1.2.840.113549.1.1.1",
]
_EC_ALGOS = ["1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"]


class CscTestServer:
    """The server's state and WSGI application (see the module docstring)."""

    def __init__(self, *, token_ttl: float = 3600, sad_ttl: float = 300, pending_ttl: float = 300) -> None:
        self.clients: dict[str, str] = {}
        self.credentials: dict[str, _Credential] = {}
        self.tokens: dict[str, float] = {}
        self.sads: dict[str, _Sad] = {}
        self.pending: dict[str, _Pending] = {}
        self.token_ttl, self.sad_ttl, self.pending_ttl = token_ttl, sad_ttl, pending_ttl
        self.auto_confirm = False
        self.mode = "normal"
        self.requests: list[str] = []  # endpoint names, in order (for assertions)
        self._lock = threading.RLock()
        self._http = LocalHttpServer()
        self._http.attach(self.wsgi)

    @property
    def url(self) -> str:
        return self._http.url

    # -- set-up and test controls ----------------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str) -> None:
        self.clients[client_id] = secret

    def add_credential(
        self,
        credential_id: str,
        key: HashKey,
        certificates: list[bytes],
        *,
        pin: str = "123456",
        multisign: int = 5,
        wrong_key: HashKey | None = None,
    ) -> None:
        self.credentials[credential_id] = _Credential(key, list(certificates), pin, multisign, wrong_key)

    def set_certificates(self, credential_id: str, certificates: list[bytes]) -> None:
        self.credentials[credential_id].certificates = list(certificates)

    def confirm(self, response_id: str) -> None:
        with self._lock:
            pending = self._pending(response_id)
            pending.signatures = self._sign(pending.credential_id, pending.hashes, pending.hash_name, pending.scheme)
            pending.state = "done"

    def reject(self, response_id: str) -> None:
        with self._lock:
            self._pending(response_id).state = "rejected"

    def expire(self, response_id: str) -> None:
        with self._lock:
            self._pending(response_id).expires = 0.0

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens = {t: 0.0 for t in self.tokens}

    def last_response_id(self) -> str:
        return list(self.pending)[-1]

    # -- WSGI -------------------------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            status, body = self._route(request)
        except CscError as exc:
            status, body = exc.status, {"error": exc.error, "error_description": exc.description}
        except HTTPException as exc:
            status, body = exc.code or 400, {"error": "invalid_request", "error_description": exc.description}
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def _route(self, request: Request) -> tuple[int, dict[str, Any]]:
        path = request.path
        if path == "/oauth2/token":
            return 200, self._token(request)
        if path.startswith("/_test/"):
            return self._control(path.removeprefix("/_test/"), request.get_json(silent=True) or {})
        for version in ("v1", "v2"):
            prefix = f"/csc/{version}/"
            if path.startswith(prefix):
                endpoint = path.removeprefix(prefix)
                self.requests.append(endpoint)
                body = request.get_json(silent=True)
                if not isinstance(body, dict):
                    body = {}
                if self.mode == "http500":
                    raise CscError(500, "server_error", "internal error")
                if self.mode == "garbage" and endpoint != "info":
                    return 200, {"unexpected": True}
                if endpoint == "info":
                    return 200, self._info(version, request.host_url.rstrip("/"))
                self._check_token(request)
                handler = _ENDPOINTS.get(endpoint)
                if handler is None:
                    raise CscError(404, "invalid_request", f"unknown endpoint {endpoint}")
                return handler(self, version, body)
        raise CscError(404, "invalid_request", "not found")

    def _control(self, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if action == "expire_tokens":
            self.expire_tokens()
        elif action == "mode":
            self.mode = str(body.get("mode", "normal"))
        elif action in ("confirm", "reject", "expire"):
            getattr(self, action)(str(body.get("responseID")))
        else:
            raise CscError(404, "invalid_request", f"unknown control {action}")
        return 200, {}

    def _token(self, request: Request) -> dict[str, Any]:
        form = request.form
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if request.authorization is not None and request.authorization.type == "basic":
            client_id, secret = request.authorization.username, request.authorization.password
        if form.get("grant_type") != "client_credentials":
            raise CscError(400, "unsupported_grant_type", "only client_credentials")
        if client_id not in self.clients or not secrets.compare_digest(self.clients[client_id], secret or ""):
            raise CscError(401, "invalid_client", "unknown client or wrong secret")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
        return {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_ttl)}

    def _check_token(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        with self._lock:
            expiry = self.tokens.get(token)
        if expiry is None or expiry <= time.monotonic():
            raise CscError(401, "invalid_token", "access token missing, unknown or expired")

    def _info(self, version: str, base: str) -> dict[str, Any]:
        methods = [
            "oauth2/token",
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "signatures/signHash",
        ] + (["signatures/signPolling"] if version == "v2" else [])
        return {
            "specs": "1.0.4.0" if version == "v1" else "2.0.0.2",
            "name": "edoc-gateway CSC test server (TEST ONLY)",
            "logo": "",
            "region": "VN",
            "lang": "vi-VN",
            "description": "TEST ONLY",
            "authType": ["oauth2client"],
            "oauth2": base,
            "methods": methods,
        }

    def _credential(self, body: dict[str, Any]) -> tuple[str, _Credential]:
        credential_id = str(body.get("credentialID", ""))
        credential = self.credentials.get(credential_id)
        if credential is None:
            raise CscError(400, "invalid_request", "Invalid parameter credentialID")
        return credential_id, credential

    def _list(self, version: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"credentialIDs": list(self.credentials)}

    def _credential_info(self, version: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _, credential = self._credential(body)
        certs = (
            credential.certificates if body.get("certificates", "single") == "chain" else credential.certificates[:1]
        )
        public_key = x509.load_der_x509_certificate(credential.certificates[0]).public_key()
        is_ec = isinstance(public_key, ec.EllipticCurvePublicKey)
        answer: dict[str, Any] = {
            "description": "TEST ONLY credential",
            "key": {"status": "enabled", "algo": _EC_ALGOS if is_ec else _RSA_ALGOS, "len": 256 if is_ec else 2048},
            "cert": {"status": "valid", "certificates": [base64.b64encode(c).decode() for c in certs]},
            "multisign": credential.multisign,
            "SCAL": "2",
        }
        if version == "v1":
            answer.update(
                {
                    "authMode": "explicit",
                    "PIN": {"presence": "true", "format": "N", "label": "PIN"},
                    "OTP": {"presence": "false"},
                }
            )
        else:
            answer["auth"] = {"mode": "explicit", "objects": [{"type": "Password", "id": "PIN", "format": "N"}]}
        return 200, answer

    def _authorize(self, version: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        credential_id, credential = self._credential(body)
        pin = body.get("PIN")
        for item in body.get("authData") or []:
            if isinstance(item, dict) and item.get("id") == "PIN":
                pin = item.get("value")
        if not isinstance(pin, str) or not secrets.compare_digest(pin, credential.pin):
            raise CscError(400, "invalid_pin", "The PIN is invalid")
        hashes = body.get("hash") if version == "v1" else body.get("hashes")
        if not isinstance(hashes, list) or not hashes:  # SCAL 2: the SAD must be bound to the hashes
            raise CscError(400, "invalid_request", "Missing (or invalid type) array parameter hash")
        count = int(body.get("numSignatures", 0))
        if count < len(hashes) or count > credential.multisign:
            raise CscError(400, "invalid_request", "Invalid parameter numSignatures")
        sad = secrets.token_urlsafe(24)
        with self._lock:
            self.sads[sad] = _Sad(credential_id, [str(h) for h in hashes], count, time.monotonic() + self.sad_ttl)
        return 200, {"SAD": sad, "expiresIn": int(self.sad_ttl)}

    def _sign_hash(self, version: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        credential_id, _ = self._credential(body)
        b64s = body.get("hash") if version == "v1" else body.get("hashes")
        hash_oid = body.get("hashAlgo") if version == "v1" else body.get("hashAlgorithmOID")
        if not isinstance(b64s, list) or not b64s:
            raise CscError(400, "invalid_request", "Missing (or invalid type) array parameter hash")
        scheme, hash_name = self._algorithm(str(body.get("signAlgo", "")), hash_oid, body.get("signAlgoParams"))
        self._use_sad(str(body.get("SAD", "")), credential_id, [str(h) for h in b64s])
        try:
            digests = [base64.b64decode(h, validate=True) for h in b64s]
        except ValueError:
            raise CscError(400, "invalid_request", "Invalid Base64 hash string parameter") from None
        if any(len(d) != _HASHES[hash_name]().digest_size for d in digests):
            raise CscError(400, "invalid_request", "Invalid hash length for hashAlgo")
        if version == "v2" and body.get("operationMode") == "A" and not self.auto_confirm:
            response_id = secrets.token_urlsafe(16)
            with self._lock:
                self.pending[response_id] = _Pending(
                    credential_id, digests, hash_name, scheme, time.monotonic() + self.pending_ttl
                )
            return 200, {"responseID": response_id}
        return 200, {"signatures": self._sign(credential_id, digests, hash_name, scheme)}

    def _poll(self, version: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response_id = str(body.get("responseID", ""))
        with self._lock:
            pending = self._pending(response_id)
            if pending.state == "done":
                return 200, {"signatures": pending.signatures}
            if pending.state == "rejected":
                raise CscError(400, "access_denied", "The user rejected the signature request")
            if pending.expires <= time.monotonic():
                raise CscError(400, "expired", "The signature request expired before the user confirmed it")
        return 202, {"responseID": response_id, "status": "pending"}

    # -- helpers ----------------------------------------------------------------------------------------------

    def _pending(self, response_id: str) -> _Pending:
        pending = self.pending.get(response_id)
        if pending is None:
            raise CscError(400, "invalid_request", "Invalid parameter responseID")
        return pending

    def _algorithm(self, sign_algo: str, hash_oid: Any, params: Any) -> tuple[str, str]:
        if sign_algo not in _SIGN_ALGOS:
            raise CscError(400, "invalid_request", "Invalid parameter signAlgo")
        scheme, hash_name = _SIGN_ALGOS[sign_algo]
        if hash_oid:
            try:
                named = algos.DigestAlgorithmId(str(hash_oid)).native
            except ValueError:
                raise CscError(400, "invalid_request", "Invalid parameter hashAlgo") from None
            if hash_name is not None and named != hash_name:
                raise CscError(400, "invalid_request", "hashAlgo does not match signAlgo")
            hash_name = named
        if scheme == "pss":
            if not params:
                raise CscError(400, "invalid_request", "Missing parameter signAlgoParams")
            pss = algos.RSASSAPSSParams.load(base64.b64decode(str(params)))
            hash_name = pss["hash_algorithm"]["algorithm"].native
        if hash_name not in _HASHES:
            raise CscError(400, "invalid_request", "Missing parameter hashAlgo")
        return scheme, hash_name

    def _use_sad(self, sad_value: str, credential_id: str, b64s: list[str]) -> None:
        with self._lock:
            sad = self.sads.get(sad_value)
            if sad is None or sad.credential_id != credential_id:
                raise CscError(400, "invalid_request", "Invalid parameter SAD")
            if sad.expires <= time.monotonic():
                raise CscError(400, "invalid_request", "SAD expired")
            if sad.hashes is not None and not set(b64s) <= set(sad.hashes):
                raise CscError(400, "invalid_request", "The hash is not bound to the SAD")
            if len(b64s) > sad.remaining:
                raise CscError(400, "invalid_request", "Number of signatures authorised by the SAD exceeded")
            sad.remaining -= len(b64s)
            if sad.remaining == 0:
                del self.sads[sad_value]

    def _sign(self, credential_id: str, digests: list[bytes], hash_name: str, scheme: str) -> list[str]:
        credential = self.credentials[credential_id]
        key = credential.wrong_key if self.mode == "wrong_key" and credential.wrong_key else credential.key
        values = [key.sign_digest(d, hash_name, scheme) for d in digests]
        if self.mode == "corrupt":
            values = [v[:-1] + bytes([v[-1] ^ 0x01]) for v in values]
        return [base64.b64encode(v).decode() for v in values]

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> CscTestServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()


_ENDPOINTS = {
    "credentials/list": CscTestServer._list,
    "credentials/info": CscTestServer._credential_info,
    "credentials/authorize": CscTestServer._authorize,
    "signatures/signHash": CscTestServer._sign_hash,
    "signatures/signPolling": CscTestServer._poll,
}


@contextmanager
def running_csc_server(**kwargs: Any) -> Iterator[CscTestServer]:
    """A started :class:`CscTestServer`, stopped on exit."""
    server = CscTestServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
