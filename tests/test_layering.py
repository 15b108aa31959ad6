"""The pure layers stay pure: protocol/ and consensus/ import no I/O library and no upper layer.

Checked on the source (every import statement, including ones nested in functions), so a lazy
import inside a function cannot sneak past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "trio",
    "libp2p",
    "plyvel",
    "starlette",
    "hypercorn",
    "httpx",
    "anyio",
    "node",
    "wallet",
    "socket",
    "asyncio",
    "threading",
    "subprocess",
    "multiprocessing",
    "time",
    "datetime",
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["protocol", "consensus"])
def test_pure_package_imports_no_io_library(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    offenders = {str(path.relative_to(ROOT)): sorted(_imported_roots(path) & FORBIDDEN) for path in files}
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def _global_random_uses(path: Path) -> list[str]:
    """Uses of the process-wide RNG; only seeded ``random.Random(seed)`` instances are deterministic."""
    tree = ast.parse(path.read_text(), filename=str(path))
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "random":
            uses += [f"from random import {a.name}" for a in node.names if a.name != "Random"]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "random"
            and node.attr != "Random"
        ):
            uses.append(f"random.{node.attr} (line {node.lineno})")
    return uses


@pytest.mark.parametrize("package", ["protocol", "consensus"])
def test_pure_package_uses_only_seeded_randomness(package: str) -> None:
    uses = {str(p.relative_to(ROOT)): _global_random_uses(p) for p in sorted((ROOT / package).rglob("*.py"))}
    assert {name: found for name, found in uses.items() if found} == {}


def test_checker_sees_global_random(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import random\nrng = random.Random(7)\nx = random.random()\n")
    assert _global_random_uses(sample) == ["random.random (line 3)"]


def test_checker_sees_nested_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import trio.lowlevel\n    from node.runtime import x\n")
    assert _imported_roots(sample) >= {"trio", "node"}
