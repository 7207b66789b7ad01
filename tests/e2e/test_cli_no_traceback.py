"""Every ``edoc`` command with bad input answers in one line, never with a traceback (issue 16 item 8).

Each case runs the real command as a subprocess: on a fresh folder, an un-migrated PostgreSQL database, a URL that
names no database, a PostgreSQL login that is refused, malformed settings, a missing file and a file of the wrong
type. :func:`test_every_command_is_covered` fails when a command is added without a case here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import postgres_admin_url, postgres_available, temporary_postgres_database
from tests.support.env import require
from tests.support.pdfs import simple_pdf
from tests.support.server import EDOC, free_port

# About 80 processes that each import the gateway (~2 s of CPU apiece), four at a time: the first case waits for all.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

BAD_LOGIN = "postgresql+psycopg://nobody:wrong@127.0.0.1:5432/nodb"
VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"  # the C2SP signed-note example


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    env: str = "fresh"  # fresh | unmigrated | bad_url | bad_login | bad_settings
    ok: bool = False  # True: the command succeeds (e.g. on the embedded default, which migrates itself)
    expect: tuple[str, ...] = field(default=())
    verdict: int | None = None  # the exit code of a verdict (verify: 2 undetermined), which is no error line


def _cases() -> list[Case]:
    database_commands = [
        (("agency", "list"), True),
        (("agency", "list", "--json"), True),
        (("agency", "add", "not-a-code", "Tên"), False),
        (("agency", "import", "{files}/agencies.json"), True),
        (("agency", "sync", "--uplink", "nope"), False),
        (("client", "add", "--name", "dms1", "--agency", "000.00.00.Z99"), False),
        (("client", "list"), True),
        (("client", "disable", "nope"), False),
        (("client", "enable", "nope"), False),
        (("client", "rotate", "nope"), False),
        (("worker", "--once"), True),
        (("uplink", "poll"), False),
        (("log", "key"), True),
        (("log", "integrate"), True),
        (("log", "audit"), True),
    ]
    bad = ("bad_url", "bad_login", "bad_settings")
    cases: list[Case] = []
    for number, (args, ok_when_fresh) in enumerate(database_commands):
        cases += [
            Case(args, "fresh", ok=ok_when_fresh),
            Case(args, "unmigrated", expect=("edoc db upgrade",)),
            Case(args, bad[number % len(bad)]),
        ]
    for env in ("bad_url", "bad_login", "bad_settings"):
        cases += [Case(("db", "upgrade"), env), Case(("serve", "--port", "{port}"), env), Case(("worker",), env)]
    cases += [
        Case(("db", "upgrade"), "fresh", ok=True),
        Case(("serve", "--port", "99999"), "fresh"),
        Case(("serve", "--workers", "0"), "fresh"),
        Case(("client", "add", "--name", "x", "--role", "boss"), "fresh"),
        Case(("client", "rotate", "nope", "--grace", "soon"), "fresh"),
        Case(("agency", "import", "{files}/missing.csv"), "fresh"),
        Case(("agency", "import", "{files}/doc.pdf"), "fresh"),
        Case(("agency", "import", "{files}/garbage.json"), "fresh"),
        Case(("edxml", "validate", "{files}/missing.edxml"), "fresh"),
        Case(("edxml", "validate", "{files}/doc.pdf"), "fresh"),
        Case(("edxml", "show", "{files}/missing.edxml"), "fresh"),
        Case(("edxml", "show", "{files}/doc.pdf"), "fresh"),
        Case(("edxml", "show", "{files}"), "fresh"),
        Case(("sign", "{files}/missing.pdf", "-o", "{files}/o.pdf", "--key", "p12:{files}/leaf.p12"), "fresh"),
        Case(("sign", "{files}/garbage.json", "-o", "{files}/o.pdf", "--key", "p12:{files}/leaf.p12"), "fresh"),
        Case(("sign", "{files}/doc.pdf", "-o", "{files}/o.pdf", "--key", "p12:{files}/doc.pdf"), "fresh"),
        Case(("sign", "{files}/doc.pdf", "-o", "{files}/o.pdf", "--key", "p12:{files}/missing.p12"), "fresh"),
        Case(("sign", "{files}/doc.pdf", "-o", "{files}/o.pdf", "--key", "nonsense"), "fresh"),
        Case(("sign", "{files}/doc.pdf", "-o", "{files}/o.pdf", "--key", "p12:{files}/leaf.p12", "--image",
              "{files}/doc.pdf", "--box", "1,50,50,250,150"), "fresh"),
        Case(("sign", "{files}/doc.pdf", "-o", "{files}/nofolder/o.pdf", "--key", "p12:{files}/leaf.p12"), "fresh"),
        Case(("verify", "{files}/missing.pdf"), "fresh"),
        Case(("verify", "{files}/garbage.json"), "fresh"),
        Case(("verify", "{files}/doc.pdf", "--trust", "{files}/doc.pdf"), "fresh"),
        Case(("verify", "{files}/signed.pdf", "--trust", "{files}/missing.pem"), "fresh"),
        Case(("verify", "{files}/signed.pdf", "--receipt", "{files}/nofolder/r.pdf"), "fresh"),
        Case(("verify", "{files}/signed.pdf", "--lang", "fr"), "fresh"),
        # a signer whose CA publishes no CRL or OCSP: pyHanko logs the failed revocation check with a traceback
        Case(("verify", "{files}/signed.pdf", "--trust", "{files}/ca.pem"), "fresh", expect=("Chưa xác định",),
             verdict=2),
        Case(("verify", "{files}/signed.pdf", "--trust", "{files}/ca.pem", "--json"), "fresh", verdict=2),
        Case(("verify", "{files}/signed.pdf", "--trust", "{files}/ca.pem", "--receipt", "{files}/r.pdf"), "fresh",
             verdict=2),
        Case(("verify", "{files}/signed.pdf", "--trust", "{files}/ca.pem"), "bad_settings"),
        Case(("evidence", "verify", "{files}/missing.zip", "--log-key", VKEY), "fresh"),
        Case(("evidence", "verify", "{files}/garbage.json", "--log-key", VKEY), "fresh"),
        Case(("evidence", "verify", "{files}/doc.pdf", "--log-key", "not-a-key"), "fresh"),
        Case(("witness", "--log-key", "not-a-key", "--key", "{files}/w.pem", "--state", "{files}/w.json"), "fresh"),
        Case(("witness", "--log-key", VKEY, "--key", "{files}/doc.pdf", "--state", "{files}/w.json"), "fresh"),
    ]
    return cases


CASES = _cases()


def _case_id(case: Case) -> str:
    return f"{case.env}:{' '.join(a.replace('{files}/', '') for a in case.args)}"


# ---------------------------------------------------------------------------------------------------------------


def _write_pki(folder: Path) -> None:
    """A CA without CRL or OCSP and a signer under it (TEST ONLY keys, generated here)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def cert(subject: str, issuer: str, key: Any, signer: Any, ca: bool) -> x509.Certificate:
        usage = x509.KeyUsage(not ca, not ca, False, False, False, ca, ca, False, False)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(signer, hashes.SHA256())
        )

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = cert("TEST ONLY CA", "TEST ONLY CA", ca_key, ca_key, True)
    leaf = cert("TEST ONLY signer", "TEST ONLY CA", leaf_key, ca_key, False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    p12 = pkcs12.serialize_key_and_certificates(b"leaf", leaf_key, leaf, [ca], serialization.NoEncryption())
    (folder / "leaf.p12").write_bytes(p12)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-files")
    (folder / "doc.pdf").write_bytes(simple_pdf())
    (folder / "garbage.json").write_bytes(b"\x00\xff{not json")
    (folder / "agencies.json").write_text('[{"code": "000.00.00.Z99", "name": "Sở thử"}]', encoding="utf-8")
    _write_pki(folder)
    signed = _run(("sign", "{files}/doc.pdf", "-o", "{files}/signed.pdf", "--key", "p12:{files}/leaf.p12"),
                  _base_env(folder / "signer"), folder)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    return folder


@pytest.fixture(scope="module")
def unmigrated_url() -> Iterator[str]:
    require(postgres_available(), f"PostgreSQL not reachable at {postgres_admin_url()}")
    with temporary_postgres_database() as url:
        yield url


def _base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
    return {**env, "EDOC_DATA_DIR": str(data_dir), "COLUMNS": "120"}


def _env(case: Case, data_dir: Path, unmigrated_url: str) -> dict[str, str]:
    env = _base_env(data_dir)
    if case.env == "unmigrated":
        env["EDOC_DATABASE_URL"] = unmigrated_url
    elif case.env == "bad_url":
        env["EDOC_DATABASE_URL"] = "nope://somewhere/db"
    elif case.env == "bad_login":
        env["EDOC_DATABASE_URL"] = BAD_LOGIN
    elif case.env == "bad_settings":
        env["EDOC_UPLINKS"] = "{not json"
    return env


def _run(args: tuple[str, ...], env: dict[str, str], files: Path) -> subprocess.CompletedProcess[str]:
    argv = [a.replace("{files}", str(files)).replace("{port}", str(free_port())) for a in args]
    return subprocess.run(
        [str(EDOC), *argv], env=env, cwd=files, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


@pytest.fixture(scope="module")
def results(
    files: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[Case, subprocess.CompletedProcess[str]]:
    """Every case run once, a few at a time (each is a process that mostly waits on imports and a database)."""
    from concurrent.futures import ThreadPoolExecutor

    needs_postgres = any(case.env == "unmigrated" for case in CASES)
    url = request.getfixturevalue("unmigrated_url") if needs_postgres else ""

    def run(case: Case) -> subprocess.CompletedProcess[str]:
        return _run(case.args, _env(case, tmp_path_factory.mktemp("data") / "var", url), files)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(run, CASES), strict=True))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_bad_input_gets_one_line_not_a_traceback(
    case: Case, results: dict[Case, subprocess.CompletedProcess[str]]
) -> None:
    result = results[case]
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "DeprecationWarning" not in output, output
    assert "NOT subset" not in output, output  # fontTools' subsetting chatter
    if case.ok:
        assert result.returncode == 0, output
    elif case.verdict is not None:
        assert result.returncode == case.verdict, output
    else:
        assert result.returncode != 0, output
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        usage = "Usage: edoc" in result.stderr  # the option parser's own answer (exit 2)
        assert len(errors) == 1 or (usage and result.returncode == 2), output
    for text in case.expect:
        assert text in output, output


def test_admin_commands_on_the_embedded_default_migrate_it(files: Path, tmp_path: Path) -> None:
    env = _base_env(tmp_path / "var")
    added = _run(("agency", "add", "000.00.00.Z99", "Sở thử"), env, files)
    assert added.returncode == 0, added.stdout + added.stderr
    listed = _run(("agency", "list", "--json"), env, files)
    assert "000.00.00.Z99" in listed.stdout, listed.stdout + listed.stderr


def test_an_unmigrated_postgresql_database_is_named_with_the_command_to_run(
    files: Path, tmp_path: Path, unmigrated_url: str
) -> None:
    result = _run(("agency", "list"), {**_base_env(tmp_path / "var"), "EDOC_DATABASE_URL": unmigrated_url}, files)
    assert result.returncode != 0
    assert "edoc db upgrade" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _command_paths() -> set[tuple[str, ...]]:
    import click
    import typer

    from service.cli import app

    def walk(command: click.Command, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, (*prefix, name))
        else:
            yield prefix

    return set(walk(typer.main.get_command(app), ()))


def test_every_command_is_covered() -> None:
    covered = set()
    for case in CASES:
        for paths in _command_paths():
            if case.args[: len(paths)] == paths:
                covered.add(paths)
    assert _command_paths() - covered == set()
