"""Exports and pieces of the auditors' pages that need no server: CSV safety (RFC 4180, BOM, formula injection),
JSON Lines, chunking, the sealed session cookie, and escaping in the SVG charts."""

from __future__ import annotations

import csv
import io
import json

from service.audit.exports import CHUNK_ROWS, csv_chunks, jsonl_chunks, safe_cell
from service.web.auditor import session
from service.web.auditor.charts import bar_chart, line_chart

SECRET = "test-secret-key-of-at-least-32-characters!"


def test_cells_that_would_be_formulas_become_text() -> None:
    for hostile in ("=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x"):
        assert safe_cell(hostile) == "'" + hostile
    assert safe_cell("Về việc = hợp lệ") == "Về việc = hợp lệ"
    assert safe_cell(-5) == "-5" and safe_cell(None) == "" and safe_cell(True) == "true"
    assert safe_cell({"b": 1, "a": "ế"}) == '{"a":"ế","b":1}'


def test_csv_is_rfc4180_with_bom_and_chunked() -> None:
    rows = [(i, f'Trích yếu "{i}", dòng\nhai') for i in range(CHUNK_ROWS * 2 + 3)]
    chunks = list(csv_chunks(("id", "subject"), rows))
    assert len(chunks) == 3
    data = b"".join(chunks)
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert parsed[0] == ["id", "subject"] and parsed[5] == ["4", 'Trích yếu "4", dòng\nhai']
    assert b'"Tr\xc3\xadch y\xe1\xba\xbfu ""0"", d\xc3\xb2ng\nhai"\r\n' in data


def test_jsonl_one_object_a_line() -> None:
    data = b"".join(jsonl_chunks({"n": i, "s": "ư\nx"} for i in range(3)))
    assert [json.loads(line)["n"] for line in data.decode().splitlines()] == [0, 1, 2]
    assert b"".join(jsonl_chunks([])) == b""


def test_session_cookie_is_sealed_and_expires() -> None:
    cookie, opened = session.seal_session(SECRET, "edk_secret", now=1000.0)
    assert "edk_secret" not in cookie
    assert session.open_session(SECRET, cookie, now=1001.0) == opened
    assert session.open_session(SECRET, cookie, now=1000.0 + session.LIFETIME + 1) is None
    assert session.open_session("another-secret-key-of-32-characters!!", cookie, now=1001.0) is None
    assert session.open_session(SECRET, cookie[:-2] + "AA", now=1001.0) is None
    assert session.check_csrf(opened.csrf, opened.csrf) and not session.check_csrf(opened.csrf, "x")
    assert not session.check_csrf(None, None)


def test_charts_escape_and_scale() -> None:
    svg = bar_chart("c1", "<b>t</b>", ["2026-Q4", "<x>"], {"Đã gửi": [3, 0], "a&b": [1, 7]})
    assert "<b>" not in svg and "&lt;x&gt;" in svg and "a&amp;b" in svg and 'viewBox="0 0 760 300"' in svg
    assert svg.count("<rect") == 4 + 2  # bars + legend
    line = line_chart("c2", "t", ["2026-11", "2026-12"], {"000.00.12.H53": [0, 0]})
    assert line.count("<circle") == 2 and "<polyline" in line
