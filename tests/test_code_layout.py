"""The library's shape: no import cycles (each layer can be read and tested without the
ones above it) and short files."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

LIBRARY = REPO / "src" / "cnnlab"


def cnnlab_imports(path: Path) -> set[str]:
    """The cnnlab modules a file imports (``from cnnlab import x`` counts as ``x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "cnnlab":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnnlab."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("cnnlab.")}
    return found


def test_no_import_cycle_in_the_library():
    graph = {p.stem: cnnlab_imports(p) for p in LIBRARY.glob("*.py")}
    done, active = set(), []

    def visit(module):
        assert module not in active, f"import cycle: {' -> '.join(active + [module])}"
        if module in done:
            return
        active.append(module)
        for dep in graph.get(module, ()):
            visit(dep)
        active.pop()
        done.add(module)

    for module in graph:
        visit(module)
    assert "training" not in graph["evaluation"]  # the cycle this test was written for


def test_no_library_file_over_300_lines():
    long = {p.name: n for p in LIBRARY.glob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}
