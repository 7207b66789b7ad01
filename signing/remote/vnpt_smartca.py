"""VNPT SmartCA adapter (``vnpt-smartca+https://host/sca/sp769``): sign a hash, the official confirms in the app.

The service-provider account (``sp_id``/``sp_password``, issued by VNPT to the integrating system) signs for many
officials; each official is a SmartCA ``user_id`` (usually the citizen id number) holding one or more
certificates. A credential id here is ``USER_ID`` or ``USER_ID/SERIAL_NUMBER``.

Wire shapes (signing/remote/README.md says which are confirmed by which public source; all ``POST``, JSON):

- ``/v1/credentials/get_certificate`` {sp_id, sp_password, user_id, serial_number, transaction_id} →
  {status_code, message, data: {user_certificates: [{serial_number, cert_data (base64 DER), cert_status_code
  ("VALID"), chain_data?: {ca_cert, root_cert}}]}}
- ``/v1/signatures/sign`` {sp_id, sp_password, user_id, transaction_id, transaction_desc, serial_number,
  sign_files: [{data_to_be_signed (hex digest), doc_id, file_type, sign_type: "hash"}]} →
  {data: {transaction_id, tran_code?, expired_in?}}
- ``/v1/signatures/sign/{transaction}/status`` {} → {message: PENDING|SUCCESS|REJECTED|EXPIRED…,
  data: {signatures: [{doc_id, signature_value (base64)}] | null, expired_in?}}

Secrets (``sp_password``) are kept out of ``repr`` and messages.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from signing.remote._json_http import JsonClient, key_algorithm, split_credential, unb64
from signing.remote.interfaces import (
    Credential,
    RemoteResult,
    RemoteSigningError,
    RemoteState,
    SignRequest,
)

__all__ = ["SCHEME", "VnptSmartCA"]

SCHEME = "vnpt-smartca"
_REJECTED = {"REJECTED", "REJECT", "CANCELLED", "CANCELED", "DENIED"}
_EXPIRED = {"EXPIRED", "TIMEOUT"}
_FAILED = {"FAILED", "ERROR"}


class VnptSmartCA:
    """A :class:`~signing.remote.interfaces.RemoteSigner` for VNPT SmartCA (see the module docstring)."""

    def __init__(
        self, base_url: str, *, sp_id: str, sp_password: str, user_id: str = "", name: str = SCHEME,
        timeout: float = 20.0, poll_seconds: float = 3.0,
    ) -> None:
        if not sp_id or not sp_password:
            raise RemoteSigningError("VNPT SmartCA needs sp_id and sp_password", code="remote_auth_failed")
        self.name = name
        self._http = JsonClient(base_url, timeout=timeout)
        self._sp_id = sp_id
        self._sp_password = sp_password
        self._user_id = user_id
        self._poll_seconds = poll_seconds

    @classmethod
    def from_url(cls, url: str, **options: Any) -> VnptSmartCA:
        """``vnpt-smartca+https://host/path`` (or ``+http`` for a local test server) with ``sp_id``,
        ``sp_password`` and optionally ``user_id`` (the official listed by :meth:`credentials`) as options."""
        return cls(_base_url(url, SCHEME), **options)

    def __repr__(self) -> str:
        return f"VnptSmartCA({self._http.base_url!r}, sp_id={self._sp_id!r})"

    def _auth(self) -> dict[str, str]:
        return {"sp_id": self._sp_id, "sp_password": self._sp_password}

    def _certificates(self, user: str) -> list[Credential]:
        body = {**self._auth(), "user_id": user, "serial_number": "", "transaction_id": _txid()}
        answer = _envelope(self._http.post("/v1/credentials/get_certificate", body), "get_certificate")
        listed = answer.get("user_certificates") if isinstance(answer, dict) else None
        if not isinstance(listed, list):
            raise RemoteSigningError("get_certificate: no user_certificates list", code="remote_protocol")
        return [_credential(user, item) for item in listed if _valid(item)]

    def credentials(self) -> Sequence[Credential]:
        return self._certificates(self._user_id) if self._user_id else []

    def credential(self, credential_id: str) -> Credential:
        user, serial = split_credential(credential_id)
        found = self._certificates(user)
        if serial:
            found = [c for c in found if c.id == credential_id]
        if len(found) != 1:
            what = "no valid certificate" if not found else "several certificates: name one as USER/SERIAL"
            raise RemoteSigningError(f"credential {credential_id!r}: {what}", code="remote_bad_request")
        return found[0]

    def start(self, request: SignRequest) -> RemoteResult:
        if request.digest_algorithm.lower() != "sha256":
            raise RemoteSigningError("VNPT SmartCA signs SHA-256 digests here", code="remote_bad_request")
        credential = self.credential(request.credential_id)
        user, _ = split_credential(request.credential_id)
        files = [
            {"data_to_be_signed": digest.hex(), "doc_id": f"d{n}", "file_type": "pdf", "sign_type": "hash"}
            for n, digest in enumerate(request.hashes)
        ]
        body = {
            **self._auth(), "user_id": user, "transaction_id": _txid(), "serial_number": credential.id.split("/")[1],
            "transaction_desc": request.description[:200], "sign_files": files,
        }
        data = _envelope(self._http.post("/v1/signatures/sign", body), "sign")
        transaction = (data.get("tran_code") or data.get("transaction_id")) if isinstance(data, dict) else None
        if not isinstance(transaction, str) or not transaction:
            raise RemoteSigningError("sign: no transaction id in the answer", code="remote_protocol")
        return RemoteResult(RemoteState.PENDING, transaction=transaction, retry_after=self._poll_seconds)

    def poll(self, transaction: str) -> RemoteResult:
        if not transaction or "/" in transaction or len(transaction) > 200:
            raise RemoteSigningError("not a SmartCA transaction id", code="remote_unknown_transaction")
        answer = self._http.post(f"/v1/signatures/sign/{transaction}/status", {})
        if not isinstance(answer, dict):
            raise RemoteSigningError("status: the answer is not an object", code="remote_protocol")
        if str(answer.get("status_code", 200)) == "404":
            raise RemoteSigningError(f"the provider does not know transaction {transaction!r}",
                                     code="remote_unknown_transaction")
        return self._result(transaction, answer)

    def _result(self, transaction: str, answer: dict[str, Any]) -> RemoteResult:
        word = str(answer.get("message") or "").strip().upper()
        data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        signatures = data.get("signatures") if isinstance(data, dict) else None
        if isinstance(signatures, list) and signatures:
            values = tuple(unb64(s.get("signature_value") if isinstance(s, dict) else None, "signature value")
                           for s in sorted(signatures, key=_doc_order))
            return RemoteResult(RemoteState.DONE, transaction=transaction, signatures=values, message=word or None)
        if word in _REJECTED:
            return RemoteResult(RemoteState.REJECTED, transaction=transaction, message=word)
        if word in _EXPIRED:
            return RemoteResult(RemoteState.EXPIRED, transaction=transaction, message=word)
        if word in _FAILED:
            raise RemoteSigningError(f"the provider reports the transaction {word}", code="remote_protocol")
        return RemoteResult(RemoteState.PENDING, transaction=transaction, retry_after=self._poll_seconds,
                            message=word or None)

    def close(self) -> None:
        self._http.close()


def _base_url(url: str, scheme: str) -> str:
    parts = urlsplit(url)
    prefix, _, transport = parts.scheme.partition("+")
    if prefix != scheme or transport not in ("https", "http"):
        raise RemoteSigningError(f"expected {scheme}+https://host/path, got scheme {parts.scheme!r}",
                                 code="remote_unknown_provider")
    return urlunsplit((transport, parts.netloc, parts.path, "", ""))


def _envelope(answer: Any, what: str) -> Any:
    """``data`` of a SmartCA answer; a non-200 ``status_code`` in the body is a refusal."""
    if not isinstance(answer, dict):
        raise RemoteSigningError(f"{what}: the answer is not an object", code="remote_protocol")
    code = answer.get("status_code", 200)
    if str(code) in ("401", "403"):
        raise RemoteSigningError(f"{what}: the provider refused sp_id/sp_password ({code})", code="remote_auth_failed")
    if code not in (200, "200", 0, "0"):
        raise RemoteSigningError(f"{what}: the provider refused ({code})", code="remote_bad_request")
    return answer.get("data")


def _valid(item: Any) -> bool:
    return isinstance(item, dict) and str(item.get("cert_status_code", "VALID")).upper() == "VALID"


def _credential(user: str, item: dict[str, Any]) -> Credential:
    der = unb64(item.get("cert_data"), "certificate")
    found = item.get("chain_data")
    chain_data: dict[str, Any] = found if isinstance(found, dict) else {}
    chain = tuple(unb64(chain_data[k], "chain certificate") for k in ("ca_cert", "root_cert") if chain_data.get(k))
    serial = str(item.get("serial_number") or "")
    if not serial:
        raise RemoteSigningError("get_certificate: a certificate without serial_number", code="remote_protocol")
    return Credential(id=f"{user}/{serial}", certificate=der, chain=chain, key_algorithm=key_algorithm(der),
                      max_signatures=10, label=str(item.get("cert_subject") or serial)[:200])


def _doc_order(item: Any) -> int:
    doc = str(item.get("doc_id", "")) if isinstance(item, dict) else ""
    return int(doc[1:]) if doc[1:].isdigit() else 0


def _txid() -> str:
    return "edoc-" + _secrets.token_hex(8)
