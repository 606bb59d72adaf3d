"""What a result's code means, as a digest the workflow passes to each rule as a parameter.

Snakemake reruns a job when a parameter changes, so a rule whose ``code`` parameter is the
digest of the library code behind it reruns exactly when that code changes in meaning:
each module's syntax tree without docstrings, so a comment, a docstring, a reformat or a
``git checkout`` that restores the same code changes nothing, while any change to a
statement does. The modules are found from the imports of the rule's script, followed
through the library, so a module added to a chain of imports is covered without being
listed. No module is imported to find them: a module's file is found from the package's
folder (``importlib.util.find_spec`` of a submodule would import its parents, and with them
PyTorch, at every start of the workflow).
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "cnnlab"


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def source_digest(source: str) -> str:
    """The digest of a module's meaning: its syntax tree, less docstrings and positions."""
    tree = _without_docstrings(ast.parse(source))
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


# The package's folder, from this file's place: the library is one folder of plain modules.
PACKAGE_DIR = Path(__file__).resolve().parent


def _module_path(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    path = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def module_file(name: str) -> Path:
    """The source file of library module ``name`` (``cnnlab.models.layers``), read from the
    package's folder; nothing is imported."""
    path = _module_path(name)
    if path is None:
        raise ModuleNotFoundError(f"no module {name!r}")
    return path


def _is_module(name: str) -> bool:
    return _module_path(name) is not None


def library_imports(source: str) -> set[str]:
    """The library modules ``source`` imports: ``from cnnlab.x import y`` is module
    ``cnnlab.x.y`` where that is a module (``from cnnlab.models import registry``), else
    ``cnnlab.x``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == PACKAGE:
            subs = {f"{node.module}.{a.name}" for a in node.names}
            modules = {s for s in subs if _is_module(s)}
            found |= modules
            if modules != subs:
                found.add(node.module)
    return found - {PACKAGE}


@cache
def _module(name: str) -> tuple[str, frozenset[str]]:
    source = module_file(name).read_text()
    return source_digest(source), frozenset(library_imports(source))


def modules_behind(sources: tuple[str, ...], leave_out: tuple[str, ...] = ()) -> list[str]:
    """Every library module the given sources import, directly or through other library
    modules, sorted; ``leave_out`` modules are neither included nor followed."""
    todo = set().union(*(library_imports(s) for s in sources)) if sources else set()
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen or name in leave_out:
            continue
        seen.add(name)
        todo |= _module(name)[1]
    return sorted(seen)


def _digest(names: list[str]) -> str:
    h = hashlib.sha256()
    for name in names:
        h.update(f"{name} {_module(name)[0]}\n".encode())
    return h.hexdigest()[:16]


def code_digest(*scripts: str | Path, leave_out: tuple[str, ...] = ()) -> str:
    """The digest of the library code behind ``scripts`` (files whose imports are followed;
    the scripts' own text is Snakemake's to track). 16 hex digits: a parameter a person
    can read in ``snakemake --summary``."""
    return _digest(modules_behind(tuple(Path(s).read_text() for s in scripts), leave_out))


def library_digest(*modules: str) -> str:
    """The digest of library ``modules`` and every library module they import."""
    return _digest(modules_behind(tuple(f"import {m}" for m in modules)))
