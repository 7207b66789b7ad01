"""Small test servers speaking VNPT SmartCA's and Viettel MySign's JSON shapes (signing/remote/README.md), backed
by a PKCS#12 key of the test PKI (TEST ONLY), on a free 127.0.0.1 port.

A sign request waits for the test to act as the official's phone: :meth:`confirm` signs the pending hashes,
:meth:`reject` and :meth:`expire` end it the other ways. Bad-day switches: ``sign_with`` (another key: the value
will not verify), ``certificate`` (serve another certificate than the one that signs), :meth:`expire_tokens`
(MySign bearer tokens stop working: 401), ``failures`` (answer 503 that many times). ``sign_requests`` counts
the sign calls received, so a test can show a retry never asks the official twice.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs12

__all__ = ["MySignServer", "SmartCAServer", "TestKey", "load_test_key"]

USER = "079200000001"  # the official's user id on the test servers (a made-up citizen id)
SP_ID, SP_PASSWORD = "edoc-test-sp", "test-sp-password-not-secret"  # TEST ONLY
CLIENT_ID, CLIENT_SECRET = "edoc-test-client", "test-client-secret-not-secret"  # TEST ONLY


@dataclass
class TestKey:
    """A private key and its certificate chain (DER), from the test PKI. TEST ONLY."""

    __test__ = False
    key: Any
    certificate: bytes
    chain: tuple[bytes, ...] = ()

    def sign_digest(self, digest: bytes) -> bytes:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        assert isinstance(self.key, ec.EllipticCurvePrivateKey)
        return self.key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def load_test_key(p12: Path, password: bytes) -> TestKey:
    key, cert, extra = pkcs12.load_key_and_certificates(p12.read_bytes(), password)
    assert cert is not None
    der = cert.public_bytes(serialization.Encoding.DER)
    return TestKey(key, der, tuple(c.public_bytes(serialization.Encoding.DER) for c in extra or ()))


@dataclass
class _Tx:
    id: str
    user: str
    hashes: list[bytes]
    state: str = "waiting"  # waiting | signed | rejected | expired
    values: list[bytes] = field(default_factory=list)


class _Server:
    """The HTTP plumbing and the phone controls shared by both providers."""

    def __init__(self, key: TestKey) -> None:
        self.key = key
        self.sign_with: TestKey | None = None
        self.certificate: bytes | None = None
        self.failures = 0
        self.sign_requests = 0
        self.txs: dict[str, _Tx] = {}
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> _Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- the official's phone ---

    def latest(self) -> _Tx:
        with self.lock:
            return list(self.txs.values())[-1]

    def _find(self, tx: str | None) -> _Tx:
        """The transaction ``tx`` (as the server or the adapter names it: MySign's adapter prefixes the user),
        or the latest one."""
        return self.txs[tx.rpartition("|")[2]] if tx else list(self.txs.values())[-1]

    def confirm(self, tx: str | None = None) -> None:
        with self.lock:
            item = self._find(tx)
            signer = self.sign_with or self.key
            item.values = [signer.sign_digest(h) for h in item.hashes]
            item.state = "signed"

    def reject(self, tx: str | None = None) -> None:
        self._end(tx, "rejected")

    def expire(self, tx: str | None = None) -> None:
        self._end(tx, "expired")

    def _end(self, tx: str | None, state: str) -> None:
        with self.lock:
            self._find(tx).state = state

    def _new_tx(self, user: str, hashes: list[bytes]) -> _Tx:
        with self.lock:
            self.sign_requests += 1
            item = _Tx(secrets.token_hex(8), user, hashes)
            self.txs[item.id] = item
            return item

    def cert_b64(self) -> str:
        return base64.b64encode(self.certificate or self.key.certificate).decode()

    def chain_b64(self) -> list[str]:
        return [base64.b64encode(c).decode() for c in self.key.chain]

    def handle(self, path: str, body: Any, token: str | None) -> tuple[int, Any]:
        raise NotImplementedError


def _handler(server: _Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:  # quiet test output
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            auth = self.headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else None
            with server.lock:
                failing = server.failures > 0
                server.failures -= 1 if failing else 0
            if failing:
                status, answer = 503, {"message": "unavailable"}
            else:
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    status, answer = 400, {"message": "not JSON"}
                else:
                    status, answer = server.handle(self.path, body, token)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


class SmartCAServer(_Server):
    """VNPT SmartCA's shapes under ``/sca/sp769`` (``url`` is the provider URL for the adapter)."""

    PREFIX = "/sca/sp769"

    @property
    def url(self) -> str:
        return f"vnpt-smartca+http://127.0.0.1:{self.port}{self.PREFIX}"

    def handle(self, path: str, body: Any, token: str | None) -> tuple[int, Any]:
        if not path.startswith(self.PREFIX):
            return 404, {"message": "no such path"}
        path = path[len(self.PREFIX):]
        if path.startswith("/v1/signatures/sign/") and path.endswith("/status"):
            return self._status(path.split("/")[4])
        if body.get("sp_id") != SP_ID or body.get("sp_password") != SP_PASSWORD:
            return 200, {"status_code": 401, "message": "sp_id/sp_password invalid", "data": None}
        if body.get("user_id") != USER:
            return 200, {"status_code": 404, "message": "user not found", "data": None}
        if path == "/v1/credentials/get_certificate":
            return 200, {"status_code": 200, "message": "SUCCESS", "data": {"user_certificates": [self._cert()]}}
        if path == "/v1/signatures/sign":
            hashes = [bytes.fromhex(f["data_to_be_signed"]) for f in body.get("sign_files", [])]
            item = self._new_tx(body["user_id"], hashes)
            return 200, {"status_code": 200, "message": "SUCCESS",
                         "data": {"transaction_id": body.get("transaction_id"), "tran_code": item.id,
                                  "expired_in": 300}}
        return 404, {"message": "no such path"}

    def _cert(self) -> dict[str, Any]:
        chain = self.chain_b64()
        serial = format(x509.load_der_x509_certificate(self.key.certificate).serial_number, "x")
        return {"serial_number": serial, "cert_status_code": "VALID", "cert_status": "Đang hoạt động",
                "cert_subject": "CN=Nguyễn Văn An", "cert_data": self.cert_b64(),
                "chain_data": {"ca_cert": chain[0] if chain else None,
                               "root_cert": chain[1] if len(chain) > 1 else None}}

    def _status(self, tx: str) -> tuple[int, Any]:
        with self.lock:
            item = self.txs.get(tx)
        if item is None:
            return 200, {"status_code": 404, "message": "TRANSACTION_NOT_FOUND", "data": None}
        if item.state == "signed":
            signatures = [{"doc_id": f"d{n}", "signature_value": base64.b64encode(v).decode()}
                          for n, v in enumerate(item.values)]
            return 200, {"status_code": 200, "message": "SUCCESS", "data": {"transaction_id": tx,
                                                                             "signatures": signatures}}
        word = {"waiting": "PENDING", "rejected": "REJECTED", "expired": "EXPIRED"}[item.state]
        return 200, {"status_code": 200, "message": word, "data": {"transaction_id": tx, "signatures": None}}


class MySignServer(_Server):
    """Viettel MySign's shapes under ``/vtss/service`` (``url`` is the provider URL for the adapter)."""

    def __init__(self, key: TestKey) -> None:
        super().__init__(key)
        self.tokens: dict[str, str] = {}
        self.logins = 0

    @property
    def url(self) -> str:
        return f"viettel-mysign+http://127.0.0.1:{self.port}"

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def handle(self, path: str, body: Any, token: str | None) -> tuple[int, Any]:
        if path == "/vtss/service/ras/v1/login":
            return self._login(body)
        with self.lock:
            user = self.tokens.get(token or "")
        if user is None:
            return 401, {"error": "invalid_token", "error_description": "token expired"}
        if path == "/vtss/service/certificates/info":
            cert = {"certificates": [self.cert_b64(), *self.chain_b64()], "subjectDN": "CN=Nguyễn Văn An"}
            return 200, [{"credential_id": "cred-1", "cert": cert, "key": {"algo": ["1.2.840.113549.1.1.1"]}}]
        if path == "/vtss/service/signHash":
            if body.get("client_secret") != CLIENT_SECRET or body.get("credentialID") != "cred-1":
                return 400, {"error": "invalid_request", "error_description": "bad credential"}
            item = self._new_tx(user, [base64.b64decode(h) for h in body.get("hash", [])])
            return 200, {"transactionId": item.id}
        if path == "/vtss/service/requests/status":
            return self._status(str(body.get("transactionId", "")))
        return 404, {"error": "not_found"}

    def _login(self, body: Any) -> tuple[int, Any]:
        ok = body.get("client_id") == CLIENT_ID and body.get("client_secret") == CLIENT_SECRET
        if not ok or body.get("user_id") != USER:
            return 400, {"error": "invalid_client", "error_description": "login refused"}
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[token] = body["user_id"]
            self.logins += 1
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def _status(self, tx: str) -> tuple[int, Any]:
        with self.lock:
            item = self.txs.get(tx)
        if item is None:
            return 404, {"error": "not_found", "error_description": "transaction not found"}
        if item.state == "signed":
            return 200, {"status": "1", "description": "Ký thành công",
                         "signatures": [base64.b64encode(v).decode() for v in item.values]}
        code = {"waiting": "4000", "rejected": "4002", "expired": "4001"}[item.state]
        return 200, {"status": code, "description": item.state}
