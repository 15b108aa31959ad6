"""README's layout map (section Development) names every module of the four packages, under its
package, and no module that is gone: a newcomer reading it finds each file where it says."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "consensus", "node", "wallet")


def _listed() -> set[str]:
    """Module paths in README's map: a ``**`pkg/`**`` heading, then ``| `module.py` | … |`` rows."""
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("**Layout**") :]
    listed: set[str] = set()
    package = None
    for line in layout.splitlines():
        if heading := re.match(r"\*\*`([a-z_/]+)/`\*\*", line):
            package = heading.group(1)
        elif (row := re.match(r"\| `([a-z_0-9]+\.py)` \|", line)) and package is not None:
            listed.add(f"{package}/{row.group(1)}")
    return listed


def _modules() -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }


def test_the_layout_map_lists_every_module_and_only_those() -> None:
    listed, modules = _listed(), _modules()
    assert len(listed) > 150
    assert sorted(modules - listed) == [], "add these to README's layout map (section Development)"
    assert sorted(listed - modules) == [], "README's layout map names modules that are gone"
