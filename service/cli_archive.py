"""``edoc archive``: the archive from the command line (issue 20).

- ``edoc archive audit [--all] [--aip ID]``: re-hash archive copies now (those due within ``EDOC_FIXITY_DAYS``,
  every copy with ``--all``, or those of one AIP), repairing what is wrong from a good copy; a progress bar on
  stderr, a summary table on stdout; exit 0 when every copy is intact or repaired, 1 when one is left damaged or
  could not be audited (its store down or no longer configured).
- ``edoc archive export [IDS…] [--agency CODE --year YYYY] [--dip] --to OUT.zip``: a transfer zip (the AIPs as
  archived as sub-packages of an E-ARK SIP with the set's METS and TT 02/2019 metadata, a BagIt manifest of the
  whole) or a DIP (the documents and their metadata XML in order)
  (service/archive/export.py).
- ``edoc archive verify PATH|ID``: check one AIP offline (an unpacked folder, or an AIP id / package id read from
  each of its copies): BagIt manifest, METS checksums and sizes, PREMIS links, the XML signature of the package
  and the PAdES signatures of its PDF attachments re-verified (trust and revocation settings as ``edoc verify``;
  ``--offline``, ``--soft-fail``) and compared with the result recorded at ingest; one line per problem, exit 1
  when there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from service.cli_output import err, fail, load_settings, out

__all__ = ["register"]

archive_app = typer.Typer(help="the archive: fixity audits and offline checks of AIPs", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(archive_app, name="archive")


def _gateway() -> Any:
    from service.settings import ConfigError
    from service.wiring import build_gateway
    from storage.errors import StorageError

    try:
        return build_gateway(load_settings())
    except (ConfigError, StorageError) as exc:
        fail(str(exc))


@archive_app.command("audit")
def audit(
    everything: Annotated[bool, typer.Option("--all", help="every copy, not only those due")] = False,
    aip: Annotated[str | None, typer.Option("--aip", help="only the copies of this AIP (urn:uuid:…)")] = None,
) -> None:
    """Re-hash archive copies and repair damaged or missing objects from a good copy."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
    from rich.table import Table

    from service.archive.errors import ArchiveError
    from service.archive.fixity import audit as run_audit
    from storage.errors import StorageError

    gw = _gateway()
    columns = (TextColumn("fixity"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("fixity", total=0)

        def planned(copies: list[Any]) -> None:
            total = sum(int(e["size"]) for c in copies for e in c.files.values())
            progress.update(task, total=total)

        try:
            summary = run_audit(gw, aip_id=aip, everything=everything, planned=planned,
                                progress=lambda n: progress.advance(task, n))
        except (ArchiveError, StorageError) as exc:
            fail(str(exc))
    table = Table(title="Kiểm tra toàn vẹn / fixity audit")
    for name in ("AIP", "store", "outcome", "files", "MB", "problems"):
        table.add_column(name)
    for c in summary.copies:
        problems = "; ".join(f"{p['path']}: {p['problem']}" + (" (repaired)" if p["repaired_from"] else "")
                             for p in c.problems)
        table.add_row(c.aip_id, c.store_url.split("?")[0], c.outcome, str(c.files), f"{c.bytes / 1e6:.1f}",
                      problems or "-")
    out.print(table)
    out.print(f"{len(summary.copies)} copies: {summary.count('ok')} ok, {summary.count('repaired')} repaired, "
              f"{summary.count('damaged')} damaged, {summary.count('error')} not audited")
    if summary.count("damaged") or summary.count("error"):
        raise typer.Exit(1)


def _pdf_checker(offline: bool, soft_fail: bool) -> Any:
    """PDF bytes → verification summary, with the trust store and revocation policy ``edoc verify`` uses."""
    from service.cli_verify import Refusal, configured_store
    from signing.errors import SigningError
    from signing.pdf.revocation import RevocationMode, RevocationPolicy
    from signing.pdf.verify import verify_pdf

    settings = load_settings()
    try:
        store = configured_store(settings)
    except Refusal as exc:
        fail(str(exc))
    mode = RevocationMode.SOFT_FAIL if soft_fail else RevocationMode(settings.revocation_mode)
    policy = RevocationPolicy(mode=mode, offline=offline or settings.revocation_offline)

    def check(data: bytes) -> dict[str, Any]:
        try:
            report = verify_pdf(data, trust=store, revocation=policy, max_signatures=settings.verify_max_signatures,
                                max_seconds=settings.verify_max_seconds)
        except SigningError as exc:
            return {"state": "unreadable", "code": exc.code}
        sub = report.sub_indication.value if report.sub_indication else None
        return {"state": "done", "indication": report.indication.value, "sub_indication": sub}

    return check


@archive_app.command("verify")
def verify(
    target: Annotated[str, typer.Argument(help="an unpacked AIP folder, or an AIP id / package id")],
    offline: Annotated[bool, typer.Option("--offline", help="PAdES: only the revocation data the PDFs carry")] = False,
    soft_fail: Annotated[bool, typer.Option("--soft-fail", help="PAdES: unavailable revocation is no failure")] = False,
) -> None:
    """Check one AIP offline: manifest, METS checksums, PREMIS links, XML and PAdES signatures (one line per
    problem)."""
    from service.archive.verify import verify_aip, verify_folder

    path = Path(target)
    check = _pdf_checker(offline, soft_fail)
    if path.is_dir():
        problems = verify_folder(path, check)
    else:
        problems = []
        for label, read in _copies(target):
            problems += [f"{label}: {line}" for line in verify_aip(read, check)]
    for line in problems:
        out.print(line, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    out.print(f"{target}: intact")


@archive_app.command("export")
def export(
    ids: Annotated[list[str] | None, typer.Argument(help="AIP ids (urn:uuid:…) or package ids")] = None,
    to: Annotated[Path, typer.Option("--to", "-o", help="the zip to write")] = Path("export.zip"),
    agency: Annotated[str | None, typer.Option(help="with --year: every document this agency sent that year")] = None,
    year: Annotated[int | None, typer.Option(help="with --agency")] = None,
    dip: Annotated[bool, typer.Option("--dip", help="a DIP: the documents and their metadata XML in order")] = False,
) -> None:
    """Write archived documents to a zip: a transfer (nộp lưu: an E-ARK SIP of the AIPs as archived) or a DIP."""
    from service.archive.errors import ArchiveError
    from service.archive.export import export_dip, export_transfer, select_aips
    from storage.errors import StorageError

    if (agency is None) != (year is None):
        fail("--agency and --year go together")
    if not ids and agency is None:
        fail("name the documents (ids) or an --agency and a --year")
    gw = _gateway()
    try:
        aips = select_aips(gw, ids=ids or (), agency=agency, year=year)
        count = export_dip(gw, aips, to) if dip else export_transfer(gw, aips, to, agency=agency, year=year,
                                                                     ids=ids or ())
    except (ArchiveError, StorageError) as exc:
        to.unlink(missing_ok=True)
        fail(str(exc))
    except OSError as exc:
        fail(f"{to}: {exc.strerror or exc}")
    out.print(f"{to}: {len(aips)} document(s), {count} files ({'DIP' if dip else 'transfer'})")


def _copies(target: str) -> list[tuple[str, Any]]:
    from service.archive.archiving import store_label
    from storage import archive as repo
    from storage.errors import BlobNotFound

    gw = _gateway()
    with gw.sessions() as session:
        aip = repo.get_aip(session, target) or repo.aip_of_package(session, target)
        if aip is None:
            fail(f"{target}: no such folder, AIP or archived package")
        copies = repo.copies_of(session, aip.id)
    if not copies:
        fail(f"{aip.id}: not written yet ({aip.state})")
    stores = {store_label(s): s for s in gw.archive_copies}
    readers = []
    for copy in copies:
        store = stores.get(copy.store_url)
        if store is None:
            fail(f"{aip.id}: its copy on {copy.store_url} is on a store no longer in EDOC_ARCHIVE_URLS")

        def read(path: str, files: dict[str, Any] = copy.files, store: Any = store) -> bytes | None:
            entry = files.get(path)
            if entry is None:
                return None
            try:
                data: bytes = store.read(entry["sha256"])
            except BlobNotFound:
                return None
            return data

        readers.append((copy.store_url.split("?")[0], read))
    return readers
