"""``edoc sign`` and ``edoc verify``: PAdES signing and verification from the command line (issue 3).

``verify`` exits 0 when the signatures are valid (TOTAL_PASSED), 1 when invalid (TOTAL_FAILED), 2 when validity
cannot be determined (INDETERMINATE), and 3 when the file cannot be verified at all (missing, not a PDF, bad
trust configuration): a script can tell "bad signature" from "bad input". ``sign`` exits 0 or 1.

Trust for ``verify``: ``--trust PEM`` (repeatable) trusts exactly those certificates, pinned by the SHA-256 of the
files given (the operator named them); without it the configured sets (``EDOC_TRUST_SETS``) are used.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from signing.pdf.report import VerificationReport
    from signing.pdf.trust import TrustStore

__all__ = ["register", "sign", "verify"]

CANNOT_VERIFY = 3
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


def register(app: typer.Typer) -> None:
    """Add the commands to the ``edoc`` application (service/cli.py)."""
    app.command("sign")(sign)
    app.command("verify")(verify)


def _fail(message: str, code: int = 1) -> NoReturn:
    from service.cli import fail

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
    from asn1crypto import pem

    from signing.errors import SigningError
    from signing.pdf.trust import AnchorConfig, TrustStore

    anchors = []
    for path in paths:
        try:
            raw = path.read_bytes()
            der = pem.unarmor(raw)[2] if pem.detect(raw) else raw
        except (OSError, ValueError) as exc:
            _fail(f"{path}: cannot read a certificate ({exc})", code)
        anchors.append(AnchorConfig(path=path, sha256=hashlib.sha256(der).hexdigest()))
    try:
        return TrustStore.from_config({"cli": anchors})
    except SigningError as exc:
        _fail(f"{exc} [{exc.code}]", code)


def _configured_store(settings: Any, code: int) -> TrustStore:
    from signing.errors import SigningError
    from signing.pdf.trust import TrustStore

    try:
        return TrustStore.from_config({k: list(v) for k, v in settings.trust_sets.items()})
    except SigningError as exc:
        _fail(f"EDOC_TRUST_SETS: {exc} [{exc.code}]", code)


def _settings() -> Any:
    from service.cli import _settings as settings

    return settings()


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
    verified, else 2 if any is undetermined, else 0."""
    if lang not in ("vi", "en"):
        _fail(f"unknown language {lang!r}: vi or en", CANNOT_VERIFY)
    files = _expand(paths)
    if receipt is not None and len(files) != 1:
        _fail("--receipt needs exactly one file", CANNOT_VERIFY)
    if len(files) == 1:  # read (and refuse) the file before the verifier's imports: a bad path answers at once
        _read_pdf(files[0], CANNOT_VERIFY)
    settings = _settings()
    store = _pem_store(trust, CANNOT_VERIFY) if trust else _configured_store(settings, CANNOT_VERIFY)
    run = _Run(store, settings, offline=offline, soft_fail=soft_fail, max_signatures=max_signatures)
    if len(files) == 1:
        raise typer.Exit(_verify_single(files[0], run, as_json=as_json, lang=lang, receipt=receipt))
    raise typer.Exit(_verify_batch(files, run, as_json=as_json, lang=lang))


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file()))
        else:
            files.append(path)
    if not files:
        _fail("no PDF files found", CANNOT_VERIFY)
    return files


class _Run:
    """What every file of one ``edoc verify`` run shares: trust store, revocation policy (and its cache)."""

    def __init__(self, store: TrustStore, settings: Any, *, offline: bool, soft_fail: bool, max_signatures: int | None):
        from signing.pdf.revocation import RevocationMode, RevocationPolicy

        mode = RevocationMode.SOFT_FAIL if soft_fail else RevocationMode(settings.revocation_mode)
        self.store = store
        self.policy = RevocationPolicy(mode=mode, offline=offline or settings.revocation_offline)
        self.max_signatures = max_signatures if max_signatures is not None else settings.verify_max_signatures

    def check(self, path: Path) -> tuple[int, VerificationReport | None, dict[str, str] | None]:
        """(exit code, report, error): never raises; an unexpected exception is exit 2 with its detail."""
        from signing.errors import SigningError
        from signing.pdf.verify import verify_pdf

        try:
            data = path.read_bytes()
        except OSError as exc:
            return CANNOT_VERIFY, None, {"code": "unreadable", "message": f"{exc.strerror or exc}"}
        if b"%PDF-" not in data[:1024]:
            return CANNOT_VERIFY, None, {"code": "not_a_pdf", "message": "not a PDF file"}
        try:
            report = verify_pdf(data, trust=self.store, revocation=self.policy, max_signatures=self.max_signatures)
        except SigningError as exc:
            return CANNOT_VERIFY, None, {"code": exc.code, "message": str(exc)}
        except Exception as exc:  # a verifier bug must read as "undetermined", never as "invalid" (issue 18)
            detail = f"{type(exc).__name__}: {exc}"[:500]
            return 2, None, {"code": "verification_error", "message": _UNEXPECTED, "detail": detail}
        return report.exit_code, report, None


_UNEXPECTED = "Phần mềm kiểm tra gặp lỗi bất ngờ; chưa xác định được tính hợp lệ"


def _json_line(path: Path, code: int, report: VerificationReport | None, error: dict[str, str] | None) -> str:
    import json

    body: dict[str, Any] = {"path": str(path), "exit_code": code}
    if report is not None:
        body.update(report.to_dict())
    else:
        body["error"] = error
    return json.dumps(body, ensure_ascii=False)


def _verify_single(path: Path, run: _Run, *, as_json: bool, lang: str, receipt: Path | None) -> int:
    code, report, error = run.check(path)
    if as_json:
        sys.stdout.write(_json_line(path, code, report, error) + "\n")
        return code
    if report is None:
        assert error is not None
        _print_error_line(path, error)
        return code
    if receipt is not None:
        _write_receipt(report, receipt, lang)
    _print_summary(path, report, lang, no_anchors=not run.store.set_names)
    return code


def _print_error_line(path: Path, error: dict[str, str]) -> None:
    from rich.markup import escape

    from service.cli import err

    line = f"{path}: {error['message']} [{error['code']}]"
    err.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)


def _verify_batch(files: list[Path], run: _Run, *, as_json: bool, lang: str) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from service.cli import err

    rows: list[_Row] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(_TEXT[lang]["verifying"], total=len(files))
        for path in files:
            code, report, error = run.check(path)
            if as_json:
                sys.stdout.write(_json_line(path, code, report, error) + "\n")
                sys.stdout.flush()
            rows.append((path, code, report, error))
            progress.advance(task)
    if not as_json:
        _print_batch_table(rows, lang)
    codes = {code for _, code, _, _ in rows}
    return next((c for c in (1, CANNOT_VERIFY, 2) if c in codes), 0)


_Row = tuple[Path, int, "VerificationReport | None", "dict[str, str] | None"]


def _print_batch_table(rows: list[_Row], lang: str) -> None:
    from rich.table import Table

    from service.cli import out

    t = _TEXT[lang]
    table = Table(title=t["summary"], title_justify="left")
    for header in (t["file"], t["overall"], t["etsi"], t["sigs"]):
        table.add_column(header, overflow="fold")
    colours = {0: "green", 1: "red", 2: "yellow", CANNOT_VERIFY: "magenta"}
    base = _common_parent([path for path, *_ in rows])
    for path, code, report, error in rows:
        if report is not None:
            verdict, etsi, count = report.verdict(lang), _etsi(report), str(len(report.signatures))
        else:
            verdict, etsi, count = (error or {}).get("message", ""), (error or {}).get("code", ""), "—"
        shown = str(path.resolve().relative_to(base)) if base is not None else str(path)
        table.add_row(shown, f"[{colours[code]}]{verdict}[/]", etsi, count)
    out.print(table)
    tally: dict[int, int] = {}
    for _, code, _, _ in rows:
        tally[code] = tally.get(code, 0) + 1
    out.print(" · ".join(f"{t['codes'][c]}: {n}" for c, n in sorted(tally.items())), highlight=False)


def _common_parent(paths: list[Path]) -> Path | None:
    """The folder all files share, so the table shows short names (the JSON Lines keep the full paths)."""
    import os

    try:
        return Path(os.path.commonpath([p.resolve().parent for p in paths]))
    except ValueError:
        return None


def _etsi(report: Any) -> str:
    """ETSI EN 319 102-1 indication with its sub-indication, as an auditor looks it up."""
    sub = report.sub_indication
    return report.indication.value + (f" / {sub.value}" if sub is not None else "")


def _write_receipt(report: VerificationReport, path: Path, lang: str) -> None:
    from signing.errors import SigningError
    from signing.pdf.render import render_receipt_pdf

    try:
        path.write_bytes(render_receipt_pdf(report, lang))
    except (OSError, SigningError) as exc:
        _fail(f"{path}: cannot write the receipt ({exc})", CANNOT_VERIFY)


_TEXT: dict[str, dict[str, Any]] = {
    "vi": {"file": "Tệp", "overall": "Kết luận", "sig": "Chữ ký", "none": "Tệp không có chữ ký số.",
           "no_anchor": "cảnh báo: chưa cấu hình chứng thư gốc tin cậy (--trust hoặc EDOC_TRUST_SETS)",
           "etsi": "Chỉ dấu ETSI", "sigs": "Số chữ ký", "summary": "Tổng hợp kết quả kiểm tra",
           "verifying": "Đang kiểm tra",
           "codes": {0: "Hợp lệ", 1: "Không hợp lệ", 2: "Chưa xác định", 3: "Không kiểm tra được"}},
    "en": {"file": "File", "overall": "Result", "sig": "Signature", "none": "The file carries no signature.",
           "no_anchor": "warning: no trusted root configured (--trust or EDOC_TRUST_SETS)",
           "etsi": "ETSI indication", "sigs": "Signatures", "summary": "Verification summary",
           "verifying": "Verifying",
           "codes": {0: "Valid", 1: "Invalid", 2: "Undetermined", 3: "Could not verify"}},
}


def _print_summary(file: Path, report: VerificationReport, lang: str, *, no_anchors: bool) -> None:
    from rich.table import Table

    from service.cli import err, out
    from signing.pdf.report import summary_rows

    t = _TEXT[lang]
    if no_anchors:
        err.print(f"[yellow]{t['no_anchor']}[/yellow]", highlight=False)
    colour = {0: "green", 1: "red", 2: "yellow"}[report.exit_code]
    out.print(f"{t['file']}: {file}", highlight=False, soft_wrap=True)
    out.print(f"{t['overall']}: [bold {colour}]{report.verdict(lang)}[/]", highlight=False)
    out.print(f"{t['etsi']}: {_etsi(report)}", highlight=False)
    if not report.signatures:
        out.print(t["none"])
    for index, sig in enumerate(report.signatures, start=1):
        table = Table(title=f"{t['sig']} {index}: {sig.field_name}", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for label, value in summary_rows(sig, lang):
            table.add_row(label, value)
        table.add_row(t["etsi"], _etsi(sig))
        out.print(table)
        for finding in (*sig.errors, *sig.warnings):
            out.print(f"  - {finding.text(lang)}", highlight=False, soft_wrap=True)
    for finding in report.warnings:
        out.print(f"- {finding.text(lang)}", highlight=False, soft_wrap=True)


def sign(
    file: Annotated[Path, typer.Argument(help="the PDF to sign")],
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the signed PDF")],
    key: Annotated[str, typer.Option(help="p12:FILE or pkcs11:module=…;token=…;key=…")],
    pin_env: Annotated[str | None, typer.Option(help="environment variable holding the token PIN")] = None,
    password_env: Annotated[str | None, typer.Option(help="environment variable holding the PKCS#12 password")] = None,
    level: Annotated[str, typer.Option(help="B-B, B-T, B-LT or B-LTA")] = "B-B",
    tsa: Annotated[str | None, typer.Option(help="time-stamping authority URL (B-T and above)")] = None,
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="root for collecting B-LT revocation data (PEM; repeat)")
    ] = None,
    image: Annotated[Path | None, typer.Option(help="signer's image (blue, transparent PNG)")] = None,
    seal: Annotated[Path | None, typer.Option(help="seal image (red, transparent PNG) over the signer's box")] = None,
    box: Annotated[str | None, typer.Option(help="PAGE,X1,Y1,X2,Y2 in points, page from 1")] = None,
    anchor: Annotated[str | None, typer.Option(help="place the image at this text (e.g. [[CHU_KY]])")] = None,
    attachment_stamp: Annotated[
        str | None, typer.Option(help='attachment stamp text, e.g. "Số: 05/BNV-VP" (top right, no image)')
    ] = None,
    certify: Annotated[bool, typer.Option("--certify", help="certification (DocMDP) signature")] = False,
    pss: Annotated[bool, typer.Option("--pss", help="RSASSA-PSS (RSA keys)")] = False,
    reason: Annotated[str | None, typer.Option(help="reason stored in the signature")] = None,
) -> None:
    """Sign a PDF (PAdES) with a PKCS#12 file or a PKCS#11 token."""
    from signing.errors import SigningError
    from signing.pdf import LongTermSettings, key_source_from_spec, sign_pdf

    if level not in LEVELS:
        _fail(f"unknown level {level!r}; known: {', '.join(LEVELS)}")
    if pin_env and password_env:
        _fail("give --pin-env or --password-env, not both")
    _read_pdf(file, 1)
    if output.resolve() == file.resolve():
        _fail("the output must be a different file from the input")
    settings = _settings()
    try:
        appearance = _appearance(image, seal, box, anchor, attachment_stamp)
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
    from service.cli import err

    err.print(f"signed {file} → {output} ({level})", highlight=False, soft_wrap=True)


def _appearance(
    image: Path | None, seal: Path | None, box: str | None, anchor: str | None, stamp: str | None
) -> Any:
    from service.signatures import build_appearance

    numbers = None
    if box is not None:
        try:
            numbers = [float(v) for v in box.split(",")]
        except ValueError:
            _fail(f"--box {box!r}: expected PAGE,X1,Y1,X2,Y2")
    for path in (image, seal):
        if path is not None and not path.is_file():
            _fail(f"{path}: no such file")
    return build_appearance(image=image, seal=seal, box=numbers, anchor=anchor, attachment_stamp=stamp)


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
