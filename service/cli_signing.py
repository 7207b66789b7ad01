"""``edoc sign`` and ``edoc verify``: PAdES signing and verification from the command line (issue 3).

``verify`` exits 0 when the signatures are valid (TOTAL_PASSED), 1 when invalid (TOTAL_FAILED), 2 when validity
cannot be determined (INDETERMINATE), and 3 when the file cannot be verified at all (missing, not a PDF, bad
trust configuration): a script can tell "bad signature" from "bad input". ``sign`` exits 0 or 1.

Trust for ``verify``: ``--trust PEM`` (repeatable) trusts exactly those certificates, pinned by the SHA-256 of the
files given (the operator named them); without it the configured sets (``EDOC_TRUST_SETS``) are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from service.cli_output import err, fail, load_settings

if TYPE_CHECKING:
    from signing.pdf.trust import TrustStore

__all__ = ["register", "sign", "verify"]

CANNOT_VERIFY = 3
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


def register(app: typer.Typer) -> None:
    """Add the commands to the ``edoc`` application (service/cli.py)."""
    app.command("sign")(sign)
    app.command("verify")(verify)


def _fail(message: str, code: int = 1) -> NoReturn:
    fail(message, code)


def _read_pdf(path: Path, code: int) -> bytes:
    if not path.is_file():
        _fail(f"{path}: no such file", code)
    try:
        data = path.read_bytes()
    except OSError as exc:
        _fail(f"{path}: {exc.strerror or exc}", code)
    if b"%PDF-" not in data[:1024]:
        _fail(f"{path}: not a PDF file", code)
    return data


def _pem_store(paths: list[Path], code: int) -> TrustStore:
    from service.cli_verify import Refusal, pem_store

    try:
        return pem_store(paths)
    except Refusal as exc:
        _fail(str(exc), code)


def _configured_store(settings: Any, code: int) -> TrustStore:
    from service.cli_verify import Refusal, configured_store

    try:
        return configured_store(settings)
    except Refusal as exc:
        _fail(str(exc), code)


def _settings() -> Any:
    return load_settings()


def verify(
    paths: Annotated[list[Path], typer.Argument(help="signed PDFs, or directories searched for *.pdf")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one report per file, nothing else")] = False,
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="trust this root/CA certificate (PEM; repeat)")
    ] = None,
    lang: Annotated[str, typer.Option(help="vi or en")] = "vi",
    receipt: Annotated[Path | None, typer.Option(help="also write a PDF receipt of the report here")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="use only revocation data carried by the file")] = False,
    soft_fail: Annotated[bool, typer.Option("--soft-fail", help="missing revocation status only warns")] = False,
    max_signatures: Annotated[
        int | None, typer.Option(help="refuse files with more signatures (default EDOC_VERIFY_MAX_SIGNATURES)")
    ] = None,
) -> None:
    """Verify the signatures of PDFs; exit 0 valid, 1 invalid, 2 undetermined, 3 cannot verify.

    With several files (or a directory) every file is verified in this one process, with a progress bar and a
    summary table; the exit code is the worst outcome: 1 if any file is invalid, else 3 if any could not be
    verified, else 2 if any is undetermined, else 0. (``edoc verify …`` itself is started without typer by
    :mod:`service.launch`; this command is the same run for ``edoc --help`` and the in-process tests.)"""
    from service.cli_verify import VerifyOptions, run_verify

    options = VerifyOptions(
        paths=list(paths), as_json=as_json, trust=list(trust or ()), lang=lang, receipt=receipt,
        offline=offline, soft_fail=soft_fail, max_signatures=max_signatures,
    )
    raise typer.Exit(run_verify(options))


def sign(
    file: Annotated[Path, typer.Argument(help="the PDF to sign")],
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the signed PDF")],
    key: Annotated[str | None, typer.Option(help="p12:FILE or pkcs11:module=…;token=…;key=…")] = None,
    remote: Annotated[
        str | None, typer.Option(help="sign with this remote-signing service of EDOC_REMOTE_SIGNERS instead of --key")
    ] = None,
    credential: Annotated[
        str | None, typer.Option(help="with --remote: the official's credential there (USER or USER/CERTIFICATE)")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="with --remote: seconds to wait for the official's confirmation")
    ] = 300.0,
    lang: Annotated[str, typer.Option(help="with --remote: vi or en, for the progress line and the outcome")] = "vi",
    pin_env: Annotated[
        str | None, typer.Option(help="environment variable holding the token PIN (with --remote: the official's "
                                      "PIN, where the service takes one)")
    ] = None,
    password_env: Annotated[str | None, typer.Option(help="environment variable holding the PKCS#12 password")] = None,
    level: Annotated[str, typer.Option(help="B-B, B-T, B-LT or B-LTA")] = "B-B",
    tsa: Annotated[str | None, typer.Option(help="time-stamping authority URL (B-T and above)")] = None,
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="root for collecting B-LT revocation data (PEM; repeat)")
    ] = None,
    image: Annotated[Path | None, typer.Option(help="signer's image (blue, transparent PNG)")] = None,
    seal: Annotated[Path | None, typer.Option(help="seal image (red, transparent PNG) over the signer's box")] = None,
    box: Annotated[str | None, typer.Option(help="PAGE,X1,Y1,X2,Y2 in points, page from 1")] = None,
    anchor: Annotated[
        str | None, typer.Option(help="put the image over this placeholder text (e.g. [[CHU_KY]]), between the "
                                      "position and the name lines")
    ] = None,
    size: Annotated[
        str | None, typer.Option(help="largest image box at --anchor, WIDTHxHEIGHT in points (default 150x60)")
    ] = None,
    attachment_stamp: Annotated[
        str | None, typer.Option(help='attachment stamp text, e.g. "Số: 05/BNV-VP" (top right, no image)')
    ] = None,
    certify: Annotated[bool, typer.Option("--certify", help="certification (DocMDP) signature")] = False,
    pss: Annotated[bool, typer.Option("--pss", help="RSASSA-PSS (RSA keys)")] = False,
    reason: Annotated[str | None, typer.Option(help="reason stored in the signature")] = None,
) -> None:
    """Sign a PDF (PAdES) with a PKCS#12 file, a PKCS#11 token, or a remote-signing service (--remote)."""
    from signing.errors import SigningError
    from signing.pdf import LongTermSettings, key_source_from_spec, sign_pdf

    if level not in LEVELS:
        _fail(f"unknown level {level!r}; known: {', '.join(LEVELS)}")
    if pin_env and password_env:
        _fail("give --pin-env or --password-env, not both")
    if (key is None) == (remote is None):
        _fail("give --key or --remote (with --credential), not both")
    if remote is not None and not credential:
        _fail("--remote needs --credential (the official's USER or USER/CERTIFICATE at the service)")
    data = _read_pdf(file, 1)
    if output.resolve() == file.resolve():
        _fail("the output must be a different file from the input")
    settings = _settings()
    if remote is not None:
        _sign_remote(file, output, remote, credential or "", level, tsa, timeout, pin_env, lang, settings, data,
                     (image, seal, box, anchor, attachment_stamp, size), certify, pss, reason)
        return
    assert key is not None
    try:
        appearance = _appearance(image, seal, box, anchor, attachment_stamp, size)
        source = key_source_from_spec(key, secret_env=pin_env or password_env)
        long_term = None
        if level in ("B-LT", "B-LTA"):
            long_term = LongTermSettings(trust_roots=_signing_roots(trust, settings, source))
        sign_pdf(
            file,
            key=source,
            level=level,  # type: ignore[arg-type]
            tsa_url=tsa or settings.tsa_url,
            appearance=appearance,
            certify=certify,
            reason=reason,
            pss=pss,
            long_term=long_term,
            output=output,
        )
    except SigningError as exc:
        output.unlink(missing_ok=True)  # never leave a half-signed file behind
        _fail(f"{exc} [{exc.code}]")
    err.print(f"signed {file} → {output} ({level})", highlight=False, soft_wrap=True)


def _sign_remote(
    file: Path, output: Path, remote: str, credential: str, level: str, tsa: str | None, timeout: float,
    pin_env: str | None, lang: str, settings: Any, data: bytes, looks: tuple[Any, ...], certify: bool, pss: bool,
    reason: str | None,
) -> None:
    import os

    from service.cli_remote import RemoteSignArgs, sign_remote
    from signing.errors import SigningError

    pin = os.environ.get(pin_env) if pin_env else None
    if pin_env and not pin:
        _fail(f"environment variable {pin_env} is not set")
    try:
        appearance = _appearance(*looks)
    except SigningError as exc:
        _fail(f"{exc} [{exc.code}]")
    args = RemoteSignArgs(file=file, output=output, provider=remote, credential=credential, level=level,
                          tsa=tsa, timeout=timeout, pin=pin, lang=lang, appearance=appearance, certify=certify,
                          pss=pss, reason=reason)
    sign_remote(args, settings, data)
    err.print(f"signed {file} → {output} ({level}, {remote})", highlight=False, soft_wrap=True)


def _appearance(
    image: Path | None, seal: Path | None, box: str | None, anchor: str | None, stamp: str | None,
    size: str | None = None,
) -> Any:
    from service.signatures import build_appearance

    numbers = None
    if box is not None:
        try:
            numbers = [float(v) for v in box.split(",")]
        except ValueError:
            _fail(f"--box {box!r}: expected PAGE,X1,Y1,X2,Y2")
    dimensions = None
    if size is not None:
        try:
            dimensions = [float(v) for v in size.lower().split("x")]
        except ValueError:
            _fail(f"--size {size!r}: expected WIDTHxHEIGHT in points, e.g. 150x60")
    for path in (image, seal):
        if path is not None and not path.is_file():
            _fail(f"{path}: no such file")
    return build_appearance(image=image, seal=seal, box=numbers, anchor=anchor, attachment_stamp=stamp,
                            size=dimensions)


def _signing_roots(trust: list[Path] | None, settings: Any, source: Any) -> tuple[Any, ...]:
    """Roots for B-LT: --trust, else the configured sets, else the self-signed certificates the key carries."""
    from cryptography import x509

    if trust:
        store = _pem_store(trust, 1)
    elif settings.trust_sets:
        store = _configured_store(settings, 1)
    else:
        roots = tuple(c for c in source.chain if c.subject == c.issuer)
        if not roots:
            _fail("B-LT needs a trusted root: pass --trust ROOT.pem or set EDOC_TRUST_SETS")
        return roots
    return tuple(x509.load_der_x509_certificate(a.der) for a in store.anchors())
