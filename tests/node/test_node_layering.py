"""node/ imports point downwards: no import cycle (consensus/'s private modules excepted, whose
slot, nomination and ballot objects point back at each other by design), the test-only fault code
is loaded by the assembly alone, and libp2p by the network alone.

Checked on the source (every import statement, including ones nested in functions or under
``TYPE_CHECKING``: a dependency is a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAULTS = "node.faults"
# consensus/'s slot, nomination and ballot protocol reach each other through the slot (scp.md)
ALLOWED_CYCLE_PACKAGE = "consensus."


def _modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported name, line, whether it runs on import) for every import statement: one inside a
    function body or under ``if TYPE_CHECKING`` does not run when the module is imported."""
    tree = ast.parse(path.read_text(), filename=str(path))
    deferred: set[int] = set()
    for node in ast.walk(tree):
        type_checking = (
            isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        )
        if type_checking or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            deferred |= {id(child) for child in ast.walk(node) if child is not node}
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(name, node.lineno, id(node) not in deferred) for name in names]
    return found


def _graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    modules = _modules(root, packages)

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {owner(imported) for imported, _, _ in _imports(path)}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_node_import_graph_has_no_cycle() -> None:
    graph = _graph(ROOT, ("node", "protocol", "consensus"))
    assert len([m for m in graph if m.startswith("node.")]) > 30
    cycles = _cycles(graph)
    assert [c for c in cycles if not all(m.startswith(ALLOWED_CYCLE_PACKAGE) for m in c)] == []


def test_only_the_assembly_loads_the_fault_code_and_only_when_asked() -> None:
    offenders = []
    for name, path in _modules(ROOT, ("node",)).items():
        if name == FAULTS or name.startswith(FAULTS + "."):
            continue
        for imported, line, on_import in _imports(path):
            if (imported == FAULTS or imported.startswith(FAULTS + ".")) and (
                name != "node.assembly" or on_import
            ):
                offenders.append(f"{name} (line {line})")
    assert offenders == []


def test_the_assembly_loads_the_fault_code_inside_a_function() -> None:
    """The check above has something to look at: ``from node import faults`` in a function body."""
    loads = [(name, now) for name, _, now in _imports(ROOT / "node" / "assembly.py") if name == FAULTS]
    assert loads == [(FAULTS, False)]


def test_libp2p_is_loaded_by_the_network_and_the_test_faults_only() -> None:
    users = {
        name
        for name, path in _modules(ROOT, ("node",)).items()
        if any(imported.split(".")[0] == "libp2p" for imported, _, _ in _imports(path))
    }
    assert users
    assert {u for u in users if not u.startswith(("node.net", FAULTS))} == set()


def test_the_checker_finds_a_cycle_and_a_nested_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from pkg.c import x\n")
    (package / "c.py").write_text("import pkg.a\nx = 1\n")
    assert _cycles(_graph(tmp_path, ("pkg",))) == [["pkg.a", "pkg.b", "pkg.c"]]
