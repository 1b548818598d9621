"""One-way imports: the core never imports viz or cli (not even lazily), and no module
imports the package root from inside the package."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "insertion_planner"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``."""
    here = path.relative_to(PKG.parent).with_suffix("").parts[:-1]  # the module's package
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(here[: len(here) - node.level + 1]) if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:
                out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, mod))
    return out


def test_the_core_never_imports_viz_or_cli_nor_the_package_root():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        part = path.relative_to(PKG).parts[0]
        for line, mod in _imports(path):
            where = f"{path.relative_to(PKG.parent)}:{line} imports {mod}"
            if part not in ("viz", "cli") and (
                mod.startswith(("insertion_planner.viz", "insertion_planner.cli"))
            ):
                bad.append(where)
            if mod in ("insertion_planner", "insertion_planner.__version__"):
                bad.append(where)
    assert not bad, "\n".join(bad)


def test_no_module_is_over_600_lines():
    long = {
        str(p.relative_to(PKG.parent)): n
        for p in PKG.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not long, long
