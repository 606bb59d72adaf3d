"""The library's layers (docs/architecture.md, "Layout"): which package may import which,
no import cycles, and no PyTorch where the workflow plans, analyses or reports (those run at
every Snakemake start and in light jobs, and must be readable and testable without it); and the
workflow's files in snakefmt's format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.code_digest import library_imports
from conftest import REPO

LIBRARY = REPO / "src" / "cnnlab"
# Helpers every layer may use; they import nothing of cnnlab.
BASE = {"cnnlab.files", "cnnlab.run_files", "cnnlab.logs", "cnnlab.provenance", "cnnlab.code_digest"}
# What each package may import besides itself and BASE, bottom to top: data, models
# (networks and what looks inside them), training (a run); beside them, torch-free,
# analysis (statistics and answers from the summary table), report (tables, figures and
# the rendered report), plan (config into runs and figures; read at every workflow start).
MAY_IMPORT = {
    "cnnlab.data": set(),
    "cnnlab.models": {"cnnlab.data"},
    "cnnlab.training": {"cnnlab.data", "cnnlab.models"},
    "cnnlab.analysis": {"cnnlab.data.catalog", "cnnlab.models.arguments"},
    "cnnlab.report": {"cnnlab.data.catalog", "cnnlab.analysis"},
    "cnnlab.plan": {"cnnlab.data.catalog", "cnnlab.data.image_folder", "cnnlab.models.arguments",
                    "cnnlab.models.user_models", "cnnlab.report.figure_kinds"},
    # A build's runs for MLflow and TensorBoard (cnnlab export), read as analysis reads them.
    "cnnlab.tracking": {"cnnlab.analysis", "cnnlab.report.figure_kinds"},
    # The `cnnlab` command: `cli` finds its subcommands by name (importlib), each a module
    # of `commands` that reads a config as the workflow does (plan) or a build (analysis).
    "cnnlab.cli": set(),
    "cnnlab.commands": {"cnnlab.cli", "cnnlab.plan", "cnnlab.data.catalog",
                        "cnnlab.models.arguments", "cnnlab.models.user_models",
                        "cnnlab.analysis", "cnnlab.report", "cnnlab.tracking"},
}
WITHOUT_TORCH = ("cnnlab.analysis", "cnnlab.report", "cnnlab.plan", "cnnlab.cli",
                 "cnnlab.commands")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(LIBRARY.parent).with_suffix("").parts)


def modules() -> dict[str, Path]:
    # project_template/ holds the files `cnnlab init` copies into a user's project, not
    # modules of the library.
    return {module_name(p): p for p in sorted(LIBRARY.rglob("*.py"))
            if p.name != "__init__.py" and "project_template" not in p.parts}


def cnnlab_imports(path: Path) -> set[str]:
    """The library modules a file imports, as the workflow's code digest follows them."""
    return library_imports(path.read_text())


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def package_of(module: str) -> str | None:
    return next((p for p in MAY_IMPORT if within(module, p)), None)


def test_every_module_is_in_a_layer():
    stray = [m for m in modules() if m not in BASE and package_of(m) is None]
    assert stray == [], f"modules outside the layers of docs/architecture.md, 'Layout': {stray}"


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_follow_the_layers(module):
    package = package_of(module)
    allowed = BASE | ({package} | MAY_IMPORT[package] if package else set())
    wrong = sorted(i for i in cnnlab_imports(modules()[module])
                   if not any(within(i, a) for a in allowed))
    assert wrong == [], f"{module} ({package or 'base'}) may not import {wrong}"


def test_no_import_cycle_in_the_library():
    names = modules()
    graph = {m: {n for n in names if any(within(i, n) for i in cnnlab_imports(p))}
             for m, p in names.items()}
    done, active = set(), []

    def visit(module):
        assert module not in active, f"import cycle: {' -> '.join(active + [module])}"
        if module in done:
            return
        active.append(module)
        for dep in sorted(graph[module]):
            visit(dep)
        active.pop()
        done.add(module)

    for module in graph:
        visit(module)


def test_planning_analysis_and_report_import_no_torch():
    light = [m for m in modules() if package_of(m) in WITHOUT_TORCH]
    code = (f"import sys; import {', '.join(light)}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')[:3])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"importing {light} imports PyTorch: {out}"


def test_the_workflow_is_formatted_as_snakefmt_writes_it():
    """Snakemake's own formatter (black for Python, its layout for rules): `snakefmt
    Snakefile workflow/` fixes what this reports."""
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "--diff", "Snakefile",
                           "workflow"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
