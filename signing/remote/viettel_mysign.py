"""Viettel MySign adapter (``viettel-mysign+https://host``): sign hashes, the official confirms in the app.

The integrating system holds ``client_id``/``client_secret`` (and a ``profile_id``); each official is a MySign
``user_id``. A bearer token is obtained per official by logging in and is renewed once when the service answers
401 (a token that expired while the official was still deciding). A credential id here is ``USER_ID`` or
``USER_ID/CREDENTIAL_ID``.

Wire shapes (signing/remote/README.md says which are confirmed by which public source; all ``POST``, JSON):

- ``/vtss/service/ras/v1/login`` {client_id, client_secret, profile_id, user_id} → {access_token, expires_in?}
- ``/vtss/service/certificates/info`` (bearer) {client_id, client_secret, profile_id, user_id, certificates:
  "chain", certInfo, authInfo} → [{credential_id, cert: {certificates: [base64 DER, …], subjectDN?},
  key?: {algo: [OID]}}]
- ``/vtss/service/signHash`` (bearer) {client_id, client_secret, credentialID, numSignatures, documents:
  [{document_id, document_name (base64)}], hash: [base64], hashAlgo (OID), signAlgo (OID), async: 1} →
  {transactionId} (or {signatures} when the service signs at once)
- ``/vtss/service/requests/status`` (bearer) {transactionId} → {status, signatures?}; status ``1`` done,
  ``4000`` waiting for the official, ``6000`` confirmed and signing, ``4001`` timed out, ``4002`` rejected.

Secrets (``client_secret``, tokens) are kept out of ``repr`` and messages.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from typing import Any

from signing.remote._json_http import JsonClient, Unauthorized, key_algorithm, split_credential, unb64
from signing.remote.interfaces import (
    Credential,
    RemoteResult,
    RemoteSigningError,
    RemoteState,
    SignRequest,
)
from signing.remote.vnpt_smartca import _base_url

__all__ = ["SCHEME", "ViettelMySign"]

SCHEME = "viettel-mysign"
SHA256_OID = "2.16.840.1.101.3.4.2.1"
RSA_OID = "1.2.840.113549.1.1.1"
EC_OID = "1.2.840.10045.2.1"
_PENDING = {"4000", "6000", "0"}
_TERMINAL = {"4001": RemoteState.EXPIRED, "4002": RemoteState.REJECTED}


class ViettelMySign:
    """A :class:`~signing.remote.interfaces.RemoteSigner` for Viettel MySign (see the module docstring)."""

    def __init__(
        self, base_url: str, *, client_id: str, client_secret: str, profile_id: str = "", user_id: str = "",
        name: str = SCHEME, timeout: float = 20.0, poll_seconds: float = 2.0,
    ) -> None:
        if not client_id or not client_secret:
            raise RemoteSigningError("Viettel MySign needs client_id and client_secret", code="remote_auth_failed")
        self.name = name
        self._http = JsonClient(base_url, timeout=timeout)
        self._client_id = client_id
        self._client_secret = client_secret
        self._profile_id = profile_id
        self._user_id = user_id
        self._poll_seconds = poll_seconds
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ViettelMySign:
        """``viettel-mysign+https://host`` with ``client_id``, ``client_secret``, ``profile_id`` and optionally
        ``user_id`` (the official listed by :meth:`credentials`) as options."""
        return cls(_base_url(url, SCHEME), **options)

    def __repr__(self) -> str:
        return f"ViettelMySign({self._http.base_url!r}, client_id={self._client_id!r})"

    # --- tokens ---

    def _login(self, user: str) -> str:
        body = {"client_id": self._client_id, "client_secret": self._client_secret, "profile_id": self._profile_id,
                "user_id": user}
        answer = self._http.post("/vtss/service/ras/v1/login", body)
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise RemoteSigningError("login: no access_token in the answer", code="remote_auth_failed")
        with self._lock:
            self._tokens[user] = token
        return token

    def _call(self, user: str, path: str, body: dict[str, Any]) -> Any:
        """POST with ``user``'s token; on 401 log in again once (the token expired meanwhile) and retry."""
        with self._lock:
            token = self._tokens.get(user)
        if token is None:
            token = self._login(user)
        try:
            return self._http.post(path, body, token=token)
        except Unauthorized:
            return self._http.post(path, body, token=self._login(user))

    # --- the port ---

    def _certificates(self, user: str) -> list[Credential]:
        body = {"client_id": self._client_id, "client_secret": self._client_secret, "profile_id": self._profile_id,
                "user_id": user, "certificates": "chain", "certInfo": True, "authInfo": True}
        answer = self._call(user, "/vtss/service/certificates/info", body)
        if not isinstance(answer, list):
            raise RemoteSigningError("certificates/info: the answer is not a list", code="remote_protocol")
        return [_credential(user, item) for item in answer]

    def credentials(self) -> Sequence[Credential]:
        return self._certificates(self._user_id) if self._user_id else []

    def credential(self, credential_id: str) -> Credential:
        user, cred = split_credential(credential_id)
        found = self._certificates(user)
        if cred:
            found = [c for c in found if c.id == credential_id]
        if len(found) != 1:
            what = "no certificate" if not found else "several certificates: name one as USER/CREDENTIAL"
            raise RemoteSigningError(f"credential {credential_id!r}: {what}", code="remote_bad_request")
        return found[0]

    def start(self, request: SignRequest) -> RemoteResult:
        if request.digest_algorithm.lower() != "sha256":
            raise RemoteSigningError("Viettel MySign signs SHA-256 digests here", code="remote_bad_request")
        credential = self.credential(request.credential_id)
        user, _ = split_credential(request.credential_id)
        name = base64.b64encode((request.description or "edoc")[:60].encode()).decode()
        body = {
            "client_id": self._client_id, "client_secret": self._client_secret,
            "credentialID": credential.id.split("/", 1)[1], "numSignatures": len(request.hashes),
            "documents": [{"document_id": f"d{n}", "document_name": name} for n in range(len(request.hashes))],
            "hash": [base64.b64encode(h).decode() for h in request.hashes], "hashAlgo": SHA256_OID,
            "signAlgo": RSA_OID if credential.key_algorithm == "RSA" else EC_OID, "async": 1,
        }
        answer = self._call(user, "/vtss/service/signHash", body)
        if not isinstance(answer, dict):
            raise RemoteSigningError("signHash: the answer is not an object", code="remote_protocol")
        if answer.get("signatures"):
            return RemoteResult(RemoteState.DONE, signatures=_values(answer["signatures"]))
        transaction = answer.get("transactionId")
        if not isinstance(transaction, str) or not transaction:
            raise RemoteSigningError("signHash: no transactionId in the answer", code="remote_protocol")
        # The transaction id handed back carries the user, whose token polls it: it survives a restart.
        return RemoteResult(RemoteState.PENDING, transaction=f"{user}|{transaction}", retry_after=self._poll_seconds)

    def poll(self, transaction: str) -> RemoteResult:
        """The status of ``transaction`` (``USER|TRANSACTION`` as :meth:`start` returned it)."""
        user, _, tx = transaction.rpartition("|")
        if not tx or not user or len(transaction) > 400:
            raise RemoteSigningError("not a MySign transaction id", code="remote_unknown_transaction")
        answer = self._call(user, "/vtss/service/requests/status", {"transactionId": tx})
        if not isinstance(answer, dict):
            raise RemoteSigningError("requests/status: the answer is not an object", code="remote_protocol")
        return self._result(transaction, answer)

    def _result(self, transaction: str, answer: dict[str, Any]) -> RemoteResult:
        status = str(answer.get("status", "")).strip()
        message = str(answer.get("description") or status)[:200]
        if status == "1":
            return RemoteResult(RemoteState.DONE, transaction=transaction, signatures=_values(answer.get("signatures")),
                                message=message)
        if status in _PENDING:
            return RemoteResult(RemoteState.PENDING, transaction=transaction, retry_after=self._poll_seconds,
                                message=message)
        if status in _TERMINAL:
            return RemoteResult(_TERMINAL[status], transaction=transaction, message=message)
        raise RemoteSigningError(f"requests/status: the provider reports status {status or 'none'}",
                                 code="remote_protocol")

    def close(self) -> None:
        self._http.close()


def _values(signatures: Any) -> tuple[bytes, ...]:
    if not isinstance(signatures, list) or not signatures:
        raise RemoteSigningError("the provider sent no signatures", code="remote_protocol")
    return tuple(unb64(s, "signature value") for s in signatures)


def _credential(user: str, item: Any) -> Credential:
    if not isinstance(item, dict) or not item.get("credential_id"):
        raise RemoteSigningError("certificates/info: an entry without credential_id", code="remote_protocol")
    found = item.get("cert")
    cert: dict[str, Any] = found if isinstance(found, dict) else {}
    listed = cert.get("certificates")
    if not isinstance(listed, list) or not listed:
        raise RemoteSigningError("certificates/info: an entry without certificates", code="remote_protocol")
    ders = [unb64(c, "certificate") for c in listed]
    return Credential(id=f"{user}/{item['credential_id']}", certificate=ders[0], chain=tuple(ders[1:]),
                      key_algorithm=key_algorithm(ders[0]), max_signatures=10,
                      label=str(cert.get("subjectDN") or item["credential_id"])[:200])
