"""``edoc sign --remote NAME --credential ID``: sign with a remote-signing service and wait for the official's phone.

The provider is one configured in ``EDOC_REMOTE_SIGNERS`` (secrets from its environment variables or files). The
command prepares the PDF, asks the provider, then waits: a progress line on stderr says what it is waiting for
and for how long ("Đang chờ xác nhận trên điện thoại… 0:42"), polling at the provider's pace, until the
official confirms, refuses, the provider's window closes or ``--timeout`` passes. The signed file is written
only once the returned value verified against the credential's certificate; on any other outcome nothing is
written and the command exits 1 with one line saying what happened (Vietnamese first; ``--lang en``).

This waits in the command's own process (nothing is stored in the gateway's database): interrupted, the
transaction is abandoned at the provider and the official's confirmation, if it comes, signs nothing.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.cli_output import fail

__all__ = ["RemoteSignArgs", "sign_remote"]

POLL_MIN, POLL_MAX = 1.0, 10.0


@dataclass(frozen=True)
class RemoteSignArgs:
    file: Path
    output: Path
    provider: str
    credential: str
    level: str | None
    tsa: str | None
    timeout: float
    pin: str | None
    lang: str
    appearance: Any
    certify: bool
    pss: bool
    reason: str | None


def _words(status: str, code: str | None, lang: str) -> str:
    from signing.pdf.wording import remote_outcome

    return remote_outcome(status, code, lang)


def _signer(settings: Any, name: str) -> tuple[Any, Any]:
    from service.exchange.errors import ExchangeError
    from service.remote_signing import build_signer, secrets_of

    config = settings.remote_signers.get(name)
    if config is None:
        known = ", ".join(sorted(settings.remote_signers)) or "none configured in EDOC_REMOTE_SIGNERS"
        fail(f"no remote signer named {name!r} (known: {known})")
    try:
        return build_signer(config.url, {**config.options, **secrets_of(config, name)}), config
    except ExchangeError as exc:
        fail(f"{exc} [{exc.code}]")


def sign_remote(args: RemoteSignArgs, settings: Any, data: bytes) -> None:
    """Prepare, ask, wait, finish (see the module docstring); exits non-zero with one line on failure."""
    from signing.errors import SigningError
    from signing.remote.interfaces import RemoteState
    from signing.remote.interrupted import check_signer, finish, prepare, sign_request

    adapter, config = _signer(settings, args.provider)
    level = args.level or config.level
    try:
        credential = adapter.credential(args.credential)
        long_term = _long_term(level, settings, credential)
        if long_term is not None:  # refuse before the official is asked what B-LT would refuse after
            check_signer(credential, long_term)
        prepared = prepare(data, credential, level=level, appearance=args.appearance,  # type: ignore[arg-type]
                           certify=args.certify,
                           reason=args.reason, pss=args.pss)
        authorization = {"PIN": args.pin} if args.pin else {}  # the CSC name
        request = sign_request([prepared], credential, description=f"Ký văn bản {args.file.name}"[:120],
                               authorization=authorization)
        result = _wait(adapter, adapter.start(request), args)
        if result.state is not RemoteState.DONE:
            fail(_words(result.state.value, None, args.lang))
        current = adapter.credential(credential.id).certificate
        signed = finish(prepared.state, result.signatures[0], certificate=current,
                        tsa_url=args.tsa or config.tsa_url or settings.tsa_url,
                        long_term=long_term)
    except SigningError as exc:
        _clear()
        words = _words("failed", exc.code, args.lang)
        fail(f"{words} ({exc} [{exc.code}])")
    args.output.write_bytes(signed)
    _clear()


def _long_term(level: str, settings: Any, credential: Any) -> Any:
    """B-LT/B-LTA: revocation data collected up to the configured trust anchors, else up to the self-signed
    certificates the credential's chain carries (as ``edoc sign --key`` does)."""
    if level not in ("B-LT", "B-LTA"):
        return None
    from cryptography import x509

    from signing.pdf import LongTermSettings

    if settings.trust_sets:
        from service.signatures import SignatureServices

        roots = SignatureServices.from_settings(settings).trust_roots()
    else:
        chain = [x509.load_der_x509_certificate(der) for der in credential.chain]
        roots = tuple(c for c in chain if c.subject == c.issuer)
    if not roots:
        fail("B-LT needs a trusted root: set EDOC_TRUST_SETS")
    return LongTermSettings(trust_roots=roots)


def _wait(adapter: Any, result: Any, args: RemoteSignArgs) -> Any:
    """Poll until the transaction is no longer pending or ``args.timeout`` passes (then it counts as expired)."""
    from signing.remote.interfaces import RemoteResult, RemoteState

    started = time.monotonic()
    waiting = _words("pending", None, args.lang).rstrip(".")
    while result.state is RemoteState.PENDING:
        elapsed = time.monotonic() - started
        _progress(f"{waiting}… {int(elapsed) // 60}:{int(elapsed) % 60:02d}")
        if elapsed >= args.timeout:
            _clear()
            return RemoteResult(RemoteState.EXPIRED, transaction=result.transaction)
        pause = min(max(result.retry_after or POLL_MIN, POLL_MIN), POLL_MAX, args.timeout - elapsed)
        time.sleep(max(pause, 0.05))
        result = adapter.poll(result.transaction)
    _clear()
    return result


def _progress(line: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line + "\x1b[K")
    else:  # a log or a pipe: one line per poll, no carriage returns
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _clear() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
