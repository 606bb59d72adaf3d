"""The keyword arguments of every registered model, read from the source of ``registry.py``
without importing it (so without importing PyTorch).

The workflow checks config.yaml against these before any job starts; reading them this
way keeps that check, and so every Snakemake start including a no-op rerun, free of
PyTorch's import (most of a no-op rerun's time then: `git show bd084b1:BENCHMARKS.md`, section 4).
``tests/test_models.py`` checks that they equal the imported builders' signatures.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

MODELS_SOURCE = Path(__file__).with_name("registry.py")
# Supplied by the workflow from the dataset; config must not set them.
DATA_ARGS = ("in_shape", "num_classes")


def _is_register_model(decorator: ast.expr) -> bool:
    """``@register_model`` or ``@cnnlab.register_model`` (a user's model file)."""
    return (isinstance(decorator, ast.Name) and decorator.id == "register_model") or (
        isinstance(decorator, ast.Attribute) and decorator.attr == "register_model")


def builders_in(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """The functions of a parsed module decorated as model builders, by name."""
    return {node.name: node for node in tree.body
            if isinstance(node, ast.FunctionDef)
            and any(_is_register_model(d) for d in node.decorator_list)}


def argument_names(node: ast.FunctionDef) -> tuple[str, ...]:
    """A builder's arguments that config may set (the dataset supplies ``DATA_ARGS``)."""
    params = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
    return tuple(p.arg for p in params if p.arg not in DATA_ARGS)


@cache
def _builders(source: Path = MODELS_SOURCE) -> dict[str, ast.FunctionDef]:
    # Cached: the library's own registry.py, read at every workflow start. A user's model
    # file is parsed by models.user_models each time it is read, never from this cache.
    return builders_in(ast.parse(Path(source).read_text()))


@cache
def registered_model_arguments(source: Path = MODELS_SOURCE) -> dict[str, tuple[str, ...]]:
    """``{model name: its argument names}`` for each function decorated ``@register_model``."""
    return {name: argument_names(node) for name, node in _builders(source).items()}


@cache
def model_defaults(name: str, source: Path = MODELS_SOURCE) -> dict:
    """``{argument: default}`` of model ``name``'s builder, read from its signature (the
    defaults that are literals), so that the analysis reads a variant's arguments as the
    model was built, not as restated elsewhere."""
    node = _builders(source).get(name)
    if node is None:
        return {}
    positional = node.args.posonlyargs + node.args.args
    pairs = list(zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults))
    pairs += [(a, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None]
    defaults = {}
    for arg, default in pairs:
        try:
            defaults[arg.arg] = _as_config(ast.literal_eval(default))
        except ValueError:
            pass  # not a literal: left out
    return defaults


def _as_config(value):
    """A default as config.yaml would write it: tuples as lists."""
    if isinstance(value, (list, tuple)):
        return [_as_config(v) for v in value]
    return value


def with_defaults(model: str, args: dict) -> dict:
    """A variant's model arguments with the builder's defaults for those it leaves out."""
    return {**model_defaults(model), **args}


def check_model_args(name: str, args: dict, user: dict[str, tuple[str, ...]] | None = None
                     ) -> None:
    """Raise ``ValueError`` naming an unknown model or argument. ``user``: the arguments of
    the models of the config's ``models_from`` files. A ``torchvision.<name>`` model's
    arguments are checked when it is built (by ``build_check``, before any job)."""
    if name.startswith("torchvision."):
        return
    models = {**registered_model_arguments(), **(user or {})}
    if name not in models:
        raise ValueError(f"unknown model {name!r}; known models: {sorted(models)}")
    for key in args:
        if key not in models[name]:
            raise ValueError(f"model {name!r} has no argument {key!r}; "
                             f"allowed: {sorted(models[name])}")
