"""What every ``edoc`` command shares: the two consoles, the one-line error exit and reading the settings.

Errors print one line (``error: …``) and exit non-zero (HELPERS/STYLE: no traceback reaches a person); normal
output goes to stdout, progress to stderr. The typer application (service/cli.py) and the commands it registers
from other modules (service/cli_signing.py) both use these, so they live below both (issue 19, item 2: imports
flow one way).
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["cause", "err", "fail", "load_settings", "out"]

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_settings(**overrides: Any) -> Any:
    """The settings from the environment with the given overrides (``None`` = not given); a bad value is a
    one-line error naming the setting."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from service.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"setting {'.'.join(map(str, first['loc']))}: {first['msg']}")
    except SettingsError as exc:  # an EDOC_* variable that is not even JSON where JSON is expected
        fail(f"{exc} ({cause(exc)})" if exc.__cause__ else str(exc))


def cause(exc: BaseException) -> str:
    """The first line of what caused ``exc`` (or of ``exc`` itself)."""
    underlying = exc.__cause__ or exc
    return (str(underlying).splitlines() or [type(underlying).__name__])[0]
