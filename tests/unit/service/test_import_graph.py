"""Imports inside ``service/`` flow one way: no module reaches itself through its imports (issue 19, item 2).

What counts as an edge ``a -> b`` (``a`` and ``b`` modules of ``service/``):

- every first-party import, at module level **and inside functions**: an import moved into a function only to
  get past a cycle at import time is still a cycle in the design (the two modules cannot be read, tested or
  replaced apart), so it counts;
- except imports under ``if TYPE_CHECKING:``, which exist for the type checker only and never run.

In-function imports kept for start-up time (``service/launch.py`` and ``service/cli_verify.py`` keep ``edoc
verify`` fast) are edges like any other; they close no cycle because nothing in ``service/`` imports back into
those entry points.

``from service.x import name`` counts as an edge to ``service.x`` and, when ``name`` is itself a module
(``service.x.name``), to that module too. An import of ``service.x.y`` also runs ``service/x/__init__.py``, so it
is an edge to the package ``service.x`` as well, except from modules inside ``service.x`` (Python has already run
that ``__init__`` before any of its submodules, so a package re-exporting its submodules closes no loop).

To list the cycles (each strongly connected component, with one path around it)::

    python tests/unit/service/test_import_graph.py
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "service"


def _modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``service/``."""
    found: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks (their ``else`` still runs)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield child
                yield from _runtime_nodes(child)
            continue
        yield node
        yield from _runtime_nodes(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement may load (absolute or relative)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _loaded_by(name: str, importer: str) -> Iterator[str]:
    """``name`` and the packages importing it runs first, leaving out the packages ``importer`` is inside of."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        target = ".".join(parts[:i])
        if i == len(parts) or not importer.startswith(target + "."):
            yield target


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the ``service/`` modules it imports at run time (see the module docstring for what counts)."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in _runtime_nodes(tree):
            for name in _imported_names(node, module, is_package):
                graph[module].update(
                    t for t in _loaded_by(name, module) if t in modules and t != module and t != PACKAGE
                )
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The components of more than one module (Tarjan, iterative), each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components, key=lambda c: (-len(c), c))


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    return component  # unreachable for a strongly connected component


def describe(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"cycle of {len(c)} modules: {', '.join(c)}\n  e.g. {' -> '.join(one_cycle(graph, c))}"
        for c in strongly_connected(graph)
    ]


def test_service_has_no_import_cycles() -> None:
    graph = import_graph()
    assert describe(graph) == []


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` loads, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_exchange_core_does_not_import_vxp() -> None:
    """VXP is one way in and out of the exchange, handed in by the wiring (service/wiring.py), not a layer the
    exchange core or the wiring object itself builds on."""
    graph = import_graph()
    core = [m for m in graph if m in ("service.context", "service.bus") or m.startswith("service.exchange")]
    assert core
    leaks = {m: sorted(t for t in reachable(graph, m) if t.startswith("service.vxp")) for m in core}
    assert {m: t for m, t in leaks.items() if t} == {}


def test_the_check_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    """The check itself: an in-function import closing a loop is found; a TYPE_CHECKING one is not."""
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from service.b import f\n")
    (pkg / "b.py").write_text("def f():\n    from service import a\n    return a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from service.d import X\n")
    (pkg / "d.py").write_text("from . import c\n")
    sub = pkg / "sub"
    sub.mkdir()
    (sub / "__init__.py").write_text("from service.sub.e import E\n")
    (sub / "e.py").write_text("E = 1\n")
    (sub / "f.py").write_text("from service.sub.e import E\n")
    assert strongly_connected(import_graph(tmp_path)) == [["service.a", "service.b"]]


if __name__ == "__main__":
    found = describe(import_graph())
    print("\n".join(found) if found else "no import cycles in service/")
    sys.exit(1 if found else 0)
