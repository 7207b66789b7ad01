"""``edoc log …`` (the transparency log: audit, key, one integration round), ``edoc evidence verify`` and
``edoc witness`` (issue 21; docs/evidence.md, docs/cli.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from service.cli_output import fail, load_settings, out

__all__ = ["register"]

log_app = typer.Typer(help="The transparency log of the exchange (issue 21).", no_args_is_help=True)
evidence_app = typer.Typer(help="Evidence bundles of documents.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the commands to the ``edoc`` application (service/cli.py)."""
    app.add_typer(log_app, name="log")
    app.add_typer(evidence_app, name="evidence")
    app.command("witness")(witness)


def _gateway() -> Any:
    """The gateway on a database at the code's schema: the embedded SQLite is migrated here (as every command
    does), another database must have been migrated by its operator."""
    from service.settings import ConfigError
    from service.wiring import build_gateway
    from storage.errors import StorageError
    from storage.migrate import current_revision, head_revision, upgrade

    settings = load_settings()
    url = settings.resolved_database_url()
    try:
        if url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            upgrade(url)
        elif current_revision(url) != head_revision():
            fail("the database is not at the code's schema: run `edoc db upgrade` first")
        return build_gateway(settings)
    except (ConfigError, StorageError) as exc:
        fail(str(exc))


def _service() -> Any:
    from service.exchange.tlog import log_service

    return log_service(_gateway())


@log_app.command("key")
def key() -> None:
    """Print the log's verifier key (vkey), creating the key outside production if the node has none yet."""
    from service.exchange.errors import ExchangeError

    try:
        out.print(_service().verifier.vkey, highlight=False, soft_wrap=True)
    except ExchangeError as exc:
        fail(str(exc))


@log_app.command("integrate")
def integrate() -> None:
    """Integrate the events not yet in the tree and sign a checkpoint (what the worker does every second)."""
    service = _service()
    total = 0
    while n := service.integrate_once():
        total += n
    out.print(f"integrated {total} leaves; tree size {service.state().size}")


@log_app.command("audit")
def audit() -> None:
    """Recompute the tree from the event rows and compare it with the stored tiles and every signed checkpoint:
    one line per problem, exit 1 if there is any."""
    problems = _service().audit()
    for line in problems:
        out.print(escape(line), highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    out.print("the event rows are the logged leaves; every checkpoint matches the tiles")


@evidence_app.command("verify")
def evidence_verify(
    bundle: Annotated[Path, typer.Argument(help="the evidence zip (GET /api/v1/edocs/{id}/evidence)")],
    log_key: Annotated[str, typer.Option("--log-key", help="the log's verifier key (edoc log key)")],
    witness_key: Annotated[
        list[str] | None, typer.Option("--witness-key", help="a witness's verifier key (repeatable)")
    ] = None,
    quorum: Annotated[int, typer.Option("--quorum", help="cosignatures required (default: every witness given)")] = -1,
) -> None:
    """Check an evidence bundle offline: package hashes against the leaves, the inclusion proofs, the checkpoint
    signature and the witnesses' cosignatures. One line per problem; exit 0 if none, 1 otherwise."""
    import zipfile

    from service.exchange.evidence import verify_bundle
    from storage.tlog.errors import NoteError
    from storage.tlog.note import Verifier

    witnesses = tuple(witness_key or ())
    for vkey in (log_key, *witnesses):
        try:
            Verifier.parse(vkey)
        except NoteError as exc:
            fail(f"{vkey}: {exc}")
    try:
        data = bundle.read_bytes()
    except OSError as exc:
        fail(f"{bundle}: {exc.strerror or exc}")
    if not zipfile.is_zipfile(bundle):
        fail(f"{bundle}: not a zip file (an evidence bundle is GET /api/v1/edocs/{{id}}/evidence)")
    problems = verify_bundle(data, log_key, witnesses, len(witnesses) if quorum < 0 else quorum)
    for line in problems:
        out.print(escape(line), highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    out.print("the bundle verifies")


def witness(
    log_key: Annotated[list[str], typer.Option("--log-key", help="verifier key of a log to witness (repeatable)")],
    key_file: Annotated[Path, typer.Option("--key", help="the witness's Ed25519 key (PEM; created if missing)")],
    state: Annotated[Path, typer.Option("--state", help="file keeping the last checkpoint cosigned per log")],
    name: Annotated[str, typer.Option("--name", help="the witness's key name")] = "witness.local",
    host: str = "127.0.0.1",
    port: int = 8090,
    print_key: Annotated[bool, typer.Option("--print-key", help="print the witness's vkey and exit")] = False,
) -> None:
    """A tlog-witness: ``POST /add-checkpoint`` verifies the consistency from the last checkpoint it cosigned
    for the log, refuses a fork (409/422) and answers its cosignature."""
    from service.exchange.witness import Witness, serve_witness
    from storage.errors import StorageError

    try:
        wit = Witness.open(name=name, key_file=key_file, state_file=state, log_keys=log_key)
    except (StorageError, ValueError) as exc:
        fail(str(exc))
    if print_key:
        out.print(wit.verifier.vkey, highlight=False, soft_wrap=True)
        return
    serve_witness(wit, host, port)
