"""The wallet talks to a node over HTTP only: its modules import neither node/ nor consensus/.

The ``tally`` root command lives in ``node/cli`` (the top of the import graph) and registers the
wallet's commands through ``wallet.cli.register``; in the node, only the command line and the demo
community it seeds (``node/demo.py``) may use the wallet.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _roots(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _offenders(
    package: str, forbidden: set[str], allowed: frozenset[str] = frozenset()
) -> dict[str, list[str]]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    found = {}
    for path in files:
        name = str(path.relative_to(ROOT))
        bad = sorted(_roots(path) & forbidden)
        if bad and not any(name == a or name.startswith(a + "/") for a in allowed):
            found[name] = bad
    return found


def test_wallet_modules_do_not_import_the_node() -> None:
    assert (ROOT / "wallet" / "client.py").is_file()
    assert _offenders("wallet", {"node", "consensus"}) == {}


def test_only_the_command_line_of_the_node_uses_the_wallet() -> None:
    assert _offenders("node", {"wallet"}, allowed=frozenset({"node/cli", "node/demo.py"})) == {}


def test_checker_sees_nested_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from node.cli.app import app\n    import consensus.sim\n")
    assert _roots(sample) == {"node", "consensus"}
