"""The ``edoc`` executable's entry point: ``edoc verify`` starts without the typer application (issue 18).

``service.cli`` imports typer (which imports pydantic and its own adapters) and rich before any command runs:
about 0.2 s of a clerk's wait on every file and of every run of a scripted batch. ``edoc verify …`` goes
straight to :func:`service.cli_verify.main`, which reads the file first; everything else, including
``edoc verify --help``, is the typer application as before.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["verify"] and not {"-h", "--help"} & set(argv[1:]):
        from service.cli_verify import main as verify_main
        from service.logs import configure_logging

        configure_logging("WARNING")  # one-line records, library tracebacks only at EDOC_LOG_LEVEL=DEBUG (issue 16)

        sys.exit(verify_main(argv[1:]))
    from service.cli import main as full_cli

    full_cli()


if __name__ == "__main__":
    main()
