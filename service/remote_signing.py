"""Remote signing use cases (issue 23): sign a PDF with a remote-signing service the official confirms on a phone.

``start`` prepares the PDF (signing/remote/interrupted.py), writes the transaction and the prepared file durably
(storage/remote_signing.py; the file as a blob), and only then asks the provider: a gateway killed at any point
leaves a row that says where it stood. ``poll`` asks the provider about a pending transaction and, when the value
has come, checks the provider's current certificate for the credential against the one prepared for and the
value against it (``interrupted.finish``), stores the signed PDF and marks the row done with a conditional
UPDATE: a second poll, here or in another process, never finishes (nor asks the official) twice and serves the
stored file. Nothing is served until the row is ``done``; a value that does not verify ends ``failed``.

Providers are configured by name in ``EDOC_REMOTE_SIGNERS`` (:class:`~service.settings.RemoteSignerSetting`);
their secrets come from environment variables or files and never reach a log line, a message or the database.
PINs/OTPs a caller gives travel to the provider with the request and are never stored.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from service.exchange.errors import ExchangeError, Forbidden, Invalid, NotFound
from service.signatures import SignOptions, check_pdf, services
from signing.errors import SigningError
from signing.remote.interfaces import RemoteResult, RemoteSigner, RemoteSigningError, RemoteState
from storage import remote_signing as repo
from storage.models import utcnow

if TYPE_CHECKING:
    from service.context import Gateway
    from service.exchange.directory import Caller
    from service.settings import RemoteSignerSetting
    from storage.remote_signing import RemoteSigningRow

__all__ = [
    "Outcome",
    "RemoteFailed",
    "notify",
    "poll",
    "secrets_of",
    "signer",
    "start",
]

log = logging.getLogger(__name__)
CLAIM_SECONDS = 60.0
#: A row still ``starting`` this long after it was written belongs to a process that died while asking the provider
#: (the request itself is bounded by the adapter's timeout, 20-30 s).
STARTING_GRACE = timedelta(seconds=120)
#: HTTP-facing failures of a transaction that ended badly (service/errors.py maps the codes to statuses).
ENDED_CODES = {"rejected": "remote_rejected", "expired": "remote_expired"}


class RemoteFailed(ExchangeError):
    """A remote signing transaction that ended without a signature, or a provider that cannot be asked now; the
    problem body carries the transaction, its status and the clerk's sentence (Vietnamese and English)."""

    code = "remote_failed"


@dataclass(frozen=True)
class Outcome:
    """Where a transaction stands; ``pdf`` is the signed file once ``status`` is ``done``."""

    id: str
    status: str
    provider: str
    error_code: str | None = None
    pdf: bytes | None = None
    retry_after: float | None = None
    expires_at: datetime | None = None

    def message(self, lang: str = "vi") -> str:
        from signing.pdf.wording import remote_outcome

        return remote_outcome(self.status, self.error_code, lang)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "provider": self.provider, "code": self.error_code,
            "message": self.message("vi"), "message_en": self.message("en"),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "location": f"/api/v1/sign/{self.id}",
        }


# --- providers -------------------------------------------------------------------------------------------------

_HOLDER = "_edoc_remote_signers"
_HOLDER_LOCK = threading.Lock()


def secrets_of(config: RemoteSignerSetting, name: str) -> dict[str, str]:
    """The provider's secret arguments, read from the environment variables and files its setting names."""
    found: dict[str, str] = {}
    for option, variable in config.secret_env.items():
        value = os.environ.get(variable)
        if not value:
            raise Invalid(f"remote signer {name}: environment variable {variable} is not set",
                          code="remote_signer_misconfigured")
        found[option] = value
    for option, path in config.secret_files.items():
        try:
            found[option] = path.read_text().strip()
        except OSError as exc:
            raise Invalid(f"remote signer {name}: cannot read the secret file for {option}",
                          code="remote_signer_misconfigured") from exc
    return found


def build_signer(url: str, options: Mapping[str, Any]) -> RemoteSigner:
    """The adapter a provider URL names (``signing.remote.PROVIDERS``), built with ``options`` (secrets among them)."""
    from signing.remote import from_url

    return from_url(url, **options)


def signer(gw: Gateway, name: str, caller: Caller | None = None) -> RemoteSigner:
    """The configured provider ``name``, built once per gateway; refused if ``caller`` may not use it."""
    config = gw.settings.remote_signers.get(name)
    if config is None:
        known = ", ".join(sorted(gw.settings.remote_signers)) or "none configured"
        raise Invalid(f"no remote signer named {name!r} (known: {known})", code="unknown_remote_signer")
    restricted = caller is not None and bool(config.agencies) and caller.role != "admin"
    if restricted and not any(caller.may_act_for(c) for c in config.agencies):  # type: ignore[union-attr]
        raise Forbidden(f"remote signer {name!r} belongs to other agencies", code="remote_signer_forbidden")
    with _HOLDER_LOCK:
        built: dict[str, RemoteSigner] = gw.__dict__.setdefault(_HOLDER, {})
        if name not in built:
            options = {**config.options, **secrets_of(config, name)}
            built[name] = build_signer(config.url, options)
        return built[name]


# --- start -----------------------------------------------------------------------------------------------------


def start(
    gw: Gateway, data: bytes, *, provider: str, credential_id: str, caller: Caller | None, options: SignOptions,
    authorization: Mapping[str, str] | None = None, webhook_url: str | None = None, file_name: str = "document.pdf",
) -> Outcome:
    """Prepare ``data`` for ``credential_id`` at ``provider`` and ask the official; see the module docstring."""
    from signing.remote.interrupted import prepare, sign_request

    check_pdf(data, gw.settings.verify_max_bytes)
    if webhook_url is not None:
        from service.webhooks import check_url

        check_url(webhook_url, gw.settings.remote_webhook_allowed_networks)
    adapter = signer(gw, provider, caller)
    config = gw.settings.remote_signers[provider]
    try:
        credential = adapter.credential(credential_id)
    except RemoteSigningError as exc:
        raise _clerk_error(exc) from exc
    level = options.level or config.level
    if level in ("B-LT", "B-LTA"):  # refuse before the official is asked what B-LT would refuse after
        from signing.pdf import LongTermSettings
        from signing.remote.interrupted import check_signer

        check_signer(credential, LongTermSettings(trust_roots=services(gw).trust_roots()))
    prepared = prepare(data, credential, level=level, appearance=options.appearance,  # type: ignore[arg-type]
                       certify=options.certify, reason=options.reason, location=options.location, pss=options.pss)
    request = sign_request([prepared], credential, description=_description(file_name),
                           authorization=authorization)
    tx = _record(gw, prepared.state, provider=provider, credential_id=credential.id, caller=caller,
                 webhook_url=webhook_url, wait=config.wait_seconds,
                 options={"level": level, "tsa_url": config.tsa_url or gw.settings.tsa_url, "file_name": file_name})
    try:
        result = adapter.start(request)
    except RemoteSigningError as exc:
        _end(gw, tx, "failed", exc.code)
        raise _clerk_error(exc, transaction=tx) from exc
    return _after_start(gw, tx, adapter, result)


def _clerk_error(exc: RemoteSigningError, **extra: Any) -> RemoteFailed:
    """The provider's refusal as the clerk reads it (Vietnamese detail, English beside it, the provider's own
    words for the administrator); the code stays the provider's (service/errors.py maps it to a status)."""
    from signing.pdf.wording import remote_outcome

    return RemoteFailed(remote_outcome("failed", exc.code, "vi"), code=exc.code,
                        message_en=remote_outcome("failed", exc.code, "en"), provider_message=exc.message, **extra)


def _description(file_name: str) -> str:
    return f"Ký văn bản {file_name}"[:120]


def _record(gw: Gateway, state: Any, *, provider: str, credential_id: str, caller: Caller | None,
            webhook_url: str | None, wait: float, options: dict[str, Any]) -> str:
    ref, pending = gw.blobs.stage(state.pdf)
    with gw.writes() as session, session.begin():
        gw.blobs.insert_pending(session, [pending])
        return repo.create(
            session, provider=provider, credential_id=credential_id, state=dict(state.data), options=options,
            prepared_sha256=ref.sha256, prepared_size=ref.size, client_id=caller.client_id if caller else None,
            webhook_url=webhook_url, expires_in=wait,
        )


def _after_start(gw: Gateway, tx: str, adapter: RemoteSigner, result: RemoteResult) -> Outcome:
    if result.state is RemoteState.PENDING and result.transaction:
        with gw.writes() as session, session.begin():
            repo.mark_pending(session, tx, provider_tx=result.transaction,
                              retry_after=result.retry_after or gw.settings.remote_poll_seconds)
        return outcome(gw, tx)
    if result.state is RemoteState.DONE:
        row = _load(gw, tx)
        return _finish(gw, row, adapter, result)
    if result.state in (RemoteState.REJECTED, RemoteState.EXPIRED):
        _end(gw, tx, result.state.value, None)
        return outcome(gw, tx)
    _end(gw, tx, "failed", "remote_protocol")
    raise RemoteSigningError("the provider answered PENDING without a transaction id", code="remote_protocol")


# --- poll ------------------------------------------------------------------------------------------------------


def poll(gw: Gateway, tx: str, *, caller: Caller | None, worker: str = "api") -> Outcome:
    """Where ``tx`` stands, asking the provider if it is pending (see the module docstring)."""
    row = _load(gw, tx)
    if caller is not None and caller.role != "admin" and row.client_id != caller.client_id:
        raise NotFound(f"no signing transaction {tx!r}", code="remote_transaction_not_found")
    if row.status == "pending":
        row = _poll_provider(gw, row, worker)
    elif row.status == "starting" and min(row.expires_at, row.created_at + STARTING_GRACE) < utcnow():
        _end(gw, tx, "failed", "remote_interrupted")  # killed before the provider's answer was stored
        row = _load(gw, tx)
    notify(gw, row)
    return outcome(gw, tx, row)


def _poll_provider(gw: Gateway, row: RemoteSigningRow, worker: str) -> RemoteSigningRow:
    with gw.writes() as session, session.begin():
        claimed = repo.claim(session, row.id, worker=worker, lease=CLAIM_SECONDS)
    if not claimed:  # another poller is asking right now: answer what is stored
        return row
    adapter = signer(gw, row.provider)
    try:
        assert row.provider_tx is not None
        result = adapter.poll(row.provider_tx)
        if result.state is RemoteState.DONE:
            _finish(gw, row, adapter, result)
        elif result.state is RemoteState.PENDING:
            _still_pending(gw, row, worker, result.retry_after, None)
        else:
            _end(gw, row.id, result.state.value, None)
    except RemoteSigningError as exc:
        if exc.code in ("remote_unreachable", "remote_auth_failed"):  # may cure itself: keep waiting
            _still_pending(gw, row, worker, None, exc.code)
        else:
            log.warning("remote signing %s failed: %s", row.id, exc.code)
            _end(gw, row.id, "failed", exc.code)
    except SigningError as exc:  # finishing needs the TSA or revocation data and they are away: retry later
        _still_pending(gw, row, worker, None, exc.code)
        raise
    return _load(gw, row.id)


def _still_pending(gw: Gateway, row: RemoteSigningRow, worker: str, retry: float | None, code: str | None) -> None:
    if row.expires_at < utcnow():  # the gateway's own limit on how long an official may take
        _end(gw, row.id, "expired", None)
        return
    with gw.writes() as session, session.begin():
        repo.record_poll(session, row.id, worker=worker, retry_after=retry or gw.settings.remote_poll_seconds,
                         error_code=code)


def _finish(gw: Gateway, row: RemoteSigningRow, adapter: RemoteSigner, result: RemoteResult) -> Outcome:
    """Check and embed the value; store the signed PDF; mark done (once)."""
    from signing.pdf import LongTermSettings
    from signing.remote.interrupted import PendingState, finish

    if len(result.signatures) != 1:
        _end(gw, row.id, "failed", "remote_protocol")
        raise RemoteSigningError("the provider returned no value for the document", code="remote_protocol")
    current = adapter.credential(row.credential_id).certificate  # what the provider signs with today
    state = PendingState(data=row.state, pdf=gw.blobs.read(row.prepared_sha256, row.prepared_size))
    level = row.options.get("level", "B-B")
    long_term = LongTermSettings(trust_roots=services(gw).trust_roots()) if level in ("B-LT", "B-LTA") else None
    try:
        signed = finish(state, result.signatures[0], certificate=current, tsa_url=row.options.get("tsa_url"),
                        long_term=long_term)
    except RemoteSigningError as exc:  # a wrong value or another certificate: never a "signed" PDF
        _end(gw, row.id, "failed", exc.code)
        return outcome(gw, row.id)
    ref, pending = gw.blobs.stage(signed)
    with gw.writes() as session, session.begin():
        gw.blobs.insert_pending(session, [pending])
        repo.mark_done(session, row.id, result_sha256=ref.sha256, result_size=ref.size)
    return outcome(gw, row.id)


def _end(gw: Gateway, tx: str, status: str, code: str | None) -> None:
    with gw.writes() as session, session.begin():
        repo.mark_ended(session, tx, status, code)


def _load(gw: Gateway, tx: str) -> RemoteSigningRow:
    with gw.sessions() as session:
        row = repo.load(session, tx) if len(tx) <= 32 else None
    if row is None:
        raise NotFound(f"no signing transaction {tx!r}", code="remote_transaction_not_found")
    return row


def outcome(gw: Gateway, tx: str, row: RemoteSigningRow | None = None) -> Outcome:
    row = row or _load(gw, tx)
    pdf = gw.blobs.read(row.result_sha256, row.result_size) if row.status == "done" and row.result_sha256 else None
    retry = gw.settings.remote_poll_seconds if row.status in ("pending", "starting") else None
    return Outcome(row.id, row.status, row.provider, row.error_code, pdf, retry, row.expires_at)


# --- webhooks --------------------------------------------------------------------------------------------------


def notify(gw: Gateway, row: RemoteSigningRow) -> None:
    """Call the transaction's webhook once it has ended (once: the state moves waiting → sending first)."""
    if not row.ended or row.webhook_url is None or row.webhook_state != "waiting":
        return
    with gw.writes() as session, session.begin():
        if not repo.set_webhook_state(session, row.id, "sending"):
            return
    from service.webhooks import post_json

    body = outcome(gw, row.id, row).to_json()
    sent = post_json(row.webhook_url, body, allowed=gw.settings.remote_webhook_allowed_networks)
    with gw.writes() as session, session.begin():
        repo.set_webhook_state(session, row.id, "sent" if sent else "failed", expected="sending")
