"""``service/`` holds no SQL text and never asks which database it runs on (issue 19, item 1): statements live in
``storage/`` (repositories such as storage/exchange/outbox.py, storage/vxp.py), and where a dialect needs its own
statement, the repository picks it once when it is built.

Two checks over every ``.py`` file under ``service/``:

- the issue's "done when" grep, line by line: ``is_postgresql``, ``text("``, ``sa.text(``, ``WITH … AS (``;
- SQL in a string literal other than a docstring (``SELECT … FROM``, ``INSERT INTO``, ``UPDATE x SET``,
  ``DELETE FROM``): a statement handed to the driver as a plain string passes the grep, not this.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


GREP = re.compile(r'is_postgresql|text\("|sa\.text\(|WITH .* AS \(')
SQL = re.compile(r"\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b", re.DOTALL)


def _files() -> list[Path]:
    return sorted((ROOT / "service").rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def _grep_hits(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{_name(path)}:{n}: {line.strip()}" for n, line in enumerate(lines, 1) if GREP.search(line)]


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _sql_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    return [
        f"{_name(path)}:{node.lineno}: {node.value.strip()[:60]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        and SQL.search(node.value)
    ]


def test_service_holds_no_sql_text_and_no_dialect_branch() -> None:
    hits = [hit for path in _files() for hit in _grep_hits(path) + _sql_literals(path)]
    assert not hits, "SQL belongs in storage/ (a repository), the dialect is chosen there:\n" + "\n".join(hits)


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The two checks catch the forms issue 19 names (a check that cannot fail proves nothing)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""SELECT a FROM b in a docstring is prose."""\n'
        "import sqlalchemy as sa\n"
        "from storage.db import is_postgresql\n"
        'Q = sa.text("SELECT 1 FROM t")\n'
        'ON_DRIVER = """\n    SELECT id FROM outbox WHERE done_at IS NULL\n"""\n',
        encoding="utf-8",
    )
    assert [hit.split(":")[1] for hit in _grep_hits(sample)] == ["3", "4"]
    assert sorted(hit.split(":")[1] for hit in _sql_literals(sample)) == ["4", "5"]
