"""``edoc keys init``: the node's key material for production (issue 22 item 5; docs/cli.md).

It writes, into a new or empty-enough folder and never over an existing file:

- ``log-ed25519.pem``: the transparency log's Ed25519 key (PEM PKCS#8, mode 0600), made by the same code the
  node uses outside production (:func:`service.exchange.tlog.load_log_key`);
- ``node.p12`` (mode 0600): the node's signing key with a self-signed certificate marked
  ``PLACEHOLDER - replace with the certificate your CA issues``, encrypted with a random password kept in
  ``node.env`` (mode 0600, ``EDOC_NODE_KEY_PASSWORD=…``, an env file for docker compose). With
  ``--pkcs11-token`` the key stays in the token and only what to set is printed;

and prints which EDOC_* variables to set to which paths, and the log's verifier key (vkey) for auditors and
witnesses.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from service.cli_output import fail, load_settings, out

__all__ = ["LOG_KEY", "NODE_ENV", "NODE_KEY", "register"]

keys_app = typer.Typer(help="The node's key material.", no_args_is_help=True)

LOG_KEY = "log-ed25519.pem"
NODE_KEY = "node.p12"
NODE_ENV = "node.env"


def register(app: typer.Typer) -> None:
    """Add ``edoc keys`` to the ``edoc`` application (service/cli.py)."""
    app.add_typer(keys_app, name="keys")


@keys_app.command("init")
def init(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the keys into (created, mode 0700)")],
    node_id: Annotated[str | None, typer.Option("--node-id", help="the node's id (default: EDOC_NODE_ID)")] = None,
    organisation: Annotated[
        str, typer.Option("--organisation", help="organisation named in the placeholder certificate")
    ] = "edoc-gateway node",
    pkcs11_token: Annotated[
        str | None, typer.Option("--pkcs11-token", help="the node signs with this PKCS#11 token label instead")
    ] = None,
    pkcs11_module: Annotated[
        Path | None, typer.Option("--pkcs11-module", help="the PKCS#11 module (.so) of that token")
    ] = None,
) -> None:
    """Create the transparency-log key and the node's signing key for production; print what to set."""
    if (pkcs11_token is None) != (pkcs11_module is None):
        fail("--pkcs11-token and --pkcs11-module go together")
    settings = load_settings(**({"node_id": node_id} if node_id else {}))
    names = [LOG_KEY] if pkcs11_token else [LOG_KEY, NODE_KEY, NODE_ENV]
    out_dir = out_dir.resolve()
    existing = [n for n in names if (out_dir / n).exists()]
    if existing:
        fail(f"refusing to overwrite {', '.join(str(out_dir / n) for n in existing)}: move them away first")
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        vkey = _log_key(settings, out_dir / LOG_KEY)
        if pkcs11_token is None:
            _node_key(settings.node_id, organisation, out_dir)
    except (OSError, ValueError) as exc:
        fail(f"cannot write the keys into {out_dir}: {exc}")
    _report(out_dir, vkey, pkcs11_token, pkcs11_module)


def _log_key(settings: Any, path: Path) -> str:
    """Create the log key through the node's own loader (0600, complete or absent); its verifier key."""
    from service.exchange.tlog import load_log_key

    local = settings.model_copy(update={"log_key_file": path, "environment": "development"})
    vkey: str = load_log_key(local).verifier.vkey
    return vkey


def _node_key(node_id: str, organisation: str, out_dir: Path) -> None:
    from signing.demo import PLACEHOLDER_MARK, create_demo_pkcs12

    password = secrets.token_urlsafe(32)
    fd = os.open(out_dir / NODE_ENV, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"# edoc keys init: the password of {NODE_KEY} (keep it with the key, never in git)\n")
        fh.write(f"EDOC_NODE_KEY_PASSWORD={password}\n")
    create_demo_pkcs12(
        out_dir / NODE_KEY,
        common_name=f"edoc-gateway node {node_id}",
        organization=organisation,
        password=password.encode(),
        mark=PLACEHOLDER_MARK,
    )


def _report(out_dir: Path, vkey: str, token: str | None, module: Path | None) -> None:
    def say(vi: str, en: str) -> None:
        out.print(f"[bold]{escape(vi)}[/bold]\n[dim]{escape(en)}[/dim]", highlight=False, soft_wrap=True)

    def var(name: str, value: str) -> None:
        out.print(f"  {name}={escape(value)}", highlight=False, soft_wrap=True)

    say("Đã tạo khoá cho nút trong " + str(out_dir), "Keys created in " + str(out_dir))
    say("Đặt các biến môi trường sau:", "Set these variables:")
    var("EDOC_LOG_KEY_FILE", str(out_dir / LOG_KEY))
    if token is None:
        var("EDOC_NODE_KEY_FILE", str(out_dir / NODE_KEY))
        var("EDOC_NODE_KEY_PASSWORD", f"(trong / in {out_dir / NODE_ENV}: dùng làm env_file / use it as an env_file)")
        say(
            "Chứng thư trong node.p12 là chứng thư tự ký TẠM THỜI: thay bằng chứng thư do CA cấp trước khi trao đổi.",
            "The certificate in node.p12 is a self-signed PLACEHOLDER: replace it with the certificate your CA "
            "issues before exchanging documents.",
        )
    else:
        spec = f"pkcs11:module={module};token={token};key=<key label>"
        var("EDOC_SIGNING_KEYS", '{"node": {"spec": "' + spec + '", "secret_env": "EDOC_PKCS11_PIN"}}')
        var("EDOC_PKCS11_PIN", "(mã PIN của token / the token's PIN: qua secret / through a secret)")
        say(
            "Khoá ký của nút nằm trong token PKCS#11; không có tệp nào được tạo cho nó.",
            "The node's signing key stays in the PKCS#11 token; no file was written for it.",
        )
    say(
        "Khoá xác minh (vkey) của sổ cái minh bạch: trao cho kiểm toán viên và nhân chứng:",
        "The transparency log's verifier key (vkey), for auditors and witnesses:",
    )
    out.print(vkey, highlight=False, soft_wrap=True)
