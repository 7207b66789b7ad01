"""Logging of the gateway's processes (the ``edoc`` command, the HTTP processes, the delivery worker).

No traceback reaches a person (issue 16 item 8): log lines are one line each. An exception attached to a record
is shown as ``(Type: message)`` on that line; its traceback only at ``EDOC_LOG_LEVEL=DEBUG``. The libraries the
gateway drives report through their own loggers what the gateway already reports in its own words: pyHanko logs a
failed revocation check with a traceback on every such verification (the verification report carries the finding
as an ETSI indication), fontTools logs each font table it cannot subset when a receipt or appearance is drawn. Their
records below ERROR are kept for ``EDOC_LOG_LEVEL=DEBUG``.

The level is read from the environment, not from :class:`~service.settings.Settings`, because logging must work
before the settings are known to be valid (a refusal of the settings is itself reported through it).
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["LIBRARY_LOGGERS", "OneLineFormatter", "configure_logging"]

#: Loggers of libraries whose warnings repeat what the gateway reports itself (see the module docstring).
LIBRARY_LOGGERS = ("pyhanko", "pyhanko_certvalidator", "fontTools", "signxml", "xmlschema")
FORMAT = "%(levelname)s:     %(name)s: %(message)s"  # uvicorn's shape, so the server's log reads as one
_MARK = "_edoc_handler"


class OneLineFormatter(logging.Formatter):
    """A record on one line: an attached exception as ``(Type: message)``, no traceback, no stack."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info, stack_info, exc_text = record.exc_info, record.stack_info, record.exc_text
        record.exc_info, record.stack_info, record.exc_text = None, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.stack_info, record.exc_text = exc_info, stack_info, exc_text
        if exc_info and exc_info[1] is not None:
            error = exc_info[1]
            line += f" ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
        return line.replace("\n", " ")


def _level(default: str) -> int:
    name = os.environ.get("EDOC_LOG_LEVEL", "").strip().upper() or default
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.getLevelName(default)


def configure_logging(default: str = "INFO") -> int:
    """Send log records to stderr, one line each, at ``EDOC_LOG_LEVEL`` (else ``default``); returns the level.

    Safe to call again (the HTTP process calls it after the command line did): the handler is replaced, not added.
    """
    level = _level(default)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _MARK, True)
    debug = level <= logging.DEBUG
    handler.setFormatter(logging.Formatter(FORMAT) if debug else OneLineFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.ERROR)
    return level
