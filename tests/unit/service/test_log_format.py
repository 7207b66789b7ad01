"""service/logs.py: the JSON line's fields, tracebacks only at debug level, and the masking of credentials."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from service.logs import JsonFormatter, OneLineFormatter, log_format, redact
from service.observability import context


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad value\nsecond line")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("edoc.test", logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_json_line_names_the_request_it_belongs_to() -> None:
    _ctx, token = context.start("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "req-1")
    try:
        context.bind(agency="000.00.11.H53", client="c1", document_id="d1")
        line = json.loads(JsonFormatter().format(_record("delivered %s", "x")))
    finally:
        context.reset(token)
    assert line["message"] == "delivered x" and line["level"] == "WARNING" and line["logger"] == "edoc.test"
    assert line["request_id"] == "req-1" and line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert (line["agency"], line["client"], line["document_id"]) == ("000.00.11.H53", "c1", "d1")
    assert line["time"].endswith("+00:00")


def test_tracebacks_only_at_debug_level() -> None:
    quiet = json.loads(JsonFormatter().format(_record("failed", exc=True)))
    assert quiet["error"] == "ValueError: bad value" and "traceback" not in quiet
    debug = json.loads(JsonFormatter(tracebacks=True).format(_record("failed", exc=True)))
    assert "Traceback" in debug["traceback"]
    text = OneLineFormatter("%(message)s").format(_record("failed", exc=True))
    assert text == "failed (ValueError: bad value)"


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("Authorization: Bearer edk_abcdef123456", "edk_abcdef123456"),
        ("calling with bearer edk_abcdef123456 now", "edk_abcdef123456"),
        ("/api/v1/x?api_key=edk_abc123&x=1", "edk_abc123"),
        ('{"password": "hunter2", "name": "x"}', "hunter2"),
        ("EDOC_NODE_KEY_PASSWORD=s3cr3t", "s3cr3t"),
        ("EDOC_SECRET_KEY=0123456789abcdef", "0123456789abcdef"),
        ("token_pin: 1234", "1234"),
    ],
)
def test_credentials_are_masked(raw: str, secret: str) -> None:
    assert secret not in redact(raw)
    assert "[redacted]" in redact(raw)
    assert secret not in json.loads(JsonFormatter().format(_record(raw.replace("%", "%%"))))["message"]


def test_ordinary_words_are_left_alone() -> None:
    text = "mapping: 3 recipients, spinning: no, shipping=fast"
    assert redact(text) == text


def test_the_format_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDOC_LOG_FORMAT", raising=False)
    monkeypatch.delenv("EDOC_ENVIRONMENT", raising=False)
    assert log_format() == "text"
    monkeypatch.setenv("EDOC_ENVIRONMENT", "production")
    assert log_format() == "json"
    monkeypatch.setenv("EDOC_LOG_FORMAT", "text")
    assert log_format() == "text"
