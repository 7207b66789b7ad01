"""``edoc verify``: one or many PDFs in one process, without typer on the way in (issue 18 item 5).

A clerk's CLI and a scripted batch over thousands of files used to pay about 0.6 s of imports before the file
was even read. Here nothing heavy is imported before the first file has been read: :mod:`service.launch` sends
``edoc verify …`` to :func:`main` (argparse, standard library) instead of the typer application, rich is loaded
only to print, settings only once a file is worth verifying, and pyHanko only with the verifier. The typer
command in :mod:`service.cli_signing` builds the same :class:`VerifyOptions` and calls :func:`run_verify`, so
both entries behave identically.

Exit codes (per file, and for a batch the worst): 0 valid (TOTAL_PASSED), 1 invalid (TOTAL_FAILED), 2
undetermined (INDETERMINATE, and any unexpected verifier error: a bug must never read as "invalid"), 3 cannot
verify (missing, not a PDF, encrypted, too many signatures, bad trust configuration). A batch returns 1 if any
file is invalid, else 3 if any could not be verified, else 2 if any is undetermined, else 0. ``--json`` writes
JSON Lines: one object per file (``path``, ``exit_code``, then the report or an ``error``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from signing.pdf.report import VerificationReport
    from signing.pdf.trust import TrustStore

__all__ = ["Refusal", "VerifyOptions", "configured_store", "main", "pem_store", "run_verify"]

CANNOT_VERIFY = 3


class Refusal(Exception):
    """Input that cannot be verified at all: one line on stderr, exit 3."""


@dataclass
class VerifyOptions:
    paths: list[Path]
    as_json: bool = False
    trust: list[Path] = field(default_factory=list)
    lang: str = "vi"
    receipt: Path | None = None
    offline: bool = False
    soft_fail: bool = False
    max_signatures: int | None = None


def main(argv: list[str]) -> int:
    """``edoc verify`` arguments (the same options as the typer command) → exit code."""
    parser = argparse.ArgumentParser(prog="edoc verify", description="Verify the signatures of PDFs.")
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--json", dest="as_json", action="store_true")
    parser.add_argument("--trust", action="append", type=Path, default=[])
    parser.add_argument("--lang", default="vi")
    parser.add_argument("--receipt", type=Path)
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--soft-fail", action="store_true")
    parser.add_argument("--max-signatures", type=int)
    return run_verify(VerifyOptions(**vars(parser.parse_args(argv))))


def run_verify(options: VerifyOptions) -> int:
    """Verify every file of ``options``; print as asked; return the exit code (never raises for bad input)."""
    try:
        if options.lang not in ("vi", "en"):
            raise Refusal(f"unknown language {options.lang!r}: vi or en")
        files = _expand(options.paths)
        if options.receipt is not None and len(files) != 1:
            raise Refusal("--receipt needs exactly one file")
        if len(files) == 1:  # read (and refuse) the file before the verifier's imports: a bad path answers at once
            _check_readable(files[0])
        settings = _settings()
        store = pem_store(options.trust) if options.trust else configured_store(settings)
        run = _Run(store, settings, options)
    except Refusal as exc:
        _error_line(str(exc))
        return CANNOT_VERIFY
    if len(files) == 1:
        return _verify_single(files[0], run, options)
    return _verify_batch(files, run, as_json=options.as_json, lang=options.lang)


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    return Console(), Console(stderr=True)


def _error_line(message: str) -> None:
    """One line on stderr, as ``service.cli.fail`` writes it (without loading rich for it: start-up)."""
    label = "\x1b[31merror:\x1b[0m" if sys.stderr.isatty() else "error:"
    sys.stderr.write(f"{label} {message}\n")


def _settings() -> Any:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from service.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Refusal(f"setting {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    except SettingsError as exc:  # an EDOC_* variable that is not even JSON where JSON is expected
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise Refusal(f"{exc}{cause}") from None


def _check_readable(path: Path) -> None:
    if not path.is_file():
        raise Refusal(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise Refusal(f"{path}: {exc.strerror or exc}") from None
    if b"%PDF-" not in head:
        raise Refusal(f"{path}: not a PDF file")


def pem_store(paths: list[Path]) -> TrustStore:
    """Trust exactly these certificates, pinned by the SHA-256 of the files the operator named."""
    from asn1crypto import pem

    from signing.errors import SigningError
    from signing.pdf.trust import AnchorConfig, TrustStore

    anchors = []
    for path in paths:
        try:
            raw = path.read_bytes()
            der = pem.unarmor(raw)[2] if pem.detect(raw) else raw
        except (OSError, ValueError) as exc:
            raise Refusal(f"{path}: cannot read a certificate ({exc})") from None
        anchors.append(AnchorConfig(path=path, sha256=hashlib.sha256(der).hexdigest()))
    try:
        return TrustStore.from_config({"cli": anchors})
    except SigningError as exc:
        raise Refusal(f"{exc} [{exc.code}]") from None


def configured_store(settings: Any) -> TrustStore:
    from signing.errors import SigningError
    from signing.pdf.trust import TrustStore
    from signing.trust import with_bundled

    configured: dict[str, list[Any]] = {name: list(entries) for name, entries in settings.trust_sets.items()}
    try:  # EDOC_TRUST_SETS plus, unless EDOC_TRUST_BUNDLED=false, the shipped roots (signing/trust/README.md)
        return TrustStore.from_config(with_bundled(configured) if settings.trust_bundled else configured)
    except SigningError as exc:
        raise Refusal(f"EDOC_TRUST_SETS: {exc} [{exc.code}]") from None


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file()))
        else:
            files.append(path)
    if not files:
        raise Refusal("no PDF files found")
    return files


class _Run:
    """What every file of one ``edoc verify`` run shares: trust store, revocation policy (and its cache)."""

    def __init__(self, store: TrustStore, settings: Any, options: VerifyOptions) -> None:
        from signing.pdf.revocation import RevocationMode, RevocationPolicy

        mode = RevocationMode.SOFT_FAIL if options.soft_fail else RevocationMode(settings.revocation_mode)
        self.store = store
        self.policy = RevocationPolicy(mode=mode, offline=options.offline or settings.revocation_offline)
        limit = options.max_signatures
        self.max_signatures = limit if limit is not None else settings.verify_max_signatures
        self.max_seconds = settings.verify_max_seconds

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
            report = verify_pdf(
                data,
                trust=self.store,
                revocation=self.policy,
                max_signatures=self.max_signatures,
                max_seconds=self.max_seconds,
            )
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


def _verify_single(path: Path, run: _Run, options: VerifyOptions) -> int:
    as_json, lang, receipt = options.as_json, options.lang, options.receipt
    code, report, error = run.check(path)
    if as_json:
        sys.stdout.write(_json_line(path, code, report, error) + "\n")
        return code
    if report is None:
        assert error is not None
        _print_error_line(path, error)
        return code
    if receipt is not None and not _write_receipt(report, receipt, lang):
        return CANNOT_VERIFY
    _print_summary(path, report, lang, no_anchors=not run.store.set_names)
    return code


def _print_error_line(path: Path, error: dict[str, str]) -> None:
    _error_line(f"{path}: {error['message']} [{error['code']}]")


def _verify_batch(files: list[Path], run: _Run, *, as_json: bool, lang: str) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    out, err = _consoles()
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
        _print_batch_table(out, rows, lang)
    codes = {code for _, code, _, _ in rows}
    return next((c for c in (1, CANNOT_VERIFY, 2) if c in codes), 0)


_Row = tuple[Path, int, "VerificationReport | None", "dict[str, str] | None"]


def _print_batch_table(out: Console, rows: list[_Row], lang: str) -> None:
    from rich.table import Table

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


def _write_receipt(report: VerificationReport, path: Path, lang: str) -> bool:
    from signing.errors import SigningError
    from signing.pdf.render import render_receipt_pdf

    try:
        path.write_bytes(render_receipt_pdf(report, lang))
    except (OSError, SigningError) as exc:
        _error_line(f"{path}: cannot write the receipt ({exc})")
        return False
    return True


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

    from signing.pdf.report import summary_rows

    out, err = _consoles()
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
