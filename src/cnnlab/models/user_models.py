"""Models from the user's own files (config ``models_from``), and torchvision's classifiers
by name (``model: torchvision.resnet18``), beside the built-in ones of ``registry.py``.

Two halves. What the workflow reads at every start, importing nothing: which builders a
file declares (functions decorated ``@register_model`` or ``@cnnlab.register_model``), their
arguments and the digest of the file's syntax tree and of the modules beside it that it
imports (``from my_blocks import Block``, followed through each other), so that the config
is checked before any job and a run's spec carries the code of the model it trains (a
comment retrains nothing, a changed statement in the file or a helper it imports retrains
the runs of that file's models and no others). And what a job does before it builds such a
model: import the file once, as Python runs it from its folder (that folder first on the
import path, so its neighbours import), which registers its builders
(``load_model_source``); and refuse to build from a spec whose recorded code is not the
files' code now (``check_source_unchanged``: an old checkpoint would compute something
else).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cnnlab.code_digest import source_digest
from cnnlab.models.arguments import argument_names, builders_in, registered_model_arguments

TORCHVISION = "torchvision."  # model names with this prefix are torchvision.models builders


class ModelSourceError(ValueError):
    """A models_from entry that cannot be used; the message names the file (and line)."""


@dataclass(frozen=True)
class UserModel:
    name: str
    file: str       # as the config names it (relative to the working directory)
    line: int
    arguments: tuple[str, ...]
    code: str       # digest of the file's syntax tree (docstrings and comments left out)

    def source(self) -> dict:
        """What a run's spec carries: which file builds the model, and its code's digest."""
        return {"file": self.file, "code": self.code}


def source_file(entry: str) -> Path:
    """A ``models_from`` entry as a file: a path (relative to the working directory) or the
    name of an importable module (found without running it)."""
    if entry.endswith(".py") or "/" in entry or "\\" in entry:
        path = Path(entry)
        if not path.is_file():
            raise ModelSourceError(f"models_from: {entry} does not exist (a path is read "
                                   f"relative to the working directory, {Path.cwd()})")
        return path
    try:
        spec = importlib.util.find_spec(entry)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ModelSourceError(f"models_from: {entry} is neither a .py file nor an importable "
                               f"module")
    return Path(spec.origin)


def _parse(path: Path) -> tuple[str, ast.Module]:
    text = path.read_text()
    try:
        return text, ast.parse(text, filename=str(path))
    except SyntaxError as e:
        raise ModelSourceError(f"models_from: {path} line {e.lineno}: {e.msg}") from None


def _local_file(name: str, root: Path) -> Path | None:
    """Module ``name``'s file under ``root`` (the user's folder), if it is one there."""
    base = root.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported(tree: ast.Module, module: str, package: bool) -> set[str]:
    """Every module name ``tree`` (module ``module``) may import: ``from a import b`` may
    be module ``a.b``, and importing ``a.b`` runs ``a`` too; relative imports resolved."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = module.split(".") if package else module.split(".")[:-1]
            if node.level:
                parts = parts[:len(parts) - (node.level - 1)]
            prefix = ".".join((parts if node.level else []) + ([node.module] if node.module else []))
            names |= {prefix} | {f"{prefix}.{a.name}".lstrip(".") for a in node.names}
    return {".".join(n.split(".")[:i]) for n in names if n for i in range(1, n.count(".") + 2)}


def local_modules(path: Path, tree: ast.Module) -> dict[str, Path]:
    """The modules beside the user's file ``path`` (parsed as ``tree``) that it imports,
    directly or through each other: ``{module name: file}``. Its folder comes first on the
    import path when it runs, so a name found there is that file, not an installed one."""
    root = path.resolve().parent
    found: dict[str, Path] = {}
    todo = [(path.stem, False, tree)]
    while todo:
        module, package, node = todo.pop()
        for name in sorted(_imported(node, module, package)):
            file = _local_file(name, root)
            if name in found or file is None or file.resolve() == path.resolve():
                continue
            found[name] = file
            todo.append((name, file.name == "__init__.py", _parse(file)[1]))
    return found


def code_of(path: Path, text: str, tree: ast.Module) -> str:
    """The digest of what the user's file means: its syntax tree and those of the modules
    beside it that it imports (a comment anywhere changes nothing). A file importing no
    neighbour keeps its digest of before they were followed (its runs are not retrained)."""
    own = source_digest(text)
    helpers = local_modules(path, tree)
    if not helpers:
        return own[:16]
    h = hashlib.sha256(own.encode())
    for name, file in sorted(helpers.items()):
        h.update(f"{name} {source_digest(_parse(file)[0])}\n".encode())
    return h.hexdigest()[:16]


def declared_models(entry: str) -> dict[str, UserModel]:
    """The builders one ``models_from`` entry declares, read from its syntax tree."""
    path = source_file(entry)
    text, tree = _parse(path)
    code = code_of(path, text, tree)
    return {name: UserModel(name, str(path), node.lineno, argument_names(node), code)
            for name, node in builders_in(tree).items()}


def check_source_unchanged(source: dict) -> None:
    """Refuse a spec's ``model_source`` (a run's, a checkpoint's) whose recorded code is not
    the code of its file and the modules beside it now: the model built from them would not
    be the one trained (other layers, or the same layers computing something else)."""
    path = Path(source["file"])
    if not path.is_file():
        raise ModelSourceError(f"models_from: {path} does not exist (the model was trained "
                               f"from that file; read relative to {Path.cwd()})")
    text, tree = _parse(path)
    now = code_of(path, text, tree)
    if now != source["code"]:
        raise ModelSourceError(
            f"models_from: {path} (or a module beside it that it imports) has changed since "
            f"this model was trained from it (code {source['code']}, now {now}); rebuilding "
            f"it from the file as it is now would compute something else: restore the file "
            f"or retrain")


def user_models(entries: list[str]) -> dict[str, UserModel]:
    """Every model the ``models_from`` entries declare. A name that is a built-in model or
    declared twice is an error naming both places."""
    builtin = registered_model_arguments()
    found: dict[str, UserModel] = {}
    for entry in entries:
        for name, model in declared_models(entry).items():
            if name in builtin:
                raise ModelSourceError(f"models_from: {model.file} line {model.line}: model "
                                       f"{name!r} is a built-in model of cnnlab; rename it")
            if name in found:
                raise ModelSourceError(
                    f"models_from: {model.file} line {model.line}: model {name!r} is also "
                    f"declared in {found[name].file} line {found[name].line}")
            found[name] = model
    return found


def _module_name(path: Path) -> str | None:
    """The name to import the user's file under: its own (``my_models``), so that a
    neighbour's ``import my_models`` is the same module and registers nothing twice; a
    private name where another module holds that name; None where this file is imported
    under it already."""
    held = sys.modules.get(path.stem)
    if held is None:
        return path.stem
    if getattr(held, "__file__", None) and Path(held.__file__).resolve() == path:
        return None
    return f"cnnlab_user_models.{path.stem}_{abs(hash(str(path)))}"


@cache
def load_model_source(file: str) -> None:
    """Import a user's model file once per process: its builders register themselves. As
    Python runs it from its folder: that folder first on the import path, so that a helper
    module beside it (``from my_blocks import Block``) imports, now and when a builder
    imports one later."""
    path = Path(file).resolve()
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    module_name = _module_name(path)
    if module_name is None:
        return  # a neighbour imported it already, under its own name: its builders registered
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelSourceError(f"models_from: {file} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - whatever the user's file raises is the message
        sys.modules.pop(module_name, None)
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if Path(f.filename).resolve() == path]
        where = f" line {frames[-1].lineno}" if frames else ""
        raise ModelSourceError(f"models_from: {file}{where}: importing it raised "
                               f"{type(e).__name__}: {e}") from e
