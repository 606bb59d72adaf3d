"""Models from the user's own files (config ``models_from``), and torchvision's classifiers
by name (``model: torchvision.resnet18``), beside the built-in ones of ``registry.py``.

Two halves. What the workflow reads at every start, importing nothing: which builders a
file declares (functions decorated ``@register_model`` or ``@cnnlab.register_model``), their
arguments and the digest of the file's syntax tree, so that the config is checked before
any job and a run's spec carries the code of the model it trains (a comment retrains
nothing, a changed statement retrains the runs of that file's models and no others). And
what a job does before it builds such a model: import the file once, which registers its
builders (``load_model_source``).
"""

from __future__ import annotations

import ast
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


def declared_models(entry: str) -> dict[str, UserModel]:
    """The builders one ``models_from`` entry declares, read from its syntax tree."""
    path = source_file(entry)
    text = path.read_text()
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as e:
        raise ModelSourceError(f"models_from: {path} line {e.lineno}: {e.msg}") from None
    code = source_digest(text)[:16]
    return {name: UserModel(name, str(path), node.lineno, argument_names(node), code)
            for name, node in builders_in(tree).items()}


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


@cache
def load_model_source(file: str) -> None:
    """Import a user's model file once per process: its builders register themselves."""
    path = Path(file).resolve()
    module_name = f"cnnlab_user_models.{path.stem}_{abs(hash(str(path)))}"
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
