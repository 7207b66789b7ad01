"""The ``edoc`` command line (typer + rich): serve, worker, db, agency, client, edxml.

Errors print one line (``error: …``) and exit non-zero; normal output goes to stdout, progress to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from service.cli_output import cause as _cause
from service.cli_output import err, fail, out
from service.cli_output import load_settings as _settings

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


def _gateway(settings: Any) -> Any:
    """The gateway of ``settings`` on a database at the code's schema: the embedded default (SQLite) is migrated
    here, as ``serve`` does; another database must be migrated by its operator (``edoc db upgrade``)."""
    from service.settings import ConfigError
    from service.wiring import build_gateway
    from storage.errors import StorageError

    _ensure_schema(settings)
    try:
        return build_gateway(settings)
    except (ConfigError, StorageError) as exc:
        fail(str(exc))


def _ensure_schema(settings: Any) -> None:
    from storage.migrate import current_revision, head_revision

    url = settings.resolved_database_url()
    _ensure_url(settings)
    if url.startswith("sqlite"):
        _run_migrations(settings)
        return
    current = _database_call(lambda: current_revision(url))
    if current != head_revision():
        state = "has no schema yet" if current is None else f"is at schema revision {current}, not {head_revision()}"
        fail(f"the database {state}: run `edoc db upgrade` first")


def _database_call(call: Any) -> Any:
    """``call()``, with a database that cannot be reached or refuses the login reported in one line."""
    import sqlalchemy as sa

    try:
        return call()
    except sa.exc.DBAPIError as exc:
        fail(f"cannot use the database: {_cause(exc.orig) if exc.orig is not None else _cause(exc)}")


def _warn_about_database(gw: Any) -> None:
    """Say at start what in the database server's settings will slow the node down over time."""
    from storage.db import maintenance_warnings

    for warning in maintenance_warnings(gw.engine):
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)


def _configuration_problems(settings: Any) -> list[str]:
    """Everything wrong with the configuration that can be found without touching the database or the objects:
    the production refusals, the database and object-store URLs, the node key. ``serve`` asks this before it
    migrates or creates anything, so a refused start leaves every store as it found it (issue 17 item 8)."""
    from urllib.parse import urlsplit

    from service.settings import ConfigError
    from signing.errors import SigningError
    from storage import objects
    from storage.db import create_engine
    from storage.errors import StorageError

    problems: list[str] = []
    try:
        settings.check_production()
    except ConfigError as exc:
        problems.append(str(exc).removeprefix("refusing to start in production: "))
    try:
        create_engine(settings.resolved_database_url()).dispose()  # parses the URL; connects to nothing
    except StorageError as exc:
        problems.append(str(exc))
    scheme = urlsplit(settings.resolved_storage_url()).scheme
    if scheme not in objects.BACKENDS:
        known = ", ".join(f"{name}://" for name in objects.BACKENDS)
        problems.append(f"unknown object store URL scheme {scheme!r}; known: {known}")
    if settings.node_key_file is not None:
        from signing.keys import load_pkcs12

        password = settings.node_key_password
        try:
            load_pkcs12(settings.node_key_file, password.get_secret_value().encode() if password else None)
        except SigningError as exc:
            problems.append(f"the node key (EDOC_NODE_KEY_FILE) cannot be used: {exc}")
    return problems


def _check_configuration(settings: Any) -> None:
    problems = _configuration_problems(settings)
    if problems:
        where = "in production" if settings.environment == "production" else "with this configuration"
        fail(f"refusing to start {where}: " + "; ".join(problems))


def _upgrade(settings: Any) -> None:
    from storage.migrate import upgrade

    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds the database and documents
    upgrade(settings.resolved_database_url())


def _run_migrations(settings: Any) -> None:
    """:func:`_upgrade`, with every failure reported in one line."""
    _database_call(lambda: _upgrade(settings))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8080,
    demo: Annotated[bool, typer.Option("--demo", help="create ./var with demo agencies and keys")] = False,
    workers: Annotated[int, typer.Option(help="HTTP worker processes", min=1)] = 1,
    data_dir: Annotated[Path | None, typer.Option(help="folder for SQLite + objects (embedded tier)")] = None,
) -> None:
    """Run the gateway (HTTP API + its delivery worker as a child process)."""
    import uvicorn

    settings = _settings(demo=demo or None, data_dir=data_dir)
    _check_configuration(settings)  # all of it, before the first migration or folder (issue 17 item 8)
    _run_migrations(settings)
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
        from service.edge.server import PROTOCOL  # bounded request heads (431/408), docs/security.md
        from service.logs import configure_logging, log_format

        # JSON logs: uvicorn's own lines (the supervisor's with --workers N) through the gateway's handler too
        json_logs = log_format() == "json"
        if json_logs:
            configure_logging("INFO")
        uvicorn.run(
            "service.asgi:app", host=host, port=port, workers=workers, log_level="info", factory=False, http=PROTOCOL,
            log_config=None if json_logs else uvicorn.config.LOGGING_CONFIG,
        )
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
    _ensure_url(settings)
    try:
        _upgrade(settings)
    except Exception as exc:
        fail(f"migration failed: {_cause(getattr(exc, 'orig', None) or exc)}")
    out.print(f"database at revision {current_revision(settings.resolved_database_url())}")


def _ensure_url(settings: Any) -> None:
    """A clear one-line error for a URL that names no database we know (nothing is connected to)."""
    from storage.db import create_engine
    from storage.errors import StorageError

    try:
        create_engine(settings.resolved_database_url()).dispose()
    except StorageError as exc:
        fail(str(exc))


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


@client_app.command("list")
def client_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the client systems: role, agencies, state, the first characters of their live API keys (never a key)."""
    from service.exchange.clients import list_clients

    gw = _gateway(_settings())
    with gw.sessions() as session:
        rows = list_clients(session)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("id", "name", "role", "agencies", "state", "API keys", "VXP system id")
    for row in rows:
        keys = ", ".join(
            k["prefix"] + "…" + (f" (until {k['valid_until'][:19]})" if k["valid_until"] else "")
            for k in row["api_keys"]
        )
        vxp = row["vxp_systemid"] or ""
        if row["vxp_previous_secret_valid_until"]:
            vxp += f" (previous secret until {row['vxp_previous_secret_valid_until'][:19]})"
        state = "active" if row["active"] else "disabled"
        table.add_row(row["id"], row["name"], row["role"], " ".join(row["agencies"]), state, keys, vxp)
    out.print(table)


def _client_state(ref: str, active: bool) -> None:
    from service.exchange import log
    from service.exchange.clients import find_client, set_active

    gw = _gateway(_settings())
    with _domain_errors(), gw.writes() as session, session.begin():
        client = find_client(session, ref)
        changed = set_active(session, client, active)
        if changed:
            log.record(session, "client_enabled" if active else "client_disabled", actor="edoc-cli", client=client.name)
        name = client.name
    state = "enabled" if active else "disabled"
    out.print(f"{name}: {state}" if changed else f"{name}: already {state}", highlight=False)
    if changed and not active:
        err.print(
            f"its API keys and VXP secret stop working now; a gateway process that checked one in the last "
            f"{gw.settings.auth_cache_seconds:g} s (EDOC_AUTH_CACHE_SECONDS) may accept it until then",
            highlight=False,
            soft_wrap=True,
        )


@client_app.command("disable")
def client_disable(ref: Annotated[str, typer.Argument(help="the client system's id or name")]) -> None:
    """Disable a client system: its API keys and VXP secret stop working (nothing is deleted)."""
    _client_state(ref, False)


@client_app.command("enable")
def client_enable(ref: Annotated[str, typer.Argument(help="the client system's id or name")]) -> None:
    """Enable a disabled client system again."""
    _client_state(ref, True)


@client_app.command("rotate")
def client_rotate(
    ref: Annotated[str, typer.Argument(help="the client system's id or name")],
    vxp_secret: Annotated[bool, typer.Option("--vxp-secret", help="replace the VXP secret, not the API key")] = False,
    grace: Annotated[
        str, typer.Option(help="how long the old one keeps working: 0 (at once: a leaked key), 90s, 30m, 24h, 2d")
    ] = "24h",
) -> None:
    """Issue a new API key (or VXP secret) and print it once; the old one works for the grace period."""
    from service.exchange import log
    from service.exchange.clients import find_client, parse_grace, rotate_api_key, rotate_vxp_secret

    with _domain_errors():
        period = parse_grace(grace)
    settings = _settings()
    gw = _gateway(settings)
    with _domain_errors(), gw.writes() as session, session.begin():
        client = find_client(session, ref)
        if vxp_secret:
            sealing_key = settings.secret_key.get_secret_value()
            rotation = rotate_vxp_secret(session, client, secret_key=sealing_key, grace=period)
        else:
            rotation = rotate_api_key(session, client, grace=period)
        what = "vxp_secret" if vxp_secret else "api_key"
        log.record(session, "client_key_rotated", actor="edoc-cli", client=client.name, credential=what,
                   grace_seconds=period.total_seconds())
        name = client.name
    until = rotation.previous_valid_until
    old = "the old one stopped working" if until is None else f"the old one works until {until.isoformat()[:19]} UTC"
    err.print(f"client {name}: new {'VXP secret' if vxp_secret else 'API key'} (shown once); {old}:", highlight=False)
    out.print(rotation.credential, highlight=False)


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
    from service import cli_dead_letters
    from service.cli_archive import register as register_archive
    from service.cli_signing import register

    register(app)  # edoc sign, edoc verify (service/cli_signing.py)
    from service.cli_tlog import register as register_tlog

    register_tlog(app)  # edoc log, edoc evidence, edoc witness (service/cli_tlog.py)
    register_archive(app)  # edoc archive audit|verify (service/cli_archive.py)
    from service.cli_keys import register as register_keys

    register_keys(app)  # edoc keys init (service/cli_keys.py)
    cli_dead_letters.register(app, lambda: _gateway(_settings()))  # edoc dead-letters list|requeue


_register_commands()


def main() -> None:
    """The ``edoc`` entry point: one-line logging, and no traceback for whatever a command did not foresee (the
    detail is logged at debug level: ``EDOC_LOG_LEVEL=DEBUG``)."""
    import logging

    from service.logs import configure_logging

    configure_logging("WARNING")
    try:
        app()
    except Exception as exc:
        logging.getLogger("edoc.cli").debug("the command failed", exc_info=exc)
        err.print(
            f"[red]error:[/red] {escape(type(exc).__name__)}: {escape(_cause(exc))} (EDOC_LOG_LEVEL=DEBUG shows more)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
