"""Logging of the gateway's processes (the ``edoc`` command, the HTTP processes, the delivery worker).

No traceback reaches a person (issue 16 item 8): log lines are one line each. An exception attached to a record
is shown as ``(Type: message)`` on that line; its traceback only at ``EDOC_LOG_LEVEL=DEBUG``. The libraries the
gateway drives report through their own loggers what the gateway already reports in its own words: pyHanko logs a
failed revocation check with a traceback on every such verification (the verification report carries the finding
as an ETSI indication), fontTools logs each font table it cannot subset when a receipt or appearance is drawn. Their
records below ERROR are kept for ``EDOC_LOG_LEVEL=DEBUG``.

Two formats (``EDOC_LOG_FORMAT``): ``text``, the readable line above, the default in development; ``json``, the
default when ``EDOC_ENVIRONMENT=production``: one JSON object per line with ``time`` (UTC, ISO 8601), ``level``,
``logger``, ``message`` and, where known, ``request_id``, ``trace_id``, ``agency``, ``client``, ``document_id``
(:mod:`service.observability.context`), plus ``route``/``status``/``duration_ms`` on access lines and ``error``
(``Type: message``) for an attached exception; the traceback is added as ``traceback`` only at debug level. In
JSON mode uvicorn's own loggers go through the same handler, and its access log (which writes the raw path and
query string) is replaced by the gateway's ``edoc.access`` line (route template, request id).

Never in a log line: API keys, passwords, PINs, secrets. The gateway does not log them; as a second line of
defence :func:`redact` masks ``Authorization``/``Bearer`` values and ``password=…``, ``"secret": "…"``-shaped
pairs in every line of both formats (tests/integration/test_observability.py sends a key and a password and
searches the output for them).

The level and format are read from the environment, not from :class:`~service.settings.Settings`, because logging
must work before the settings are known to be valid (a refusal of the settings is itself reported through it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

from service.observability import context

__all__ = ["LIBRARY_LOGGERS", "JsonFormatter", "OneLineFormatter", "configure_logging", "log_format", "redact"]

#: Loggers of libraries whose warnings repeat what the gateway reports itself (see the module docstring).
LIBRARY_LOGGERS = ("pyhanko", "pyhanko_certvalidator", "fontTools", "signxml", "xmlschema")
FORMAT = "%(levelname)s:     %(name)s: %(message)s"  # uvicorn's shape, so the server's log reads as one
_MARK = "_edoc_handler"


_SENSITIVE = (
    r"(?:[A-Za-z0-9]+[_-])*(?:password|passwd|pwd|secret|api[_-]?key|apikey|token|pin|credential)s?(?:[_-]key)?\b"
)
_REDACTIONS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",;\s]+(?:\s+[^'\",;\s]+)?"), r"\1[redacted]"),
    (re.compile(rf"(?i)(\b{_SENSITIVE}['\"]?\s*[:=]\s*['\"]?)[^'\"&,;\s}}]+"), r"\1[redacted]"),
)


def redact(text: str) -> str:
    """``text`` with credentials masked: bearer/basic values, ``Authorization`` values, and the values of
    password-, secret-, key-, token- or PIN-named pairs (``name=value``, ``"name": "value"``)."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _error_of(record: logging.LogRecord) -> str | None:
    if not record.exc_info or record.exc_info[1] is None:
        return None
    error = record.exc_info[1]
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


class OneLineFormatter(logging.Formatter):
    """A record on one line: an attached exception as ``(Type: message)``, no traceback, no stack."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info, stack_info, exc_text = record.exc_info, record.stack_info, record.exc_text
        record.exc_info, record.stack_info, record.exc_text = None, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.stack_info, record.exc_text = exc_info, stack_info, exc_text
        error = _error_of(record)
        if error is not None:
            line += f" ({error})"
        return redact(line.replace("\n", " "))


class _RedactingFormatter(logging.Formatter):
    """The plain formatter of debug level (tracebacks kept), with credentials masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


#: Attributes a caller may attach with ``extra=`` that the JSON line carries.
_EXTRA_FIELDS = ("route", "status", "duration_ms", "agency", "document_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module docstring for the fields)."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        ctx = context.current()
        if ctx is not None:
            line.update(request_id=ctx.request_id, trace_id=ctx.trace_id)
            line.update({k: v for k, v in (("agency", ctx.agency), ("client", ctx.client),
                                           ("document_id", ctx.document_id)) if v is not None})  # fmt: skip
        line.update({k: getattr(record, k) for k in _EXTRA_FIELDS if getattr(record, k, None) is not None})
        error = _error_of(record)
        if error is not None:
            line["error"] = redact(error)
            if self.tracebacks and record.exc_info:
                line["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def log_format() -> str:
    """``json`` or ``text``: ``EDOC_LOG_FORMAT`` when set, else json in production and text elsewhere."""
    chosen = os.environ.get("EDOC_LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "text"):
        return chosen
    production = os.environ.get("EDOC_ENVIRONMENT", "").strip().lower() == "production"
    return "json" if production else "text"


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
    as_json = log_format() == "json"
    if as_json:
        handler.setFormatter(JsonFormatter(tracebacks=debug))
    else:
        handler.setFormatter(_RedactingFormatter(FORMAT) if debug else OneLineFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.ERROR)
    _route_server_logs(as_json)
    return level


def _route_server_logs(as_json: bool) -> None:
    """JSON: uvicorn's records through this handler, its access log replaced by ``edoc.access``. Text: uvicorn's
    own handlers and access log as before, the gateway's access line off (it would repeat uvicorn's)."""
    access = logging.getLogger("edoc.access")
    access.setLevel(logging.INFO if as_json else logging.WARNING)
    if not as_json:
        return
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
