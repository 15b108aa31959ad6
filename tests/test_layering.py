"""The pure layers stay pure: protocol/ and consensus/ import no I/O library and no upper layer.

Checked on the source (every import statement, including ones nested in functions), so a lazy
import inside a function cannot sneak past. And the layout newcomers read stays true: README's
module map (section Development) names every module of the four packages and none that is gone.
"""

from __future__ import annotations

import ast
import re
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


def _modules_in_readme_map() -> set[str]:
    """Module paths in README's map: a ``**`pkg/`**`` heading, then ``| `module.py` | … |`` rows."""
    text = (ROOT / "README.md").read_text()
    listed: set[str] = set()
    package = None
    for line in text[text.index("**Layout**") :].splitlines():
        if heading := re.match(r"\*\*`([a-z_/]+)/`\*\*", line):
            package = heading.group(1)
        elif (row := re.match(r"\| `([a-z_0-9]+\.py)` \|", line)) and package is not None:
            listed.add(f"{package}/{row.group(1)}")
    return listed


def test_the_readme_layout_map_lists_every_module_and_only_those() -> None:
    listed = _modules_in_readme_map()
    modules = {
        str(path.relative_to(ROOT))
        for package in ("protocol", "consensus", "node", "wallet")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }
    assert len(listed) > 150
    assert sorted(modules - listed) == [], (
        "add these to README's layout map (section Development), one line each"
    )
    assert sorted(listed - modules) == [], "README's layout map names modules that are gone"
