"""The ``edoc`` command line (typer + rich): serve, worker, db, agency, client, edxml.

Errors print one line (``error: …``) and exit non-zero; normal output goes to stdout, progress to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="edoc-gateway: exchange, sign, verify and archive official e-documents.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
agency_app = typer.Typer(help="The agency directory.", no_args_is_help=True)
client_app = typer.Typer(help="Client systems and their API keys.", no_args_is_help=True)
edxml_app = typer.Typer(help="Inspect edXML packages.", no_args_is_help=True)
uplink_app = typer.Typer(help="VXP uplinks (other nodes, the national axis).", no_args_is_help=True)
app.add_typer(uplink_app, name="uplink")
app.add_typer(db_app, name="db")
app.add_typer(agency_app, name="agency")
app.add_typer(client_app, name="client")
app.add_typer(edxml_app, name="edxml")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _settings(**overrides: Any) -> Any:
    from pydantic import ValidationError

    from service.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"setting {'.'.join(map(str, first['loc']))}: {first['msg']}")


def _gateway(settings: Any) -> Any:
    from service.context import Gateway
    from service.settings import ConfigError
    from storage.errors import StorageError

    try:
        return Gateway.from_settings(settings)
    except (ConfigError, StorageError) as exc:
        fail(str(exc))


def _warn_about_database(gw: Any) -> None:
    """Say at start what in the database server's settings will slow the node down over time."""
    from storage.db import maintenance_warnings

    for warning in maintenance_warnings(gw.engine):
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)


def _upgrade(settings: Any) -> None:
    from storage.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    demo: Annotated[bool, typer.Option("--demo", help="create ./var with demo agencies and keys")] = False,
    workers: Annotated[int, typer.Option(help="HTTP worker processes")] = 1,
    data_dir: Annotated[Path | None, typer.Option(help="folder for SQLite + objects (embedded tier)")] = None,
) -> None:
    """Run the gateway (HTTP API + its delivery worker as a child process)."""
    import uvicorn

    settings = _settings(demo=demo or None, data_dir=data_dir)
    _upgrade(settings)
    if settings.demo:
        from service.demo import ensure_demo

        gw = _gateway(settings)
        info = ensure_demo(gw)
        gw.close()
        _print_demo(info, host, port)
    if data_dir is not None:
        os.environ["EDOC_DATA_DIR"] = str(data_dir)
    if demo:
        os.environ["EDOC_DEMO"] = "true"
    gw = _gateway(settings)  # fail fast on bad settings before uvicorn starts
    _warn_about_database(gw)
    gw.close()
    worker_process = None
    if settings.embedded_worker:
        # One delivery worker process beside the HTTP processes, not a thread inside each of them (why:
        # service/worker_process.py); the HTTP processes read EDOC_EMBEDDED_WORKER and start no thread.
        from service.worker_process import start_worker_process

        worker_process = start_worker_process()
        os.environ["EDOC_EMBEDDED_WORKER"] = "false"
    try:
        uvicorn.run("service.asgi:app", host=host, port=port, workers=workers, log_level="info", factory=False)
    finally:
        if worker_process is not None:
            from service.worker_process import stop_worker_process

            stop_worker_process(worker_process)


def _print_demo(info: dict[str, Any], host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    table = Table(title="Demo agencies and API keys (TEST ONLY: for this laptop, never production)")
    for column in ("agency", "name", "client", "role", "API key"):
        table.add_column(column)
    for row in info["clients"]:
        table.add_row(row["agency"], row["agency_name"], row["name"], row["role"], row["api_key"])
    out.print(table)
    first = info["clients"][0]
    out.print(
        f"\nOpenAPI: {base}/docs\nTry:\n  curl -H 'Authorization: Bearer {first['api_key']}' "
        f"'{base}/api/v1/inbox?agency={first['agency']}'",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="drain what is ready, then exit")] = False,
) -> None:
    """Run a delivery worker on its own, with the uplink pollers (several may run against one PostgreSQL)."""
    import threading

    from service.exchange.delivery import DeliveryWorker
    from service.worker_process import run_worker, stop_on_signals

    gw = _gateway(_settings())
    _warn_about_database(gw)
    if once:
        runner = DeliveryWorker(gw)
        total = 0
        while n := runner.run_once():
            total += n
        out.print(f"processed {total} messages")
        return
    from service.app import tune_gc

    tune_gc()
    stop = threading.Event()
    stop_on_signals(gw, stop)
    run_worker(gw, stop)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to the configured database."""
    from storage.migrate import current_revision

    settings = _settings()
    try:
        _upgrade(settings)
    except Exception as exc:
        fail(f"migration failed: {exc}")
    out.print(f"database at revision {current_revision(settings.resolved_database_url())}")


@agency_app.command("add")
def agency_add(
    code: str,
    name: str,
    parent: Annotated[str | None, typer.Option(help="parent agency code")] = None,
    email: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add or update one agency."""
    from service.exchange.directory import AgencyInput, upsert_agency

    gw = _gateway(_settings())
    with _domain_errors(), gw.writes() as session, session.begin():
        outcome = upsert_agency(session, AgencyInput(code=code, name=name, parent=parent, email=email))
    out.print(f"{code}: {outcome}")


@agency_app.command("list")
def agency_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the directory."""
    from service.exchange.directory import list_agencies

    gw = _gateway(_settings())
    with gw.sessions() as session:
        rows = [(a.code, a.name, a.parent_code or "") for a in list_agencies(session)]
    if as_json:
        out.print_json(json.dumps([{"code": c, "name": n, "parent": p or None} for c, n, p in rows]))
        return
    table = Table("code", "name", "parent")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@agency_app.command("import")
def agency_import(file: Path) -> None:
    """Import agencies from CSV (code,name,parent,…) or JSON (a list of objects)."""
    from service.exchange.directory import import_agencies, parse_agency_file

    if not file.is_file():
        fail(f"{file}: no such file")
    gw = _gateway(_settings())
    fmt = "json" if file.suffix.lower() == ".json" else "csv"
    with _domain_errors(), gw.writes() as session, session.begin():
        report = import_agencies(session, parse_agency_file(file.read_bytes(), fmt=fmt))
    out.print(f"added {len(report.added)}, changed {len(report.changed)}, unchanged {len(report.unchanged)}")


@client_app.command("add")
def client_add(
    name: Annotated[str, typer.Option("--name", help="a unique name for the client system")],
    agency: Annotated[list[str] | None, typer.Option("--agency", help="agency code it acts for (repeat)")] = None,
    role: Annotated[str, typer.Option(help="dms, clerk, auditor, admin, or node (a peer gateway / the axis)")] = "dms",
    vxp_systemid: Annotated[
        str | None, typer.Option("--vxp-systemid", help="also a VXP (national-axis SDK) client with this system id")
    ] = None,
) -> None:
    """Create a client system and print its API key (and VXP secret) once; they are stored hashed (sealed)."""
    from service.exchange.directory import create_client, set_vxp_secret

    settings = _settings()
    gw = _gateway(settings)
    secret = None
    with _domain_errors(), gw.writes() as session, session.begin():
        client, key = create_client(session, name=name, role=role, agencies=agency or [])
        if vxp_systemid:
            sealing_key = settings.secret_key.get_secret_value()
            secret = set_vxp_secret(session, client, systemid=vxp_systemid, secret_key=sealing_key)
        client_id = client.id
    err.print(f"client {name} ({role}) created as {client_id}; its API key (shown once):")
    out.print(key, highlight=False)
    if secret is not None:
        err.print(f"its VXP system id is {vxp_systemid}; its VXP secret (shown once):")
        out.print(secret, highlight=False)


@agency_app.command("sync")
def agency_sync(
    uplink: Annotated[str, typer.Option("--uplink", help="name of a configured uplink (EDOC_UPLINKS)")],
) -> None:
    """Pull the agency list of an uplink (VXP getAgenciesList) into the directory."""
    from service.vxp.errors import VxpError
    from service.vxp.uplink import sync_agencies

    gw = _gateway(_settings())
    try:
        with _domain_errors():
            report = sync_agencies(gw, uplink)
    except VxpError as exc:
        fail(f"uplink {uplink}: {exc} [{exc.code}]")
    for label, codes in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for code in codes:
            out.print(f"{label} {code}", highlight=False)
    for code in report.skipped:
        err.print(f"[yellow]skipped[/yellow] malformed agency code {code!r}", highlight=False)
    out.print(
        f"added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}"
    )


@uplink_app.command("poll")
def uplink_poll(
    name: Annotated[str | None, typer.Argument(help="uplink name (default: every configured uplink)")] = None,
    once: Annotated[bool, typer.Option("--once", help="one round, then exit")] = True,
) -> None:
    """Take in what the uplink holds for this node's agencies (getReceivedEdocList → getEdoc → updateStatus)."""
    from service.vxp.errors import VxpError
    from service.vxp.uplink import UplinkPoller

    gw = _gateway(_settings())
    names = [name] if name else list(gw.settings.uplinks)
    if not names or any(n not in gw.settings.uplinks for n in names):
        fail(f"no such uplink; configured: {', '.join(gw.settings.uplinks) or 'none'}")
    for uplink in names:
        try:
            counts = UplinkPoller(gw, uplink, gw.settings.uplinks[uplink]).poll_once()
        except VxpError as exc:
            fail(f"uplink {uplink}: {exc} [{exc.code}]")
        out.print(f"{uplink}: " + ", ".join(f"{k} {v}" for k, v in counts.items()), highlight=False)


class _domain_errors:
    """Turn the gateway's own errors into a one-line message and exit code 1."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: Any, exc: Any, _tb: Any) -> None:
        from schemas.errors import SchemaError
        from service.exchange.errors import ExchangeError
        from signing.errors import SigningError
        from storage.errors import StorageError

        if exc is not None and isinstance(exc, ExchangeError | SchemaError | SigningError | StorageError):
            fail(f"{exc} [{getattr(exc, 'code', 'error')}]")


@edxml_app.command("validate")
def edxml_validate(file: Path) -> None:
    """Validate a package against the project's XSD: exit 1 when it is invalid, 0 when it is valid; field quirks
    (read past, as the gateway relays them) are listed as warnings."""
    from schemas.edxml import check_package

    data = _read(file)
    with _domain_errors():
        report = check_package(data)
    for warning in report.warnings:
        out.print(f"{file}: [yellow]warning[/yellow] (field quirk {warning.code}) {warning}", highlight=False,
                  soft_wrap=True)  # fmt: skip
    for issue in report.errors:
        out.print(f"{file}: [red]invalid[/red] {issue}", highlight=False, soft_wrap=True)
    if report.errors:
        fail(f"{file}: {len(report.errors)} problem(s) against the schema")
    quirks = f" with {len(report.warnings)} field quirk(s)" if report.warnings else ""
    out.print(f"{file}: valid{quirks}", highlight=False)


@edxml_app.command("show")
def edxml_show(file: Path, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a package's header fields, its XML-signature verdict (checked offline), attachments and oddities."""
    from schemas.edxml import parse_package
    from service.edxml_view import package_view
    from signing.xmldsig import verify_package

    data = _read(file)
    with _domain_errors():
        parsed = parse_package(data)
        check = verify_package(data)
    view = package_view(parsed, check)
    if as_json:
        sys.stdout.write(json.dumps(view, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(show_header=False)
    for key, value in view["fields"].items():
        table.add_row(key, "" if value is None else str(value))
    out.print(table)
    for problem in view["xml_signature"]["problems"]:
        out.print(f"xml_signature: {problem}", highlight=False, soft_wrap=True)
    for att in view["attachments"]:
        out.print(f"attachment {att['content_id']}: {att['name']} ({att['content_type']}, {att['size']} bytes)")
    for odd in view["oddities"]:
        out.print(f"[yellow]oddity[/yellow] {odd['code']}: {odd['message']}", highlight=False, soft_wrap=True)


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")


def _register_commands() -> None:
    from service.cli_signing import register

    register(app)  # edoc sign, edoc verify (service/cli_signing.py)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
