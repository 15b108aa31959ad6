"""The wallet talks to a node over HTTP only: its modules import neither node/ nor consensus/.

(``wallet/cli/app.py`` is the composition root of the ``tally`` command and the node / testnet /
simulator sub-commands live beside it; they are not part of the wallet proper.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_WALLET = {
    "wallet/cli/app.py",
    "wallet/cli/sim.py",
    "wallet/cli/quorum.py",
    "wallet/cli/testnet.py",
    "wallet/demo.py",
}


def _roots(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_wallet_modules_do_not_import_the_node() -> None:
    files = [p for p in sorted((ROOT / "wallet").rglob("*.py")) if str(p.relative_to(ROOT)) not in NOT_WALLET]
    assert any(p.name == "client.py" for p in files)
    offenders = {str(p.relative_to(ROOT)): sorted(_roots(p) & {"node", "consensus"}) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}
